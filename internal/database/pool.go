package database

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Connect opens a connection pool and checks that the server responds. Pool settings such as
// pool_max_conns and default_query_exec_mode are read from the URL.
func Connect(ctx context.Context, url string) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// The parse error may repeat the URL with its password, so it is not wrapped.
		return nil, fmt.Errorf("invalid database URL: expected postgres://user:password@host:port/db?options " +
			"or a key=value connection string")
	}
	cfg.ConnConfig.ConnectTimeout = connectTimeout(cfg.ConnConfig.ConnectTimeout)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("create database pool: %w", err)
	}
	return pool, nil
}

// connectTimeout bounds a connection attempt so that an unreachable server fails fast instead of
// waiting for the operating system's TCP timeout.
func connectTimeout(configured time.Duration) time.Duration {
	if configured > 0 {
		return configured
	}
	return 5 * time.Second
}
