package database

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// PodDelta is the change of one pod's counters in a usage flush. Storage is not part of it:
// storage changes come from the SizeChanges of the flush, which the database turns into deltas.
type PodDelta struct {
	PodID        string
	AccountID    string
	IngressBytes int64
	EgressBytes  int64
}

// SizeChange records the size of a resource after a successful write, or the removal of
// resources after a successful delete.
type SizeChange struct {
	PodID     string
	AccountID string
	// Path is the decoded request path of the written resource. For a removal, it is the deleted
	// resource and Paths lists it with its auxiliary resources.
	Path string
	// SizeBytes is the size of the representation the pod server serves after the write.
	SizeBytes int64
	// Removed marks a delete: every row whose path is in Paths, or starts with Prefix when
	// Prefix is set, is removed.
	Removed bool
	Paths   []string
	Prefix  string
}

// UsageFlush is one batch of usage changes. It is applied at most once under its ID while
// quota_flush_log keeps that ID.
type UsageFlush struct {
	// ID is a UUID. A flush retried after an unknown commit outcome keeps its ID.
	ID         string
	EnforcerID string
	Pods       []PodDelta
	Sizes      []SizeChange
}

// FlushResult is the outcome of ApplyUsageFlush.
type FlushResult struct {
	// Duplicate means the flush ID was already recorded, so nothing was applied again.
	Duplicate bool
	// StorageBytes is storage_bytes of each requested account after the flush, read in the same
	// transaction. Accounts without a usage row are absent.
	StorageBytes map[string]int64
}

const recordFlushSQL = `INSERT INTO quota_flush_log (flush_id, enforcer_id) VALUES ($1::uuid, $2)
ON CONFLICT (flush_id) DO NOTHING`

// setSizeSQL stores a resource's new size and returns the difference to the size recorded before.
const setSizeSQL = `
WITH old AS (
  SELECT size_bytes FROM quota_resource_sizes WHERE pod_id = $1 AND path = $2 FOR UPDATE
), stored AS (
  INSERT INTO quota_resource_sizes (pod_id, path, account_id, size_bytes, updated_at)
  VALUES ($1, $2, $3, $4, NOW())
  ON CONFLICT (pod_id, path) DO UPDATE
    SET size_bytes = EXCLUDED.size_bytes, account_id = EXCLUDED.account_id, updated_at = NOW()
)
SELECT $4::bigint - COALESCE((SELECT size_bytes FROM old), 0)`

// removeSizesSQL removes resources and returns minus the sum of their recorded sizes.
const removeSizesSQL = `
WITH removed AS (
  DELETE FROM quota_resource_sizes
  WHERE pod_id = $1 AND (path = ANY($2::text[]) OR ($3::text <> '' AND starts_with(path, $3::text)))
  RETURNING size_bytes
)
SELECT -COALESCE(SUM(size_bytes), 0)::bigint FROM removed`

// The usage rows are created first and updated second, because an upsert would clamp a negative
// storage delta to zero before adding it. Rows are created and locked in id order, so concurrent
// flushes of several enforcers do not deadlock on them. Resource size rows are locked in write
// order instead; PostgreSQL aborts one of two deadlocked flushes, which is then retried.
const createPodUsageSQL = `
INSERT INTO identity_pod_usage (pod_id, account_id, storage_bytes, ingress_bytes, egress_bytes, updated_at)
SELECT pod_id, account_id, 0, 0, 0, NOW()
FROM unnest($1::text[], $2::text[]) AS d(pod_id, account_id) ORDER BY pod_id
ON CONFLICT (pod_id) DO NOTHING`

const addPodUsageSQL = `
WITH d AS (
  SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[])
    AS d(pod_id, account_id, storage, ingress, egress)
), locked AS MATERIALIZED (
  SELECT u.pod_id FROM identity_pod_usage u JOIN d USING (pod_id) ORDER BY u.pod_id FOR UPDATE OF u
)
UPDATE identity_pod_usage u SET
  account_id = d.account_id,
  storage_bytes = GREATEST(COALESCE(u.storage_bytes, 0) + d.storage, 0),
  ingress_bytes = COALESCE(u.ingress_bytes, 0) + d.ingress,
  egress_bytes = COALESCE(u.egress_bytes, 0) + d.egress,
  updated_at = NOW()
FROM d WHERE u.pod_id = d.pod_id AND u.pod_id IN (SELECT pod_id FROM locked)`

const createAccountUsageSQL = `
INSERT INTO identity_account_usage (account_id, storage_bytes, ingress_bytes, egress_bytes, updated_at)
SELECT account_id, 0, 0, 0, NOW() FROM unnest($1::text[]) AS d(account_id) ORDER BY account_id
ON CONFLICT (account_id) DO NOTHING`

