// Package alerts fires storage threshold alerts: once per upward crossing of each threshold,
// re-armed only after usage falls Hysteresis percentage points below it. Crossings are recorded
// in quota_alert_state and webhook deliveries in quota_alert_delivery, in one transaction, so a
// restarted manager neither repeats nor loses an alert. The Deliverer sends the deliveries as
// signed webhook POSTs with retries.
package alerts
