package database_test

import (
	"context"
	"fmt"
	"net/url"
	"testing"
	"time"

	"xpod.dev/quota-operator/internal/database"
	"xpod.dev/quota-operator/internal/testutil/pgtest"
)

// TestEnsureSchemaWithoutCreatePrivilege: once the tables exist, a role that may read and write
// them but not create tables starts without errors.
func TestEnsureSchemaWithoutCreatePrivilege(t *testing.T) {
	t.Parallel()
	pool, dbURL := pgtest.NewPool(t)
	ctx := context.Background()
	role := fmt.Sprintf("quota_limited_%d", time.Now().UnixNano())
	statements := []string{
		"CREATE ROLE " + role + " LOGIN",
		"REVOKE CREATE ON SCHEMA public FROM PUBLIC",
		"GRANT USAGE ON SCHEMA public TO " + role,
		"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO " + role,
	}
	for _, stmt := range statements {
		if _, err := pool.Exec(ctx, stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	t.Cleanup(func() {
		_, _ = pool.Exec(context.Background(), "DROP OWNED BY "+role)
		_, _ = pool.Exec(context.Background(), "DROP ROLE "+role)
	})

	u, _ := url.Parse(dbURL)
	u.User = url.User(role)
	limited, err := database.Connect(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer limited.Close()
	if err := database.EnsureSchema(ctx, limited); err != nil {
		t.Fatalf("EnsureSchema as a role without CREATE: %v", err)
	}
}
