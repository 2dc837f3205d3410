package database

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// PodUsageRow is one row of identity_pod_usage.
type PodUsageRow struct {
	PodID        string
	AccountID    string
	StorageBytes int64
	IngressBytes int64
	EgressBytes  int64
	UpdatedAt    time.Time
}

// AccountUsageChange is the usage of one account whose rows changed, with all of its pods.
type AccountUsageChange struct {
	AccountID    string
	StorageBytes int64
	IngressBytes int64
	EgressBytes  int64
	UpdatedAt    time.Time
	Pods         []PodUsageRow
	// ChangedAt is the newest update time of the account's usage and quota rows, for the cursor
	// of the next read.
	ChangedAt time.Time
}

// changedUsageSQL returns, in one statement, every account whose account or pod usage row or
// quota row changed after $1, with the account row's figures and all of the account's pod rows.
// An account without an account row gets its figures from its pods. Quota changes are included
// so that alert thresholds are checked against a new limit.
const changedUsageSQL = `
WITH changed AS (
  SELECT account_id FROM identity_account_usage WHERE updated_at > $1
  UNION
  SELECT account_id FROM identity_pod_usage WHERE updated_at > $1 AND account_id IS NOT NULL
  UNION
  SELECT account_id FROM identity_account_quota WHERE updated_at > $1
)
SELECT c.account_id,
       a.account_id IS NOT NULL,
       COALESCE(a.storage_bytes, 0), COALESCE(a.ingress_bytes, 0), COALESCE(a.egress_bytes, 0),
       COALESCE(a.updated_at, 'epoch'),
       p.pod_id, COALESCE(p.storage_bytes, 0), COALESCE(p.ingress_bytes, 0), COALESCE(p.egress_bytes, 0),
       COALESCE(p.updated_at, 'epoch'), COALESCE(q.updated_at, 'epoch')
FROM changed c
LEFT JOIN identity_account_usage a ON a.account_id = c.account_id
LEFT JOIN identity_account_quota q ON q.account_id = c.account_id
LEFT JOIN identity_pod_usage p ON p.account_id = c.account_id
ORDER BY c.account_id, p.pod_id`

// ChangedUsage reads the usage of every account whose usage or quota rows changed after since.
// A zero since reads all accounts.
func ChangedUsage(ctx context.Context, db Querier, since time.Time) ([]AccountUsageChange, error) {
	rows, err := db.Query(ctx, changedUsageSQL, since)
	if err != nil {
		return nil, fmt.Errorf("read usage changed since %s: %w", since.Format(time.RFC3339Nano), err)
	}
	var changes []AccountUsageChange
	var r usageJoinRow
	_, err = pgx.ForEachRow(rows, r.scanTargets(), func() error {
		changes = r.appendTo(changes)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read usage changed since %s: %w", since.Format(time.RFC3339Nano), err)
	}
	for i := range changes {
		changes[i].fillFromPods()
	}
	return changes, nil
}

type usageJoinRow struct {
	accountID     string
	hasAccountRow bool
	account       [3]int64
	accountAt     time.Time
	podID         *string
	pod           [3]int64
	podAt         time.Time
	quotaAt       time.Time
}

func (r *usageJoinRow) scanTargets() []any {
	return []any{&r.accountID, &r.hasAccountRow, &r.account[0], &r.account[1], &r.account[2], &r.accountAt,
		&r.podID, &r.pod[0], &r.pod[1], &r.pod[2], &r.podAt, &r.quotaAt}
}

// appendTo adds the row to the last change when it is for the same account, else starts a new one.
func (r *usageJoinRow) appendTo(changes []AccountUsageChange) []AccountUsageChange {
	if len(changes) == 0 || changes[len(changes)-1].AccountID != r.accountID {
		c := AccountUsageChange{AccountID: r.accountID, ChangedAt: r.quotaAt}
		if r.hasAccountRow {
			c.StorageBytes, c.IngressBytes, c.EgressBytes = r.account[0], r.account[1], r.account[2]
			c.UpdatedAt = r.accountAt
		} else {
			c.StorageBytes = -1 // filled from the pods
		}
		changes = append(changes, c)
	}
	if r.podID != nil {
		last := &changes[len(changes)-1]
		last.Pods = append(last.Pods, PodUsageRow{PodID: *r.podID, AccountID: r.accountID,
			StorageBytes: r.pod[0], IngressBytes: r.pod[1], EgressBytes: r.pod[2], UpdatedAt: r.podAt})
	}
	return changes
}

// fillFromPods sums the pods into the account figures when there is no account row, and takes
// the newest update time of all rows.
func (c *AccountUsageChange) fillFromPods() {
	fromPods := c.StorageBytes < 0
	if fromPods {
		c.StorageBytes = 0
	}
	for _, p := range c.Pods {
		if fromPods {
			c.StorageBytes += p.StorageBytes
			c.IngressBytes += p.IngressBytes
			c.EgressBytes += p.EgressBytes
		}
		if p.UpdatedAt.After(c.UpdatedAt) {
			c.UpdatedAt = p.UpdatedAt
		}
	}
	if c.UpdatedAt.After(c.ChangedAt) {
		c.ChangedAt = c.UpdatedAt
	}
}
