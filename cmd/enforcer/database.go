package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"xpod.dev/quota-operator/internal/database"
)

// connect opens the pool and prepares the schema, retrying while the database is unreachable,
// so an enforcer that starts before PostgreSQL waits instead of crash-looping.
func connect(ctx context.Context, c *commonFlags, logger *slog.Logger) (*pgxpool.Pool, error) {
	url, err := database.ResolveURL(c.databaseURL)
	if err != nil {
		return nil, err
	}
	pool, err := database.Connect(ctx, url)
	if err != nil {
		return nil, err
	}
	err = database.EnsureSchemaWithRetry(ctx, pool, func(err error, wait time.Duration) {
		logger.Warn("Database unavailable at start-up; retrying", "error", err, "retryIn", wait)
	})
	if err != nil {
		pool.Close()
		return nil, err
	}
	return pool, nil
}
