package report

import (
	"context"
	"fmt"

	"xpod.dev/quota-operator/internal/database"
)

// presentTables records which of the tables that the report reads exist in the database.
type presentTables struct {
	usage   bool
	account bool
	quota   bool
}

// findTables looks the tables up on the session's search_path, as the report's query does.
func findTables(ctx context.Context, db database.Querier) (presentTables, error) {
	var t presentTables
	err := db.QueryRow(ctx, `SELECT to_regclass('identity_account_usage') IS NOT NULL,
		to_regclass('identity_account') IS NOT NULL,
		to_regclass('identity_account_quota') IS NOT NULL`).Scan(&t.usage, &t.account, &t.quota)
	if err != nil {
		return t, fmt.Errorf("look up the usage tables: %w", err)
	}
	return t, nil
}
