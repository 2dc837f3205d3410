package controllers

import (
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// Manager metrics, served on controller-runtime's metrics endpoint next to its own
// controller_runtime_reconcile_total and controller_runtime_reconcile_errors_total.
var (
	passDuration = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "xpod_quota_usage_poll_duration_seconds",
		Help:    "Duration of one usage poll pass: the query, the figures and waking the changed AccountQuotas.",
		Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
	})
	rowsChanged = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "xpod_quota_usage_poll_accounts_changed",
		Help:    "Accounts whose usage rows changed, per poll pass.",
		Buckets: prometheus.ExponentialBuckets(1, 4, 9),
	})
	pollErrors = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "xpod_quota_usage_poll_errors_total",
		Help: "Poll passes that failed to read usage.",
	})
	storageUsed = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "xpod_quota_account_storage_used_bytes",
		Help: "Stored bytes of an account that an AccountQuota manages.",
	}, []string{"account", "namespace", "name"})
	storageLimit = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "xpod_quota_account_storage_limit_bytes",
		Help: "Effective storage limit of an account that an AccountQuota manages.",
	}, []string{"account", "namespace", "name"})
	ingressTotal = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "xpod_quota_account_ingress_bytes_total",
		Help: "Bytes uploaded by an account that an AccountQuota manages, as recorded in identity_account_usage.",
	}, []string{"account", "namespace", "name"})
	egressTotal = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "xpod_quota_account_egress_bytes_total",
		Help: "Bytes downloaded by an account that an AccountQuota manages, as recorded in identity_account_usage.",
	}, []string{"account", "namespace", "name"})
	bandwidthLimit = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "xpod_quota_account_bandwidth_limit_bytes_per_second",
		Help: "Effective bandwidth limit of an account that an AccountQuota manages; 0 means not throttled.",
	}, []string{"account", "namespace", "name"})
)

func init() {
	metrics.Registry.MustRegister(passDuration, rowsChanged, pollErrors, storageUsed, storageLimit, bandwidthLimit,
		ingressTotal, egressTotal)
}
