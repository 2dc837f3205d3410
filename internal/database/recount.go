package database

import (
	"context"
	"fmt"
	"sort"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// RecountResult is the storage of a pod before and after ReplacePodSizes.
type RecountResult struct {
	OldStorageBytes int64
	NewStorageBytes int64
}

// ReplacePodSizes replaces every recorded resource size of a pod with sizes, sets the pod's
// storage_bytes to their sum and moves the account's storage_bytes by the same difference, all in
// one transaction. It repairs the drift that writes which bypassed the enforcer leave behind.
func ReplacePodSizes(ctx context.Context, pool *pgxpool.Pool, podID, accountID string, sizes map[string]int64) (
	RecountResult, error) {
	var result RecountResult
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		var err error
		result, err = replacePodSizes(ctx, tx, podID, accountID, sizes)
		return err
	})
	if err != nil {
		return RecountResult{}, fmt.Errorf("replace resource sizes of pod %q: %w", podID, err)
	}
	return result, nil
}

func replacePodSizes(ctx context.Context, tx pgx.Tx, podID, accountID string, sizes map[string]int64) (
	RecountResult, error) {
	var result RecountResult
	if _, err := tx.Exec(ctx, createPodUsageSQL, []string{podID}, []string{accountID}); err != nil {
		return result, err
	}
	if _, err := tx.Exec(ctx, createAccountUsageSQL, []string{accountID}); err != nil {
		return result, err
	}
	err := tx.QueryRow(ctx, `SELECT COALESCE(storage_bytes, 0) FROM identity_pod_usage WHERE pod_id = $1 FOR UPDATE`,
		podID).Scan(&result.OldStorageBytes)
	if err != nil {
		return result, err
	}
	if _, err := tx.Exec(ctx, `DELETE FROM quota_resource_sizes WHERE pod_id = $1`, podID); err != nil {
		return result, err
	}

	paths := make([]string, 0, len(sizes))
	for p := range sizes {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	values := make([]int64, len(paths))
	for i, p := range paths {
		values[i] = sizes[p]
		result.NewStorageBytes += sizes[p]
	}
	_, err = tx.Exec(ctx, `INSERT INTO quota_resource_sizes (pod_id, path, account_id, size_bytes)
		SELECT $1, path, $2, size FROM unnest($3::text[], $4::bigint[]) AS s(path, size)`,
		podID, accountID, paths, values)
	if err != nil {
		return result, err
	}

	_, err = tx.Exec(ctx, `UPDATE identity_pod_usage SET storage_bytes = $2, account_id = $3, updated_at = NOW()
		WHERE pod_id = $1`, podID, result.NewStorageBytes, accountID)
	if err != nil {
		return result, err
	}
	_, err = tx.Exec(ctx, `UPDATE identity_account_usage
		SET storage_bytes = GREATEST(COALESCE(storage_bytes, 0) + $2, 0), updated_at = NOW() WHERE account_id = $1`,
		accountID, result.NewStorageBytes-result.OldStorageBytes)
	return result, err
}
