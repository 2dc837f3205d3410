package main

import (
	"context"
	"fmt"
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
	backoff := time.Second
	for {
		err := database.EnsureSchema(ctx, pool)
		if err == nil {
			return pool, nil
		}
		if !database.IsUnavailable(err) {
			pool.Close()
			return nil, fmt.Errorf("prepare database schema: %w", err)
		}
		logger.Warn("Database unavailable at start-up; retrying", "error", err, "retryIn", backoff)
		select {
		case <-ctx.Done():
			pool.Close()
			return nil, fmt.Errorf("prepare database schema: %w", err)
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 30*time.Second)
	}
}
