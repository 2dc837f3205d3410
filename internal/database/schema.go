package database

import (
	"context"
	"embed"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

// identityTables are the pod server's tables, exactly as Xpod's schema defines them. IF NOT
// EXISTS leaves tables that the pod server created first untouched.
var identityTables = []string{
	`CREATE TABLE IF NOT EXISTS identity_account_usage (account_id TEXT PRIMARY KEY, storage_bytes BIGINT DEFAULT 0,
  ingress_bytes BIGINT DEFAULT 0, egress_bytes BIGINT DEFAULT 0, updated_at TIMESTAMPTZ DEFAULT NOW())`,
	`CREATE TABLE IF NOT EXISTS identity_pod_usage (pod_id TEXT PRIMARY KEY, account_id TEXT, storage_bytes BIGINT DEFAULT 0,
  ingress_bytes BIGINT DEFAULT 0, egress_bytes BIGINT DEFAULT 0, updated_at TIMESTAMPTZ DEFAULT NOW())`,
	`CREATE TABLE IF NOT EXISTS identity_account_quota (account_id TEXT PRIMARY KEY, storage_limit_bytes BIGINT,
  bandwidth_limit_bps BIGINT, updated_at TIMESTAMPTZ DEFAULT NOW())`,
}

// identityTableNames are the names of identityTables, in the same order.
var identityTableNames = []string{"identity_account_usage", "identity_pod_usage", "identity_account_quota"}

// identityTablesLockKey serialises table creation between processes that start at once, because
// concurrent CREATE TABLE IF NOT EXISTS can still fail on the catalog's unique index.
const identityTablesLockKey = 7_210_431_001

//go:embed migrations/*.sql
var migrations embed.FS

// EnsureSchema creates the identity tables when they are missing and applies the pending
// migrations of the quota_ tables. Several processes may call it at once.
func EnsureSchema(ctx context.Context, pool *pgxpool.Pool) error {
	if err := createIdentityTables(ctx, pool); err != nil {
		return err
	}
	return migrate(ctx, pool)
}

func createIdentityTables(ctx context.Context, pool *pgxpool.Pool) error {
	tx, err := pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("create identity tables: %w", err)
	}
	defer func() { _ = tx.Rollback(ctx) }()

	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", identityTablesLockKey); err != nil {
		return fmt.Errorf("lock identity table creation: %w", err)
	}
	for i, ddl := range identityTables {
		// PostgreSQL checks the CREATE privilege even for a table that exists, so existing
		// tables are skipped and a role without CREATE can start once the tables are in place.
		var exists bool
		if err := tx.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", identityTableNames[i]).Scan(&exists); err != nil {
			return fmt.Errorf("look up table %s: %w", identityTableNames[i], err)
		}
		if exists {
			continue
		}
		if _, err := tx.Exec(ctx, ddl); err != nil {
			return fmt.Errorf("create table %s: %w", identityTableNames[i], err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("create identity tables: %w", err)
	}
	return nil
}

func migrate(ctx context.Context, pool *pgxpool.Pool) error {
	db := stdlib.OpenDBFromPool(pool)
	defer func() { _ = db.Close() }()

	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return fmt.Errorf("create migration lock: %w", err)
	}
	provider, err := goose.NewProvider(goose.DialectPostgres, db, migrationFS(),
		goose.WithSessionLocker(locker), goose.WithTableName("quota_schema_migrations"))
	if err != nil {
		return fmt.Errorf("load migrations: %w", err)
	}
	if _, err := provider.Up(ctx); err != nil {
		return fmt.Errorf("apply migrations: %w", err)
	}
	return nil
}
