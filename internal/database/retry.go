package database

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// EnsureSchemaWithRetry runs EnsureSchema until it succeeds, retrying with backoff from one to
// thirty seconds while the database is unavailable, so that a process started before its
// database waits instead of exiting. Other errors, and the end of ctx, are returned. onRetry,
// when set, is called before each wait.
func EnsureSchemaWithRetry(ctx context.Context, pool *pgxpool.Pool, onRetry func(err error, wait time.Duration)) error {
	wait := time.Second
	for {
		err := EnsureSchema(ctx, pool)
		if err == nil {
			return nil
		}
		if !IsUnavailable(err) || ctx.Err() != nil {
			return fmt.Errorf("prepare database schema: %w", err)
		}
		if onRetry != nil {
			onRetry(err, wait)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("prepare database schema: %w", err)
		case <-time.After(wait):
		}
		wait = min(wait*2, 30*time.Second)
	}
}
