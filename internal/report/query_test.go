package report_test

import (
	"context"
	"errors"
	"math"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"xpod.dev/quota-operator/internal/database"
	"xpod.dev/quota-operator/internal/report"
	"xpod.dev/quota-operator/internal/testutil/pgtest"
)

var defaults = report.Defaults{StorageBytes: 10 << 30, BandwidthBps: 10 << 20}

// createAccountTable is the DDL of Xpod's identity_account table, which the enforcer does not
// create.
const createAccountTable = `CREATE TABLE identity_account (id TEXT PRIMARY KEY, payload JSONB)`

func execAll(t *testing.T, pool *pgxpool.Pool, statements ...string) {
	t.Helper()
	for _, sql := range statements {
		if _, err := pool.Exec(context.Background(), sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
}

// withParameters returns the connection URL with the query parameters added.
func withParameters(t *testing.T, connectionURL string, parameters map[string]string) string {
	t.Helper()
	u, err := url.Parse(connectionURL)
	if err != nil {
		t.Fatalf("parse the database URL: %v", err)
	}
	query := u.Query()
	for name, value := range parameters {
		query.Set(name, value)
	}
	u.RawQuery = query.Encode()
	return u.String()
}

func ids(accounts []report.Account) []string {
	out := make([]string, len(accounts))
	for i, a := range accounts {
		out[i] = a.ID
	}
	return out
}

func emailOf(a report.Account) string {
	if a.Email == nil {
		return "<nil>"
	}
	return *a.Email
}

func TestListJoinsEmailAndLimits(t *testing.T) {
	t.Parallel()
	pool, _ := pgtest.NewPool(t)
	execAll(t, pool, createAccountTable,
		`INSERT INTO identity_account VALUES
			('alice', '{"email": "alice@example.org"}'),
			('bob', '{"name": "Bob"}'),
			('dave', '{"email": "\"dave, jr\"@example.org"}')`,
		`INSERT INTO identity_account_usage (account_id, storage_bytes, ingress_bytes, egress_bytes) VALUES
			('alice', 1000, 20, 30), ('bob', 0, 0, 0), ('carol', 5, 6, 7), ('dave', 1, 1, 1)`,
		`INSERT INTO identity_account_quota (account_id, storage_limit_bytes, bandwidth_limit_bps) VALUES
			('alice', 4000, NULL), ('bob', NULL, NULL), ('carol', 0, 0), ('dave', NULL, 2048)`)

	result, err := report.List(context.Background(), pool, report.Filter{}, defaults)
	accounts := result.Accounts
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		id, email       string
		storage         int64
		storageLimit    report.Limit
		bandwidthLimit  report.Limit
		ingress, egress int64
		storagePercent  string
	}{
		{"alice", "alice@example.org", 1000, report.Limit{Value: 4000, Source: "custom"},
			report.Limit{Value: 10 << 20, Source: "default"}, 20, 30, "25.0"},
		{"bob", "<nil>", 0, report.Limit{Value: 10 << 30, Source: "default"},
			report.Limit{Value: 10 << 20, Source: "default"}, 0, 0, "0.0"},
		{"carol", "<nil>", 5, report.Limit{Value: 0, Source: "custom"},
			report.Limit{Value: 0, Source: "custom"}, 6, 7, "100.0"},
		{"dave", `"dave, jr"@example.org`, 1, report.Limit{Value: 10 << 30, Source: "default"},
			report.Limit{Value: 2048, Source: "custom"}, 1, 1, "0.0"},
	}
	if len(accounts) != len(want) {
		t.Fatalf("List returned %v, want %d accounts", ids(accounts), len(want))
	}
	for i, w := range want {
		a := accounts[i]
		if a.ID != w.id {
			t.Errorf("account %d = %q, want %q", i, a.ID, w.id)
			continue
		}
		if got := emailOf(a); got != w.email {
			t.Errorf("%s email = %q, want %q", w.id, got, w.email)
		}
		if a.StorageBytes != w.storage {
			t.Errorf("%s storage = %d, want %d", w.id, a.StorageBytes, w.storage)
		}
		if a.StorageLimit != w.storageLimit {
			t.Errorf("%s storage limit = %+v, want %+v", w.id, a.StorageLimit, w.storageLimit)
		}
		if a.BandwidthLimit != w.bandwidthLimit {
			t.Errorf("%s bandwidth limit = %+v, want %+v", w.id, a.BandwidthLimit, w.bandwidthLimit)
		}
		if a.IngressBytes != w.ingress || a.EgressBytes != w.egress {
			t.Errorf("%s ingress/egress = %d/%d, want %d/%d", w.id, a.IngressBytes, a.EgressBytes, w.ingress, w.egress)
		}
		if got := a.StoragePercent(); got != w.storagePercent {
			t.Errorf("%s storage percent = %s, want %s", w.id, got, w.storagePercent)
		}
		if !a.UpdatedAt.Valid {
			t.Errorf("%s updated_at is NULL, want the insert time", w.id)
		}
	}
}

func TestListWithoutAccountTable(t *testing.T) {
	t.Parallel()
	pool, _ := pgtest.NewPool(t)
	execAll(t, pool, `INSERT INTO identity_account_usage (account_id, storage_bytes) VALUES ('alice', 1), ('bob', 2)`)

	result, err := report.List(context.Background(), pool, report.Filter{}, defaults)
	accounts := result.Accounts
	if err != nil {
		t.Fatalf("List without identity_account: %v", err)
	}
	if got := ids(accounts); !slices.Equal(got, []string{"alice", "bob"}) {
		t.Fatalf("List returned %v, want [alice bob]", got)
	}
	for _, a := range accounts {
		if a.Email != nil {
			t.Errorf("%s email = %q, want nil", a.ID, *a.Email)
		}
	}
}

func TestListWithoutQuotaTable(t *testing.T) {
	t.Parallel()
	pool, _ := pgtest.NewPool(t)
	execAll(t, pool, `DROP TABLE identity_account_quota`,
		`INSERT INTO identity_account_usage (account_id, storage_bytes) VALUES ('alice', 1)`)

	result, err := report.List(context.Background(), pool, report.Filter{}, defaults)
	accounts := result.Accounts
	if err != nil {
		t.Fatalf("List without identity_account_quota: %v", err)
	}
	if len(accounts) != 1 {
		t.Fatalf("List returned %v, want [alice]", ids(accounts))
	}
	wantStorage := report.Limit{Value: defaults.StorageBytes, Source: report.SourceDefault}
	if accounts[0].StorageLimit != wantStorage {
		t.Errorf("storage limit = %+v, want %+v", accounts[0].StorageLimit, wantStorage)
	}
	wantBandwidth := report.Limit{Value: defaults.BandwidthBps, Source: report.SourceDefault}
	if accounts[0].BandwidthLimit != wantBandwidth {
		t.Errorf("bandwidth limit = %+v, want %+v", accounts[0].BandwidthLimit, wantBandwidth)
	}
}

func TestListWithoutUsageTable(t *testing.T) {
	t.Parallel()
	pool, _ := pgtest.NewPool(t)
	execAll(t, pool, `DROP TABLE identity_account_usage`)

	_, err := report.List(context.Background(), pool, report.Filter{}, defaults)
	if !errors.Is(err, report.ErrNoUsageTable) {
		t.Errorf("List error = %v, want ErrNoUsageTable", err)
	}
}

func TestListNullColumns(t *testing.T) {
	t.Parallel()
	pool, _ := pgtest.NewPool(t)
	execAll(t, pool, `INSERT INTO identity_account_usage VALUES ('alice', NULL, NULL, NULL, NULL)`)

	result, err := report.List(context.Background(), pool, report.Filter{}, defaults)
	accounts := result.Accounts
	if err != nil {
		t.Fatal(err)
	}
	if len(accounts) != 1 {
		t.Fatalf("List returned %v, want [alice]", ids(accounts))
	}
	a := accounts[0]
	if a.StorageBytes != 0 || a.IngressBytes != 0 || a.EgressBytes != 0 {
		t.Errorf("NULL counters read as %d/%d/%d, want 0/0/0", a.StorageBytes, a.IngressBytes, a.EgressBytes)
	}
	if a.UpdatedAt.Valid {
		t.Errorf("NULL updated_at read as %v, want not valid", a.UpdatedAt.Time)
	}
}

func TestListMaxInt64(t *testing.T) {
	t.Parallel()
	pool, _ := pgtest.NewPool(t)
	execAll(t, pool,
		`INSERT INTO identity_account_usage (account_id, storage_bytes, ingress_bytes, egress_bytes) VALUES
			('max', 9223372036854775807, 9223372036854775807, 9223372036854775807)`,
		`INSERT INTO identity_account_quota (account_id, storage_limit_bytes, bandwidth_limit_bps) VALUES
			('max', 9223372036854775807, 9223372036854775807)`)

	result, err := report.List(context.Background(), pool, report.Filter{}, defaults)
	accounts := result.Accounts
	if err != nil {
		t.Fatal(err)
	}
	if len(accounts) != 1 {
		t.Fatalf("List returned %v, want [max]", ids(accounts))
	}
	a := accounts[0]
	for name, got := range map[string]int64{"storage": a.StorageBytes, "ingress": a.IngressBytes,
		"egress": a.EgressBytes, "storage limit": a.StorageLimit.Value, "bandwidth limit": a.BandwidthLimit.Value} {
		if got != math.MaxInt64 {
			t.Errorf("%s = %d, want 2^63-1", name, got)
		}
	}
	if got := a.TrafficBytes().String(); got != "18446744073709551614" {
		t.Errorf("traffic = %s, want 2^64-2", got)
	}
}

// TestListOrdersByAccountIDBytes gives account_id a linguistic ICU collation, as a database
// created with a locale such as en_US would have, where "a" sorts before "B".
func TestListOrdersByAccountIDBytes(t *testing.T) {
	t.Parallel()
	pool, _ := pgtest.NewPool(t)
	var icu bool
	if err := pool.QueryRow(context.Background(),
		`SELECT EXISTS (SELECT 1 FROM pg_collation WHERE collname = 'und-x-icu')`).Scan(&icu); err != nil {
		t.Fatal(err)
	}
	if !icu {
		t.Skip("PostgreSQL was built without ICU, so no linguistic collation is available")
	}
	execAll(t, pool, `DROP TABLE identity_account_usage`,
		`CREATE TABLE identity_account_usage (account_id TEXT COLLATE "und-x-icu" PRIMARY KEY,
			storage_bytes BIGINT DEFAULT 0, ingress_bytes BIGINT DEFAULT 0, egress_bytes BIGINT DEFAULT 0,
			updated_at TIMESTAMPTZ DEFAULT NOW())`)
	accountIDs := []string{"b", "B", "a", "A", "é", "10", "9", "a-b", "a_b", "ab"}
	for _, id := range accountIDs {
		if _, err := pool.Exec(context.Background(),
			`INSERT INTO identity_account_usage (account_id) VALUES ($1)`, id); err != nil {
			t.Fatal(err)
		}
	}

	result, err := report.List(context.Background(), pool, report.Filter{}, defaults)
	accounts := result.Accounts
	if err != nil {
		t.Fatal(err)
	}
	want := slices.Clone(accountIDs)
	sort.Strings(want)
	if got := ids(accounts); !slices.Equal(got, want) {
		t.Errorf("List order = %q, want byte order %q", got, want)
	}
}

func TestListSince(t *testing.T) {
	t.Parallel()
	pool, _ := pgtest.NewPool(t)
	execAll(t, pool, `INSERT INTO identity_account_usage (account_id, updated_at) VALUES
		('hour-ago', NOW() - INTERVAL '1 hour'),
		('47-hours-ago', NOW() - INTERVAL '47 hours'),
		('49-hours-ago', NOW() - INTERVAL '49 hours'),
		('future', NOW() + INTERVAL '1 hour'),
		('never', NULL)`)

	cases := []struct {
		since time.Duration
		want  []string
	}{
		{0, []string{"47-hours-ago", "49-hours-ago", "future", "hour-ago", "never"}},
		{48 * time.Hour, []string{"47-hours-ago", "future", "hour-ago"}},
		{30 * time.Minute, []string{"future"}},
		{100 * 365 * 24 * time.Hour, []string{"47-hours-ago", "49-hours-ago", "future", "hour-ago"}},
	}
	for _, tc := range cases {
		result, err := report.List(context.Background(), pool, report.Filter{Since: tc.since}, defaults)
		accounts := result.Accounts
		if err != nil {
			t.Fatalf("since %s: %v", tc.since, err)
		}
		if got := ids(accounts); !slices.Equal(got, tc.want) {
			t.Errorf("since %s = %v, want %v", tc.since, got, tc.want)
		}
	}
}

func TestTopRanksAndBreaksTies(t *testing.T) {
	t.Parallel()
	pool, _ := pgtest.NewPool(t)
	// traffic-max has ingress + egress = 2^64-2, which overflows BIGINT arithmetic.
	execAll(t, pool, `INSERT INTO identity_account_usage (account_id, storage_bytes, ingress_bytes, egress_bytes) VALUES
		('a', 300, 10, 0),
		('b', 300, 5, 50),
		('c', 100, 9223372036854775807, 0),
		('d', 9223372036854775807, 0, 9223372036854775807),
		('e', 300, 5, 5),
		('traffic-max', 0, 9223372036854775807, 9223372036854775807),
		('zero', NULL, NULL, NULL)`)

	cases := []struct {
		metric report.Metric
		limit  int64
		want   []string
	}{
		{report.MetricStorage, 10, []string{"d", "a", "b", "e", "c", "traffic-max", "zero"}},
		{report.MetricStorage, 3, []string{"d", "a", "b"}},
		{report.MetricIngress, 10, []string{"c", "traffic-max", "a", "b", "e", "d", "zero"}},
		{report.MetricEgress, 2, []string{"d", "traffic-max"}},
		{report.MetricTraffic, 10, []string{"traffic-max", "c", "d", "b", "a", "e", "zero"}},
		{report.MetricTraffic, 1, []string{"traffic-max"}},
	}
	for _, tc := range cases {
		result, err := report.Top(context.Background(), pool, report.Filter{}, defaults, tc.metric, tc.limit)
		accounts := result.Accounts
		if err != nil {
			t.Fatalf("top %d by %s: %v", tc.limit, tc.metric, err)
		}
		if got := ids(accounts); !slices.Equal(got, tc.want) {
			t.Errorf("top %d by %s = %v, want %v", tc.limit, tc.metric, got, tc.want)
		}
	}
}

func TestTopSince(t *testing.T) {
	t.Parallel()
	pool, _ := pgtest.NewPool(t)
	execAll(t, pool, `INSERT INTO identity_account_usage (account_id, storage_bytes, updated_at) VALUES
		('old-big', 1000, NOW() - INTERVAL '10 days'),
		('new-small', 10, NOW() - INTERVAL '1 day'),
		('new-big', 500, NOW())`)

	result, err := report.Top(context.Background(), pool, report.Filter{Since: 7 * 24 * time.Hour}, defaults,
		report.MetricStorage, 10)
	accounts := result.Accounts
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(accounts); !slices.Equal(got, []string{"new-big", "new-small"}) {
		t.Errorf("top since 7 days = %v, want [new-big new-small]", got)
	}
}

func TestTopRejectsInvalidArguments(t *testing.T) {
	t.Parallel()
	pool, _ := pgtest.NewPool(t)
	if _, err := report.Top(context.Background(), pool, report.Filter{}, defaults, "size", 10); err == nil {
		t.Error("Top by size succeeded, want an error")
	}
	if _, err := report.Top(context.Background(), pool, report.Filter{}, defaults, report.MetricStorage, 0); err == nil {
		t.Error("Top with limit 0 succeeded, want an error")
	}
}

// TestListInForeignTimeZones runs with the session time zone at UTC+14 and the process time zone
// at UTC-5 or UTC-4, once with pgx's binary protocol and once with the simple protocol, where
// timestamps travel as text in the session time zone.
func TestListInForeignTimeZones(t *testing.T) {
	newYork, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatalf("load America/New_York: %v", err)
	}
	local := time.Local
	time.Local = newYork
	t.Cleanup(func() { time.Local = local })

	databaseURL := pgtest.NewDatabase(t)
	for _, mode := range []string{"cache_statement", "simple_protocol"} {
		t.Run(mode, func(t *testing.T) {
			ctx := context.Background()
			pool, err := database.Connect(ctx, withParameters(t, databaseURL, map[string]string{
				"timezone": "Pacific/Kiritimati", "default_query_exec_mode": mode}))
			if err != nil {
				t.Fatal(err)
			}
			defer pool.Close()
			if err := database.EnsureSchema(ctx, pool); err != nil {
				t.Fatal(err)
			}
			var zone string
			if err := pool.QueryRow(ctx, "SHOW TIME ZONE").Scan(&zone); err != nil {
				t.Fatal(err)
			}
			if zone != "Pacific/Kiritimati" {
				t.Fatalf("session time zone = %q, want Pacific/Kiritimati", zone)
			}
			// The literal has no offset, so PostgreSQL reads it in the session time zone: 06:30 UTC.
			execAll(t, pool, `TRUNCATE identity_account_usage`,
				`INSERT INTO identity_account_usage (account_id, updated_at) VALUES
					('fixed', '2024-03-10 20:30:00'),
					('recent', NOW() - INTERVAL '1 hour'),
					('stale', NOW() - INTERVAL '3 hours')`)

			result, err := report.List(ctx, pool, report.Filter{}, defaults)
			accounts := result.Accounts
			if err != nil {
				t.Fatal(err)
			}
			want := time.Date(2024, 3, 10, 6, 30, 0, 0, time.UTC)
			if len(accounts) != 3 || !accounts[0].UpdatedAt.Time.Equal(want) {
				t.Fatalf("List = %+v, want fixed first with updated_at %s", accounts, want)
			}
			var out strings.Builder
			if err := report.Write(&out, report.FormatCSV, accounts[:1], report.Columns{}); err != nil {
				t.Fatal(err)
			}
			if !strings.HasSuffix(out.String(), ",2024-03-10T06:30:00Z\n") {
				t.Errorf("CSV = %q, want updated_at 2024-03-10T06:30:00Z", out.String())
			}

			recentResult, err := report.List(ctx, pool, report.Filter{Since: 2 * time.Hour}, defaults)
			recent := recentResult.Accounts
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(recent); !slices.Equal(got, []string{"recent"}) {
				t.Errorf("since 2h = %v, want [recent]", got)
			}
		})
	}
}

