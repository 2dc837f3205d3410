package database_test

import (
	"context"
	"sync"
	"testing"

	"xpod.dev/quota-operator/internal/database"
	"xpod.dev/quota-operator/internal/testutil/pgtest"
)

func TestEnsureSchemaCreatesTables(t *testing.T) {
	t.Parallel()
	pool, _ := pgtest.NewPool(t)
	ctx := context.Background()
	for _, table := range []string{"identity_account_usage", "identity_pod_usage", "identity_account_quota",
		"quota_flush_log", "quota_schema_migrations"} {
		var exists bool
		if err := pool.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", table).Scan(&exists); err != nil {
			t.Fatal(err)
		}
		if !exists {
			t.Errorf("table %s missing after EnsureSchema", table)
		}
	}
	if err := database.EnsureSchema(ctx, pool); err != nil {
		t.Fatalf("second EnsureSchema: %v", err)
	}
}

// TestEnsureSchemaKeepsExistingTables: tables that the pod server created first are neither
// altered nor emptied.
func TestEnsureSchemaKeepsExistingTables(t *testing.T) {
	t.Parallel()
	url := pgtest.NewDatabase(t)
	ctx := context.Background()
	pool, err := database.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	_, err = pool.Exec(ctx, `CREATE TABLE identity_account_quota (account_id TEXT PRIMARY KEY,
		storage_limit_bytes BIGINT, bandwidth_limit_bps BIGINT, updated_at TIMESTAMPTZ DEFAULT NOW(), note TEXT);
		INSERT INTO identity_account_quota (account_id, storage_limit_bytes, note) VALUES ('acct-001', 5, 'from xpod')`)
	if err != nil {
		t.Fatal(err)
	}
	if err := database.EnsureSchema(ctx, pool); err != nil {
		t.Fatalf("EnsureSchema: %v", err)
	}
	var note string
	var limit int64
	err = pool.QueryRow(ctx, `SELECT note, storage_limit_bytes FROM identity_account_quota WHERE account_id = 'acct-001'`).
		Scan(&note, &limit)
	if err != nil {
		t.Fatalf("existing table changed: %v", err)
	}
	if note != "from xpod" || limit != 5 {
		t.Errorf("existing row = (%q, %d), want (\"from xpod\", 5)", note, limit)
	}
}

// TestEnsureSchemaConcurrent: a manager and enforcers starting at once all succeed.
func TestEnsureSchemaConcurrent(t *testing.T) {
	t.Parallel()
	url := pgtest.NewDatabase(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pool, err := database.Connect(ctx, url)
			if err != nil {
				errs <- err
				return
			}
			defer pool.Close()
			errs <- database.EnsureSchema(ctx, pool)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("concurrent EnsureSchema: %v", err)
		}
	}
}