const addAccountUsageSQL = `
WITH d AS (
  SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[]) AS d(account_id, storage, ingress, egress)
), locked AS MATERIALIZED (
  SELECT u.account_id FROM identity_account_usage u JOIN d USING (account_id) ORDER BY u.account_id FOR UPDATE OF u
)
UPDATE identity_account_usage u SET
  storage_bytes = GREATEST(COALESCE(u.storage_bytes, 0) + d.storage, 0),
  ingress_bytes = COALESCE(u.ingress_bytes, 0) + d.ingress,
  egress_bytes = COALESCE(u.egress_bytes, 0) + d.egress,
  updated_at = NOW()
FROM d WHERE u.account_id = d.account_id AND u.account_id IN (SELECT account_id FROM locked)`

// ApplyUsageFlush applies a usage flush in one transaction and reads back the storage of the
// given accounts. The flush ID of a non-empty flush is recorded in quota_flush_log first, so a
// flush that already committed is not applied twice when it is retried.
func ApplyUsageFlush(ctx context.Context, pool *pgxpool.Pool, flush UsageFlush, accounts []string) (FlushResult, error) {
	var result FlushResult
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		var err error
		result, err = applyUsageFlush(ctx, tx, flush, accounts)
		return err
	})
	if err != nil {
		return FlushResult{}, fmt.Errorf("apply usage flush %s: %w", flush.ID, err)
	}
	return result, nil
}

func applyUsageFlush(ctx context.Context, tx pgx.Tx, flush UsageFlush, accounts []string) (FlushResult, error) {
	result := FlushResult{}
	if len(flush.Pods) == 0 && len(flush.Sizes) == 0 {
		// Nothing to apply, so no flush id is recorded: only the storage is read back.
		var err error
		result.StorageBytes, err = readAccountStorage(ctx, tx, accounts)
		return result, err
	}
	tag, err := tx.Exec(ctx, recordFlushSQL, flush.ID, flush.EnforcerID)
	if err != nil {
		return result, fmt.Errorf("record flush: %w", err)
	}
	result.Duplicate = tag.RowsAffected() == 0
	if !result.Duplicate {
		storage, err := applySizeChanges(ctx, tx, flush.Sizes)
		if err != nil {
			return result, err
		}
		if err := addUsage(ctx, tx, flush.Pods, storage); err != nil {
			return result, err
		}
	}
	result.StorageBytes, err = readAccountStorage(ctx, tx, accounts)
	return result, err
}

// podKey identifies a pod together with the account it belongs to in a flush.
type podKey struct{ pod, account string }

func applySizeChanges(ctx context.Context, tx pgx.Tx, changes []SizeChange) (map[podKey]int64, error) {
	storage := map[podKey]int64{}
	for _, c := range changes {
		var delta int64
		var err error
		if c.Removed {
			err = tx.QueryRow(ctx, removeSizesSQL, c.PodID, c.Paths, c.Prefix).Scan(&delta)
		} else {
			err = tx.QueryRow(ctx, setSizeSQL, c.PodID, c.Path, c.AccountID, c.SizeBytes).Scan(&delta)
		}
		if err != nil {
			return nil, fmt.Errorf("record size of %q in pod %q: %w", c.Path, c.PodID, err)
		}
		storage[podKey{c.PodID, c.AccountID}] += delta
	}
	return storage, nil
}

type counters struct{ storage, ingress, egress int64 }

func addUsage(ctx context.Context, tx pgx.Tx, pods []PodDelta, storage map[podKey]int64) error {
	perPod := map[podKey]counters{}
	for _, p := range pods {
		k := podKey{p.PodID, p.AccountID}
		c := perPod[k]
		c.ingress += p.IngressBytes
		c.egress += p.EgressBytes
		perPod[k] = c
	}
	for k, d := range storage {
		c := perPod[k]
		c.storage += d
		perPod[k] = c
	}
	if err := addPodUsage(ctx, tx, perPod); err != nil {
		return err
	}
	return addAccountUsage(ctx, tx, perPod)
}

func addPodUsage(ctx context.Context, tx pgx.Tx, perPod map[podKey]counters) error {
	var ids, accounts []string
	var storage, ingress, egress []int64
	for _, k := range sortedPodKeys(perPod) {
		c := perPod[k]
		if c == (counters{}) {
			continue
		}
		ids, accounts = append(ids, k.pod), append(accounts, k.account)
		storage, ingress, egress = append(storage, c.storage), append(ingress, c.ingress), append(egress, c.egress)
	}
	if len(ids) == 0 {
		return nil
	}
	if _, err := tx.Exec(ctx, createPodUsageSQL, ids, accounts); err != nil {
		return fmt.Errorf("create usage rows of %d pods: %w", len(ids), err)
	}
	if _, err := tx.Exec(ctx, addPodUsageSQL, ids, accounts, storage, ingress, egress); err != nil {
		return fmt.Errorf("add usage of %d pods: %w", len(ids), err)
	}
	return nil
}

