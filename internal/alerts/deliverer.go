package alerts

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/go-logr/logr"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"sigs.k8s.io/controller-runtime/pkg/log"
)

// Delivery retry schedule: the wait doubles from MinBackoff up to MaxBackoff, and a delivery is
// abandoned after MaxAttempts failures (about a day with the defaults). Delivered and abandoned
// deliveries are deleted after DeliveryRetention.
const (
	MinBackoff        = time.Second
	MaxBackoff        = 10 * time.Minute
	MaxAttempts       = 150
	DeliveryRetention = 30 * 24 * time.Hour
)

// Deliverer sends queued webhook deliveries. It runs only on the elected leader.
type Deliverer struct {
	DB  *pgxpool.Pool
	URL string
	// Secret returns the HMAC key; it is read for every delivery so a rotated Secret applies at once.
	Secret   func() ([]byte, error)
	Client   *http.Client
	Interval time.Duration
}

// NeedLeaderElection makes the deliverer run only on the leader.
func (d *Deliverer) NeedLeaderElection() bool { return true }

// Start sends due deliveries every Interval until ctx ends.
func (d *Deliverer) Start(ctx context.Context) error {
	logger := log.FromContext(ctx).WithName("alert-webhook")
	ticker := time.NewTicker(d.Interval)
	defer ticker.Stop()
	var lastPrune time.Time
	for {
		if err := d.sendDue(ctx, logger); err != nil && ctx.Err() == nil {
			logger.Error(err, "Failed to send alert deliveries; retrying")
		}
		if time.Since(lastPrune) > time.Hour {
			lastPrune = time.Now()
			d.prune(ctx, logger)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
	}
}

type pending struct {
	id       string
	payload  []byte
	attempts int
}

func (d *Deliverer) sendDue(ctx context.Context, logger logr.Logger) error {
	rows, err := d.DB.Query(ctx, `SELECT delivery_id::text, payload::text, attempts FROM quota_alert_delivery
		WHERE delivered_at IS NULL AND abandoned_at IS NULL AND next_attempt_at <= NOW()
		ORDER BY created_at LIMIT 100`)
	if err != nil {
		return fmt.Errorf("read due deliveries: %w", err)
	}
	var due []pending
	var p pending
	var body string
	_, err = pgx.ForEachRow(rows, []any{&p.id, &body, &p.attempts}, func() error {
		due = append(due, pending{id: p.id, payload: []byte(body), attempts: p.attempts})
		return nil
	})
	if err != nil {
		return fmt.Errorf("read due deliveries: %w", err)
	}
	for _, p := range due {
		if err := d.deliver(ctx, logger, p); err != nil {
			return err
		}
	}
	return nil
}

// deliver sends one delivery and records the outcome.
func (d *Deliverer) deliver(ctx context.Context, logger logr.Logger, p pending) error {
	sendErr := d.post(ctx, p)
	if sendErr == nil {
		deliveries.WithLabelValues("delivered").Inc()
		logger.Info("Delivered alert", "deliveryId", p.id, "attempt", p.attempts+1)
		_, err := d.DB.Exec(ctx, `UPDATE quota_alert_delivery SET delivered_at = NOW(), attempts = attempts + 1,
			last_error = NULL WHERE delivery_id = $1`, p.id)
		return err
	}
	attempts := p.attempts + 1
	if attempts >= MaxAttempts {
		deliveries.WithLabelValues("abandoned").Inc()
		logger.Error(sendErr, "Abandoned alert delivery", "deliveryId", p.id, "attempts", attempts)
		_, err := d.DB.Exec(ctx, `UPDATE quota_alert_delivery SET abandoned_at = NOW(), attempts = $2,
			last_error = $3 WHERE delivery_id = $1`, p.id, attempts, sendErr.Error())
		return err
	}
	deliveries.WithLabelValues("failed").Inc()
	wait := backoff(attempts)
	logger.Info("Alert delivery failed; will retry", "deliveryId", p.id, "attempt", attempts, "retryIn", wait,
		"error", sendErr.Error())
	_, err := d.DB.Exec(ctx, `UPDATE quota_alert_delivery SET attempts = $2, last_error = $3,
		next_attempt_at = NOW() + $4::interval WHERE delivery_id = $1`,
		p.id, attempts, sendErr.Error(), fmt.Sprintf("%d milliseconds", wait.Milliseconds()))
	return err
}

func (d *Deliverer) post(ctx context.Context, p pending) error {
	secret, err := d.Secret()
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.URL, bytes.NewReader(p.payload))
	if err != nil {
		return fmt.Errorf("build webhook request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "xpod-quota-manager")
	req.Header.Set("X-Quota-Delivery", p.id)
	req.Header.Set("X-Quota-Signature", Signature(secret, p.payload))
	resp, err := d.Client.Do(req)
	if err != nil {
		return fmt.Errorf("post alert: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return errors.New("webhook receiver responded " + resp.Status)
	}
	return nil
}

func backoff(attempts int) time.Duration {
	wait := MinBackoff
	for i := 1; i < attempts && wait < MaxBackoff; i++ {
		wait *= 2
	}
	return min(wait, MaxBackoff)
}

// prune deletes delivered and abandoned deliveries older than DeliveryRetention.
func (d *Deliverer) prune(ctx context.Context, logger logr.Logger) {
	tag, err := d.DB.Exec(ctx, `DELETE FROM quota_alert_delivery
		WHERE COALESCE(delivered_at, abandoned_at) < NOW() - $1::interval`,
		fmt.Sprintf("%d seconds", int64(DeliveryRetention.Seconds())))
	if err != nil {
		logger.Error(err, "Failed to delete old alert deliveries; retrying in an hour")
		return
	}
	if tag.RowsAffected() > 0 {
		logger.V(1).Info("Deleted old alert deliveries", "count", tag.RowsAffected())
	}
}
