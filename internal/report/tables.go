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
	// accountReadable is false when the session's user may not SELECT identity_account's id and
	// payload columns, as when an administrator keeps account payloads from a reporting user.
	accountReadable bool
	quota           bool
}

// findTables looks the tables up on the session's search_path, as the report's query does.
func findTables(ctx context.Context, db database.Querier) (presentTables, error) {
	var t presentTables
	// The privilege functions return NULL for the NULL of a missing table.
	err := db.QueryRow(ctx, `SELECT to_regclass('identity_account_usage') IS NOT NULL,
		to_regclass('identity_account') IS NOT NULL,
		COALESCE(has_column_privilege(to_regclass('identity_account'), 'id', 'SELECT')
			AND has_column_privilege(to_regclass('identity_account'), 'payload', 'SELECT'), false),
		to_regclass('identity_account_quota') IS NOT NULL`).Scan(&t.usage, &t.account, &t.accountReadable, &t.quota)
	if err != nil {
		return t, fmt.Errorf("look up the usage tables: %w", err)
	}
	return t, nil
}