// newReaderURL creates a login role that may read the usage and quota tables but not
// identity_account, and returns the database URL for it. The role is dropped when the test ends.
func newReaderURL(t *testing.T, pool *pgxpool.Pool, databaseURL string) string {
	t.Helper()
	u, err := url.Parse(databaseURL)
	if err != nil {
		t.Fatal(err)
	}
	role := "reader_" + strings.TrimPrefix(strings.TrimPrefix(u.Path, "/"), "quota_test_")
	identifier := pgx.Identifier{role}.Sanitize()
	execAll(t, pool, "CREATE ROLE "+identifier+" LOGIN",
		"GRANT SELECT ON identity_account_usage, identity_account_quota TO "+identifier)
	t.Cleanup(func() {
		ctx := context.Background()
		for _, sql := range []string{"DROP OWNED BY " + identifier, "DROP ROLE " + identifier} {
			if _, err := pool.Exec(ctx, sql); err != nil {
				t.Logf("%s: %v", sql, err)
			}
		}
	})
	u.User = url.User(role)
	return u.String()
}

func TestListWithUnreadableAccountTable(t *testing.T) {
	t.Parallel()
	pool, databaseURL := pgtest.NewPool(t)
	execAll(t, pool, createAccountTable,
		`INSERT INTO identity_account VALUES ('alice', '{"email": "alice@example.org"}')`,
		`INSERT INTO identity_account_usage (account_id) VALUES ('alice')`,
		`INSERT INTO identity_account_quota (account_id, storage_limit_bytes) VALUES ('alice', 5)`)
	ctx := context.Background()
	reader, err := database.Connect(ctx, newReaderURL(t, pool, databaseURL))
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()

	result, err := report.List(ctx, reader, report.Filter{}, defaults)
	if err != nil {
		t.Fatalf("List without SELECT on identity_account: %v", err)
	}
	if !result.EmailsOmitted {
		t.Error("EmailsOmitted = false, want true")
	}
	if len(result.Accounts) != 1 || result.Accounts[0].Email != nil {
		t.Fatalf("List = %+v, want alice without an e-mail", result.Accounts)
	}
	if got := result.Accounts[0].StorageLimit; got != (report.Limit{Value: 5, Source: report.SourceCustom}) {
		t.Errorf("storage limit = %+v, want the custom 5", got)
	}

	// A column grant is enough for the e-mails.
	role := pgx.Identifier{reader.Config().ConnConfig.User}.Sanitize()
	execAll(t, pool, "GRANT SELECT (id, payload) ON identity_account TO "+role)
	result, err = report.List(ctx, reader, report.Filter{}, defaults)
	if err != nil {
		t.Fatalf("List with SELECT (id, payload) on identity_account: %v", err)
	}
	if result.EmailsOmitted || len(result.Accounts) != 1 || emailOf(result.Accounts[0]) != "alice@example.org" {
		t.Errorf("List after the column grant = %+v, omitted %t; want alice@example.org", result.Accounts,
			result.EmailsOmitted)
	}

	// An unreadable quota table fails the report instead of showing default limits.
	execAll(t, pool, "REVOKE SELECT ON identity_account_quota FROM "+role)
	if _, err := report.List(ctx, reader, report.Filter{}, defaults); err == nil ||
		!strings.Contains(err.Error(), "permission denied") {
		t.Errorf("List without SELECT on identity_account_quota: error = %v, want permission denied", err)
	}
}
