package report

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"xpod.dev/quota-operator/internal/database"
)

// ErrNoUsageTable is returned when identity_account_usage does not exist in the database.
var ErrNoUsageTable = errors.New("table identity_account_usage not found: the manager and the enforcer create " +
	"it at start-up, so check that the database URL names the database they use")

// Metric is the usage figure that Top ranks accounts by.
type Metric string

// Metrics of Top.
const (
	MetricStorage Metric = "storage"
	MetricIngress Metric = "ingress"
	MetricEgress  Metric = "egress"
	// MetricTraffic is ingress plus egress.
	MetricTraffic Metric = "traffic"
)

// Metrics lists every Metric in the order that help text shows them.
var Metrics = []Metric{MetricStorage, MetricIngress, MetricEgress, MetricTraffic}

// rankExpressions are the ORDER BY expressions of each metric. The traffic sum is NUMERIC
// because ingress_bytes + egress_bytes in BIGINT overflows above 2^63-1.
var rankExpressions = map[Metric]string{
	MetricStorage: "u.storage_bytes",
	MetricIngress: "u.ingress_bytes",
	MetricEgress:  "u.egress_bytes",
	MetricTraffic: "u.ingress_bytes::numeric + u.egress_bytes::numeric",
}

// Result is the accounts that List or Top read. A missing identity_account_quota table makes
// every limit the default, but an unreadable one fails the query, because default limits in
// place of custom ones would be wrong figures.
type Result struct {
	Accounts []Account
	// EmailsOmitted is set when identity_account exists but the database user may not read its
	// id and payload columns, so every Email is nil.
	EmailsOmitted bool
}

// Filter selects the accounts of a report.
type Filter struct {
	// Since keeps the accounts whose usage row was updated at most this long before the database
	// server's current time. 0 keeps every account, including rows whose updated_at is NULL.
	Since time.Duration
}

// List reads every account of identity_account_usage, ordered by account id in byte order.
//
// NOTE: every account is held in memory until the output is written, because the table format
// needs every row to align its columns.
func List(ctx context.Context, db database.Querier, filter Filter, defaults Defaults) (Result, error) {
	return query(ctx, db, filter, defaults, "", 0)
}

// Top reads the limit accounts with the highest metric, highest first. Ties are ordered by
// account id in byte order, so the result is stable.
func Top(ctx context.Context, db database.Querier, filter Filter, defaults Defaults, metric Metric,
	limit int64) (Result, error) {
	expression, ok := rankExpressions[metric]
	if !ok {
		return Result{}, fmt.Errorf("unknown metric %q", metric)
	}
	if limit < 1 {
		return Result{}, fmt.Errorf("invalid limit %d: expected at least 1", limit)
	}
	return query(ctx, db, filter, defaults, expression, limit)
}

// query runs the report's SELECT. rankExpression, when set, is an ORDER BY expression over the
// usage subquery u, whose byte columns are never NULL.
func query(ctx context.Context, db database.Querier, filter Filter, defaults Defaults, rankExpression string,
	limit int64) (Result, error) {
	tables, err := findTables(ctx, db)
	if err != nil {
		return Result{}, err
	}
	if !tables.usage {
		return Result{}, ErrNoUsageTable
	}
	result := Result{EmailsOmitted: tables.account && !tables.accountReadable}
	sql, args := buildQuery(tables, filter, rankExpression, limit)
	rows, err := db.Query(ctx, sql, args...)
	if err != nil {
		return Result{}, fmt.Errorf("read identity_account_usage: %w", err)
	}
	var a Account
	var storageLimit, bandwidthLimit *int64
	scanTargets := []any{&a.ID, &a.Email, &a.StorageBytes, &a.IngressBytes, &a.EgressBytes, &a.UpdatedAt,
		&storageLimit, &bandwidthLimit}
	_, err = pgx.ForEachRow(rows, scanTargets, func() error {
		a.StorageLimit = effectiveLimit(storageLimit, defaults.StorageBytes)
		a.BandwidthLimit = effectiveLimit(bandwidthLimit, defaults.BandwidthBps)
		result.Accounts = append(result.Accounts, a)
		return nil
	})
	if err != nil {
		return Result{}, fmt.Errorf("read identity_account_usage: %w", err)
	}
	return result, nil
}

// buildQuery writes the SELECT for the tables that exist. Only fixed SQL fragments are joined
// into the text, and every value is a parameter.
func buildQuery(tables presentTables, filter Filter, rankExpression string, limit int64) (string, []any) {
	email := "NULL::text"
	joins := ""
	if tables.account && tables.accountReadable {
		email = "a.payload->>'email'"
		joins += "\nLEFT JOIN identity_account a ON a.id = u.account_id"
	}
	limits := "NULL::bigint, NULL::bigint"
	if tables.quota {
		limits = "q.storage_limit_bytes, q.bandwidth_limit_bps"
		joins += "\nLEFT JOIN identity_account_quota q ON q.account_id = u.account_id"
	}

	var sql strings.Builder
	var args []any
	sql.WriteString(`SELECT u.account_id, ` + email + `, u.storage_bytes, u.ingress_bytes, u.egress_bytes,
  u.updated_at, ` + limits + `
FROM (SELECT account_id, COALESCE(storage_bytes, 0) AS storage_bytes, COALESCE(ingress_bytes, 0) AS ingress_bytes,
  COALESCE(egress_bytes, 0) AS egress_bytes, updated_at FROM identity_account_usage) u` + joins)
	if filter.Since > 0 {
		// NOW() is the server's clock, so a client with a wrong clock or time zone filters the same.
		args = append(args, filter.Since)
		sql.WriteString("\nWHERE u.updated_at >= NOW() - $1::interval")
	}
	// COLLATE "C" orders ids by bytes, whatever the database's locale.
	sql.WriteString("\nORDER BY ")
	if rankExpression != "" {
		sql.WriteString(rankExpression + " DESC, ")
	}
	sql.WriteString(`u.account_id COLLATE "C"`)
	if limit > 0 {
		args = append(args, limit)
		fmt.Fprintf(&sql, "\nLIMIT $%d", len(args))
	}
	return sql.String(), args
}