func addAccountUsage(ctx context.Context, tx pgx.Tx, perPod map[podKey]counters) error {
	perAccount := map[string]counters{}
	for k, c := range perPod {
		a := perAccount[k.account]
		a.storage, a.ingress, a.egress = a.storage+c.storage, a.ingress+c.ingress, a.egress+c.egress
		perAccount[k.account] = a
	}
	ids := make([]string, 0, len(perAccount))
	for id, c := range perAccount {
		if c != (counters{}) {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	sort.Strings(ids)
	storage, ingress, egress := make([]int64, len(ids)), make([]int64, len(ids)), make([]int64, len(ids))
	for i, id := range ids {
		c := perAccount[id]
		storage[i], ingress[i], egress[i] = c.storage, c.ingress, c.egress
	}
	if _, err := tx.Exec(ctx, createAccountUsageSQL, ids); err != nil {
		return fmt.Errorf("create usage rows of %d accounts: %w", len(ids), err)
	}
	if _, err := tx.Exec(ctx, addAccountUsageSQL, ids, storage, ingress, egress); err != nil {
		return fmt.Errorf("add usage of %d accounts: %w", len(ids), err)
	}
	return nil
}

// sortedPodKeys orders pods by id, so that concurrent flushes lock rows in the same order and
// cannot deadlock on them.
func sortedPodKeys(m map[podKey]counters) []podKey {
	keys := make([]podKey, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].pod != keys[j].pod {
			return keys[i].pod < keys[j].pod
		}
		return keys[i].account < keys[j].account
	})
	return keys
}

func readAccountStorage(ctx context.Context, db Querier, accounts []string) (map[string]int64, error) {
	storage := make(map[string]int64, len(accounts))
	if len(accounts) == 0 {
		return storage, nil
	}
	rows, err := db.Query(ctx, `SELECT account_id, COALESCE(storage_bytes, 0) FROM identity_account_usage
		WHERE account_id = ANY($1)`, accounts)
	if err != nil {
		return nil, fmt.Errorf("read storage of %d accounts: %w", len(accounts), err)
	}
	var id string
	var bytes int64
	_, err = pgx.ForEachRow(rows, []any{&id, &bytes}, func() error {
		storage[id] = bytes
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read storage of %d accounts: %w", len(accounts), err)
	}
	return storage, nil
}

// GetAccountStorage returns storage_bytes of one account, or 0 when it has no usage row.
func GetAccountStorage(ctx context.Context, db Querier, accountID string) (int64, error) {
	var bytes int64
	err := db.QueryRow(ctx, `SELECT COALESCE(storage_bytes, 0) FROM identity_account_usage WHERE account_id = $1`,
		accountID).Scan(&bytes)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read storage of account %q: %w", accountID, err)
	}
	return bytes, nil
}

// GetResourceSizes returns the recorded sizes of the given paths in a pod, plus the sum of the
// sizes of every path that starts with prefix when prefix is not empty. Paths without a
// recorded size are absent from the map.
func GetResourceSizes(ctx context.Context, db Querier, podID string, paths []string, prefix string) (
	map[string]int64, error) {
	rows, err := db.Query(ctx, `SELECT path, size_bytes FROM quota_resource_sizes
		WHERE pod_id = $1 AND (path = ANY($2::text[]) OR ($3::text <> '' AND starts_with(path, $3::text)))`,
		podID, paths, prefix)
	if err != nil {
		return nil, fmt.Errorf("read resource sizes in pod %q: %w", podID, err)
	}
	sizes := map[string]int64{}
	var path string
	var size int64
	_, err = pgx.ForEachRow(rows, []any{&path, &size}, func() error {
		sizes[path] = size
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read resource sizes in pod %q: %w", podID, err)
	}
	return sizes, nil
}

// DeleteOldFlushRecords removes quota_flush_log rows older than the retention, which bounds how
// long a flush with an unknown outcome may wait for its retry.
func DeleteOldFlushRecords(ctx context.Context, db Querier, retentionHours int) (int64, error) {
	tag, err := db.Exec(ctx, `DELETE FROM quota_flush_log WHERE applied_at < NOW() - make_interval(hours => $1)`,
		retentionHours)
	if err != nil {
		return 0, fmt.Errorf("delete flush records older than %d hours: %w", retentionHours, err)
	}
	return tag.RowsAffected(), nil
}
