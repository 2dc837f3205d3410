package alerts

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"xpod.dev/quota-operator/internal/database"
)

// Hysteresis is how many percentage points usage must fall below a fired threshold before the
// threshold fires again.
const Hysteresis = 5

// ResourceStorage is the only resource with thresholds: bandwidth limits are rates, not budgets.
const ResourceStorage = "storage"

// Crossing is one upward crossing of a threshold.
type Crossing struct {
	AccountID  string
	Resource   string
	Threshold  int32
	Percent    int64
	UsedBytes  int64
	LimitBytes int64
	Time       time.Time
	// DeliveryID is the webhook delivery's id, empty when no webhook is configured.
	DeliveryID string
}

// Notifier receives each crossing after it has been recorded.
type Notifier interface {
	Crossed(ctx context.Context, c Crossing)
}

// Engine evaluates thresholds for accounts whose storage changed.
type Engine struct {
	DB *pgxpool.Pool
	// DefaultStorageBytes applies where the quota row leaves the storage limit unset.
	DefaultStorageBytes int64
	// Thresholds returns the thresholds of an account in ascending order.
	Thresholds func(ctx context.Context, accountID string) []int32
	// Webhook makes each crossing queue a webhook delivery.
	Webhook  bool
	Notifier Notifier
}

// Evaluate fires and re-arms thresholds for the accounts in storage (account id to stored bytes).
func (e *Engine) Evaluate(ctx context.Context, storage map[string]int64) error {
	ids := make([]string, 0, len(storage))
	for id := range storage {
		ids = append(ids, id)
	}
	limits, err := database.GetQuotas(ctx, e.DB, ids)
	if err != nil {
		return err
	}
	fired, err := e.firedThresholds(ctx, ids)
	if err != nil {
		return err
	}
	for id, used := range storage {
		limit := e.DefaultStorageBytes
		if q, ok := limits[id]; ok && q.StorageLimitBytes != nil {
			limit = *q.StorageLimitBytes
		}
		if err := e.evaluateAccount(ctx, id, used, limit, fired[id]); err != nil {
			return err
		}
	}
	return nil
}

func (e *Engine) evaluateAccount(ctx context.Context, id string, used, limit int64, fired map[int32]bool) error {
	percent := Percent(used, limit)
	for _, t := range e.Thresholds(ctx, id) {
		switch {
		case percent >= int64(t) && !fired[t]:
			c := Crossing{AccountID: id, Resource: ResourceStorage, Threshold: t, Percent: percent,
				UsedBytes: used, LimitBytes: limit, Time: time.Now().UTC()}
			if err := e.fire(ctx, &c); err != nil {
				return err
			}
		case percent < int64(t)-Hysteresis && fired[t]:
			if err := e.rearm(ctx, id, t); err != nil {
				return err
			}
		}
	}
	return nil
}

// fire records the crossing and its delivery in one transaction and then notifies.
func (e *Engine) fire(ctx context.Context, c *Crossing) error {
	err := pgx.BeginFunc(ctx, e.DB, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO quota_alert_state (account_id, resource, threshold)
			VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, c.AccountID, c.Resource, c.Threshold)
		if err != nil || tag.RowsAffected() == 0 || !e.Webhook {
			return err
		}
		return e.queueDelivery(ctx, tx, c)
	})
	if err != nil {
		return fmt.Errorf("record %d%% crossing for account %q: %w", c.Threshold, c.AccountID, err)
	}
	crossings.WithLabelValues(c.Resource).Inc()
	if e.Notifier != nil {
		e.Notifier.Crossed(ctx, *c)
	}
	return nil
}

func (e *Engine) queueDelivery(ctx context.Context, tx pgx.Tx, c *Crossing) error {
	if err := tx.QueryRow(ctx, `SELECT gen_random_uuid()::text`).Scan(&c.DeliveryID); err != nil {
		return err
	}
	body, err := json.Marshal(newPayload(*c))
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `INSERT INTO quota_alert_delivery (delivery_id, account_id, payload) VALUES ($1, $2, $3)`,
		c.DeliveryID, c.AccountID, body)
	return err
}

func (e *Engine) rearm(ctx context.Context, id string, threshold int32) error {
	_, err := e.DB.Exec(ctx, `DELETE FROM quota_alert_state WHERE account_id = $1 AND resource = $2 AND threshold = $3`,
		id, ResourceStorage, threshold)
	if err != nil {
		return fmt.Errorf("re-arm %d%% threshold for account %q: %w", threshold, id, err)
	}
	return nil
}

// firedThresholds reads which thresholds have fired, per account.
func (e *Engine) firedThresholds(ctx context.Context, ids []string) (map[string]map[int32]bool, error) {
	rows, err := e.DB.Query(ctx, `SELECT account_id, threshold FROM quota_alert_state
		WHERE resource = $1 AND account_id = ANY($2)`, ResourceStorage, ids)
	if err != nil {
		return nil, fmt.Errorf("read alert state of %d accounts: %w", len(ids), err)
	}
	fired := map[string]map[int32]bool{}
	var id string
	var t int32
	_, err = pgx.ForEachRow(rows, []any{&id, &t}, func() error {
		if fired[id] == nil {
			fired[id] = map[int32]bool{}
		}
		fired[id][t] = true
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read alert state of %d accounts: %w", len(ids), err)
	}
	return fired, nil
}

// Percent is used as a whole percentage of limit, rounded down; a limit of 0 counts any stored
// byte as 100 percent.
func Percent(used, limit int64) int64 {
	if used <= 0 {
		return 0
	}
	if limit <= 0 {
		return 100
	}
	if used > (1<<63-1)/100 {
		return int64(float64(used) / float64(limit) * 100)
	}
	return used * 100 / limit
}
