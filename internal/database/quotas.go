package database

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Quota is one row of identity_account_quota. A nil limit is NULL: the default applies.
type Quota struct {
	AccountID         string
	StorageLimitBytes *int64
	BandwidthLimitBps *int64
	UpdatedAt         time.Time
}

// SameLimits reports whether q and other set the same limits.
func (q Quota) SameLimits(other Quota) bool {
	return equalLimit(q.StorageLimitBytes, other.StorageLimitBytes) &&
		equalLimit(q.BandwidthLimitBps, other.BandwidthLimitBps)
}

func equalLimit(a, b *int64) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

// UpsertResult is the effect of an upsert on the row.
type UpsertResult int

const (
	// Unchanged means the row already held the limits; updated_at was not touched.
	Unchanged UpsertResult = iota
	// Inserted means the row did not exist.
	Inserted
	// Updated means the row existed with other limits.
	Updated
)

// ErrNotFound is returned when an account has no quota row.
var ErrNotFound = errors.New("quota row not found")

const upsertQuotaSQL = `
INSERT INTO identity_account_quota AS q (account_id, storage_limit_bytes, bandwidth_limit_bps, updated_at)
VALUES ($1, $2, $3, NOW())
ON CONFLICT (account_id) DO UPDATE
  SET storage_limit_bytes = EXCLUDED.storage_limit_bytes,
      bandwidth_limit_bps = EXCLUDED.bandwidth_limit_bps,
      updated_at = NOW()
  WHERE q.storage_limit_bytes IS DISTINCT FROM EXCLUDED.storage_limit_bytes
     OR q.bandwidth_limit_bps IS DISTINCT FROM EXCLUDED.bandwidth_limit_bps
RETURNING (xmax = 0) AS inserted`

// UpsertQuota writes the limits of q.AccountID, touching the row only when they differ.
func UpsertQuota(ctx context.Context, db Querier, q Quota) (UpsertResult, error) {
	var inserted bool
	err := db.QueryRow(ctx, upsertQuotaSQL, q.AccountID, q.StorageLimitBytes, q.BandwidthLimitBps).Scan(&inserted)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return Unchanged, nil
	case err != nil:
		return Unchanged, fmt.Errorf("upsert quota for account %q: %w", q.AccountID, err)
	case inserted:
		return Inserted, nil
	default:
		return Updated, nil
	}
}

// GetQuota reads the quota row of one account, or returns ErrNotFound.
func GetQuota(ctx context.Context, db Querier, accountID string) (Quota, error) {
	q := Quota{AccountID: accountID}
	err := db.QueryRow(ctx, `SELECT storage_limit_bytes, bandwidth_limit_bps, COALESCE(updated_at, 'epoch')
		FROM identity_account_quota WHERE account_id = $1`, accountID).
		Scan(&q.StorageLimitBytes, &q.BandwidthLimitBps, &q.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return q, ErrNotFound
	}
	if err != nil {
		return q, fmt.Errorf("read quota for account %q: %w", accountID, err)
	}
	return q, nil
}

// GetQuotas reads the quota rows of many accounts in one query. Accounts without a row are
// absent from the result.
func GetQuotas(ctx context.Context, db Querier, accountIDs []string) (map[string]Quota, error) {
	rows, err := db.Query(ctx, `SELECT account_id, storage_limit_bytes, bandwidth_limit_bps, COALESCE(updated_at, 'epoch')
		FROM identity_account_quota WHERE account_id = ANY($1)`, accountIDs)
	if err != nil {
		return nil, fmt.Errorf("read quotas of %d accounts: %w", len(accountIDs), err)
	}
	quotas := make(map[string]Quota, len(accountIDs))
	var q Quota
	_, err = pgx.ForEachRow(rows, []any{&q.AccountID, &q.StorageLimitBytes, &q.BandwidthLimitBps, &q.UpdatedAt},
		func() error {
			quotas[q.AccountID] = Quota{q.AccountID, q.StorageLimitBytes, q.BandwidthLimitBps, q.UpdatedAt}
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("read quotas of %d accounts: %w", len(accountIDs), err)
	}
	return quotas, nil
}

// DeleteQuota removes the quota row of one account. Deleting a missing row succeeds; the result
// reports whether a row was removed.
func DeleteQuota(ctx context.Context, db Querier, accountID string) (bool, error) {
	tag, err := db.Exec(ctx, `DELETE FROM identity_account_quota WHERE account_id = $1`, accountID)
	if err != nil {
		return false, fmt.Errorf("delete quota for account %q: %w", accountID, err)
	}
	return tag.RowsAffected() > 0, nil
}
