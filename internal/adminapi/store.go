package adminapi

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// quotaRow is the account's row in identity_account_quota. A nil limit is NULL, so the default
// applies.
type quotaRow struct {
	exists            bool
	storageLimitBytes *int64
	bandwidthLimitBps *int64
}

// usageRow is the account's row in identity_account_usage, zero when there is none.
type usageRow struct {
	storageBytes int64
	ingressBytes int64
	egressBytes  int64
	updatedAt    *time.Time
}

// accountRecord is the quota and usage rows of one account.
type accountRecord struct {
	accountID string
	quota     quotaRow
	usage     usageRow
}

// store runs the API's statements. Every statement is parameterised.
type store struct {
	pool *pgxpool.Pool
}

const selectAccountSQL = `
SELECT a.account_id, q.account_id IS NOT NULL, q.storage_limit_bytes, q.bandwidth_limit_bps,
       COALESCE(u.storage_bytes, 0), COALESCE(u.ingress_bytes, 0), COALESCE(u.egress_bytes, 0), u.updated_at
FROM (SELECT $1::text AS account_id) AS a
LEFT JOIN identity_account_quota AS q ON q.account_id = a.account_id
LEFT JOIN identity_account_usage AS u ON u.account_id = a.account_id`

// listAccountsSQL pages through the quota rows in account_id order, the order of the primary key
// index, starting after the cursor's account id.
const listAccountsSQL = `
SELECT q.account_id, TRUE, q.storage_limit_bytes, q.bandwidth_limit_bps,
       COALESCE(u.storage_bytes, 0), COALESCE(u.ingress_bytes, 0), COALESCE(u.egress_bytes, 0), u.updated_at
FROM identity_account_quota AS q
LEFT JOIN identity_account_usage AS u ON u.account_id = q.account_id
WHERE $1::text IS NULL OR q.account_id > $1::text
ORDER BY q.account_id
LIMIT $2`

// ensureRowSQL creates an empty row so that the next statement can lock it. A concurrent
// request for the same account waits on the primary key until this transaction ends.
const ensureRowSQL = `
INSERT INTO identity_account_quota (account_id, storage_limit_bytes, bandwidth_limit_bps, updated_at)
VALUES ($1, NULL, NULL, NOW())
ON CONFLICT (account_id) DO NOTHING
RETURNING TRUE`

const lockRowSQL = `
SELECT storage_limit_bytes, bandwidth_limit_bps FROM identity_account_quota WHERE account_id = $1 FOR UPDATE`

// updateRowSQL sets the limits that the body names ($2, $4 true) and keeps the others. updated_at
// moves only when a limit really changes.
const updateRowSQL = `
UPDATE identity_account_quota AS q
SET storage_limit_bytes = CASE WHEN $2 THEN $3::bigint ELSE q.storage_limit_bytes END,
    bandwidth_limit_bps = CASE WHEN $4 THEN $5::bigint ELSE q.bandwidth_limit_bps END,
    updated_at = NOW()
WHERE q.account_id = $1
  AND ((q.storage_limit_bytes IS DISTINCT FROM CASE WHEN $2 THEN $3::bigint ELSE q.storage_limit_bytes END)
    OR (q.bandwidth_limit_bps IS DISTINCT FROM CASE WHEN $4 THEN $5::bigint ELSE q.bandwidth_limit_bps END))`

const deleteRowSQL = `
DELETE FROM identity_account_quota WHERE account_id = $1 RETURNING storage_limit_bytes, bandwidth_limit_bps`

func scanRecord(row pgx.Row) (accountRecord, error) {
	var r accountRecord
	err := row.Scan(&r.accountID, &r.quota.exists, &r.quota.storageLimitBytes, &r.quota.bandwidthLimitBps,
		&r.usage.storageBytes, &r.usage.ingressBytes, &r.usage.egressBytes, &r.usage.updatedAt)
	return r, err
}

// get reads the account's quota and usage rows.
func (s store) get(ctx context.Context, accountID string) (accountRecord, error) {
	r, err := scanRecord(s.pool.QueryRow(ctx, selectAccountSQL, accountID))
	if err != nil {
		return r, fmt.Errorf("read quota and usage of account %q: %w", accountID, err)
	}
	return r, nil
}

// update applies the fields of u to the account's row in one transaction and returns the row as
// it was before and the account as it is after.
func (s store) update(ctx context.Context, accountID string, u limitUpdate) (quotaRow, accountRecord, error) {
	var before quotaRow
	var after accountRecord
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		if before, err = lockOrCreateRow(ctx, tx, accountID); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, updateRowSQL, accountID, u.storage.present, u.storage.value,
			u.bandwidth.present, u.bandwidth.value)
		if err != nil {
			return err
		}
		after, err = scanRecord(tx.QueryRow(ctx, selectAccountSQL, accountID))
		return err
	})
	if err != nil {
		return before, after, fmt.Errorf("update quota of account %q: %w", accountID, err)
	}
	return before, after, nil
}

// lockOrCreateRow locks the account's row, creating an empty one first when there is none, and
// returns the row as it was. A row deleted by a concurrent request between the two statements is
// created again.
func lockOrCreateRow(ctx context.Context, tx pgx.Tx, accountID string) (quotaRow, error) {
	const attempts = 3
	for range attempts {
		var row quotaRow
		var created bool
		err := tx.QueryRow(ctx, ensureRowSQL, accountID).Scan(&created)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return row, err
		}
		row.exists = !created
		err = tx.QueryRow(ctx, lockRowSQL, accountID).Scan(&row.storageLimitBytes, &row.bandwidthLimitBps)
		if errors.Is(err, pgx.ErrNoRows) {
			continue
		}
		return row, err
	}
	return quotaRow{}, fmt.Errorf("the row was deleted concurrently %d times; retry the request", attempts)
}

// reset removes the account's row, so both defaults apply, and returns the row as it was before
// and the account as it is after. Removing a missing row succeeds.
func (s store) reset(ctx context.Context, accountID string) (quotaRow, accountRecord, error) {
	var before quotaRow
	err := s.pool.QueryRow(ctx, deleteRowSQL, accountID).Scan(&before.storageLimitBytes, &before.bandwidthLimitBps)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
	case err != nil:
		return before, accountRecord{}, fmt.Errorf("delete quota of account %q: %w", accountID, err)
	default:
		before.exists = true
	}
	after, err := s.get(ctx, accountID)
	return before, after, err
}

// list reads up to limit quota rows whose account id sorts after the given one (nil for the
// first page).
func (s store) list(ctx context.Context, after *string, limit int) ([]accountRecord, error) {
	rows, err := s.pool.Query(ctx, listAccountsSQL, after, limit)
	if err != nil {
		return nil, fmt.Errorf("list quotas: %w", err)
	}
	records, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (accountRecord, error) {
		return scanRecord(row)
	})
	if err != nil {
		return nil, fmt.Errorf("list quotas: %w", err)
	}
	return records, nil
}
