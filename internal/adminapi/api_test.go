package adminapi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestGetAccountWithoutRows(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOptions{})

	q := f.request(http.MethodGet, "/api/quota/acct-001", "").quota(t)
	if q.AccountID != "acct-001" {
		t.Errorf("accountId = %q, want acct-001", q.AccountID)
	}
	if q.Quota.StorageLimitBytes != testDefaults.StorageLimitBytes {
		t.Errorf("storageLimitBytes = %d, want the default %d", q.Quota.StorageLimitBytes, testDefaults.StorageLimitBytes)
	}
	if q.Quota.BandwidthLimitBps != testDefaults.BandwidthLimitBps {
		t.Errorf("bandwidthLimitBps = %d, want the default %d", q.Quota.BandwidthLimitBps, testDefaults.BandwidthLimitBps)
	}
	if q.Source != SourceDefault {
		t.Errorf("source = %q, want default", q.Source)
	}
	if q.Sources != (QuotaSources{SourceDefault, SourceDefault}) {
		t.Errorf("sources = %+v, want default for both", q.Sources)
	}
	if q.ManagedBy != nil {
		t.Errorf("managedBy = %+v, want null", q.ManagedBy)
	}
	if q.Usage.StorageBytes != 0 || q.Usage.IngressBytes != 0 || q.Usage.EgressBytes != 0 {
		t.Errorf("usage = %+v, want zeros", q.Usage)
	}
	if q.Usage.UpdatedAt != nil {
		t.Errorf("usage.updatedAt = %v, want null", q.Usage.UpdatedAt)
	}
	if _, exists := f.row("acct-001"); exists {
		t.Error("GET created a quota row")
	}
}

func TestGetAccountShowsUsage(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOptions{})
	updated := time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)
	f.exec(`INSERT INTO identity_account_usage (account_id, storage_bytes, ingress_bytes, egress_bytes, updated_at)
		VALUES ('acct-001', 1048576, 2097152, 5242880, $1)`, updated)
	f.exec(`INSERT INTO identity_account_usage (account_id, storage_bytes, ingress_bytes, egress_bytes)
		VALUES ('acct-null', NULL, NULL, NULL)`)

	q := f.request(http.MethodGet, "/api/quota/acct-001", "").quota(t)
	if q.Usage.StorageBytes != 1048576 {
		t.Errorf("usage.storageBytes = %d, want 1048576", q.Usage.StorageBytes)
	}
	if q.Usage.IngressBytes != 2097152 {
		t.Errorf("usage.ingressBytes = %d, want 2097152", q.Usage.IngressBytes)
	}
	if q.Usage.EgressBytes != 5242880 {
		t.Errorf("usage.egressBytes = %d, want 5242880", q.Usage.EgressBytes)
	}
	if q.Usage.UpdatedAt == nil || !q.Usage.UpdatedAt.Equal(updated) {
		t.Errorf("usage.updatedAt = %v, want %v", q.Usage.UpdatedAt, updated)
	}

	nulls := f.request(http.MethodGet, "/api/quota/acct-null", "").quota(t)
	if nulls.Usage.StorageBytes != 0 || nulls.Usage.IngressBytes != 0 || nulls.Usage.EgressBytes != 0 {
		t.Errorf("usage with NULL columns = %+v, want zeros", nulls.Usage)
	}
}

func TestPutSetsResetsAndKeepsFields(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOptions{})
	const path = "/api/quota/acct-001"

	steps := []struct {
		name          string
		body          string
		wantStorage   *int64 // the column, where nil is NULL
		wantBandwidth *int64
		wantSource    string
		wantSources   QuotaSources
	}{
		{
			name: "set storage only", body: `{"storageLimitBytes": 21474836480}`,
			wantStorage: ptr(21474836480), wantBandwidth: nil,
			wantSource: SourceCustom, wantSources: QuotaSources{SourceCustom, SourceDefault},
		},
		{
			name: "set bandwidth, storage kept", body: `{"bandwidthLimitBps": 0}`,
			wantStorage: ptr(21474836480), wantBandwidth: ptr(0),
			wantSource: SourceCustom, wantSources: QuotaSources{SourceCustom, SourceCustom},
		},
		{
			name: "null resets storage, bandwidth kept", body: `{"storageLimitBytes": null}`,
			wantStorage: nil, wantBandwidth: ptr(0),
			wantSource: SourceCustom, wantSources: QuotaSources{SourceDefault, SourceCustom},
		},
		{
			name: "set both", body: `{"storageLimitBytes": 0, "bandwidthLimitBps": 1048576}`,
			wantStorage: ptr(0), wantBandwidth: ptr(1048576),
			wantSource: SourceCustom, wantSources: QuotaSources{SourceCustom, SourceCustom},
		},
		{
			name: "reset both", body: `{"storageLimitBytes": null, "bandwidthLimitBps": null}`,
			wantStorage: nil, wantBandwidth: nil,
			wantSource: SourceDefault, wantSources: QuotaSources{SourceDefault, SourceDefault},
		},
	}
	for _, step := range steps {
		q := f.request(http.MethodPut, path, step.body).quota(t)
		row, exists := f.row("acct-001")
		if !exists {
			t.Fatalf("%s: no quota row after PUT", step.name)
		}
		if formatLimit(row.StorageLimitBytes) != formatLimit(step.wantStorage) {
			t.Errorf("%s: storage_limit_bytes = %s, want %s", step.name, formatLimit(row.StorageLimitBytes),
				formatLimit(step.wantStorage))
		}
		if formatLimit(row.BandwidthLimitBps) != formatLimit(step.wantBandwidth) {
			t.Errorf("%s: bandwidth_limit_bps = %s, want %s", step.name, formatLimit(row.BandwidthLimitBps),
				formatLimit(step.wantBandwidth))
		}
		wantQuota := QuotaLimits{StorageLimitBytes: testDefaults.StorageLimitBytes,
			BandwidthLimitBps: testDefaults.BandwidthLimitBps}
		if step.wantStorage != nil {
			wantQuota.StorageLimitBytes = *step.wantStorage
		}
		if step.wantBandwidth != nil {
			wantQuota.BandwidthLimitBps = *step.wantBandwidth
		}
		if q.Quota != wantQuota {
			t.Errorf("%s: quota = %+v, want %+v", step.name, q.Quota, wantQuota)
		}
		if q.Source != step.wantSource {
			t.Errorf("%s: source = %q, want %q", step.name, q.Source, step.wantSource)
		}
		if q.Sources != step.wantSources {
			t.Errorf("%s: sources = %+v, want %+v", step.name, q.Sources, step.wantSources)
		}
		got := f.request(http.MethodGet, path, "").quota(t)
		if got.Quota != q.Quota || got.Sources != q.Sources {
			t.Errorf("%s: GET after PUT = %+v, PUT returned %+v", step.name, got, q)
		}
	}
}

func TestPutUnchangedKeepsUpdatedAt(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOptions{})
	f.request(http.MethodPut, "/api/quota/acct-001", `{"storageLimitBytes": 5}`).quota(t)
	before, _ := f.row("acct-001")

	f.request(http.MethodPut, "/api/quota/acct-001", `{"storageLimitBytes": 5}`).quota(t)
	after, _ := f.row("acct-001")
	if !after.UpdatedAt.Equal(before.UpdatedAt) {
		t.Errorf("updated_at moved from %v to %v on a PUT that changed nothing", before.UpdatedAt, after.UpdatedAt)
	}
}

func TestPutEmptyObjectCreatesNoRow(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOptions{})
	q := f.request(http.MethodPut, "/api/quota/acct-001", `{}`).quota(t)
	if q.Source != SourceDefault {
		t.Errorf("source = %q, want default", q.Source)
	}
	if _, exists := f.row("acct-001"); exists {
		t.Error("PUT {} created a quota row")
	}
}

func TestPutMaxInt64RoundTrip(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOptions{})
	const maxText = "9223372036854775807"
	res := f.request(http.MethodPut, "/api/quota/acct-max",
		`{"storageLimitBytes": `+maxText+`, "bandwidthLimitBps": `+maxText+`}`)
	if res.status != http.StatusOK {
		t.Fatalf("PUT status = %d: %s", res.status, res.body)
	}
	// The body must carry the exact digits, not a float64 rendering such as 9.223372036854776e18.
	if got := strings.Count(string(res.body), `":`+maxText); got != 2 {
		t.Errorf("PUT body has %d exact 2^63-1 values, want 2: %s", got, res.body)
	}
	row, _ := f.row("acct-max")
	if row.StorageLimitBytes == nil || *row.StorageLimitBytes != maxLimit {
		t.Errorf("storage_limit_bytes = %s, want %s", formatLimit(row.StorageLimitBytes), maxText)
	}
	if row.BandwidthLimitBps == nil || *row.BandwidthLimitBps != maxLimit {
		t.Errorf("bandwidth_limit_bps = %s, want %s", formatLimit(row.BandwidthLimitBps), maxText)
	}

	get := f.request(http.MethodGet, "/api/quota/acct-max", "")
	// json.Number keeps the literal digits, so the check does not go through float64.
	var body struct {
		Quota map[string]json.Number `json:"quota"`
	}
	if err := json.Unmarshal(get.body, &body); err != nil {
		t.Fatalf("decode GET body: %v: %s", err, get.body)
	}
	if got := body.Quota["storageLimitBytes"].String(); got != maxText {
		t.Errorf("GET storageLimitBytes = %s, want %s", got, maxText)
	}
	if got := body.Quota["bandwidthLimitBps"].String(); got != maxText {
		t.Errorf("GET bandwidthLimitBps = %s, want %s", got, maxText)
	}
}

func TestPutAcceptsWholeExponentForms(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOptions{})
	cases := []struct {
		literal string
		want    int64
	}{
		{"1e3", 1000},
		{"1.5e1", 15},
		{"2E+9", 2_000_000_000},
		{"100.0", 100},
		{"0.0e5", 0},
		{"-0", 0},
		{"9.223372036854775807e18", maxLimit},
	}
	for _, c := range cases {
		q := f.request(http.MethodPut, "/api/quota/acct-exp", `{"storageLimitBytes": `+c.literal+`}`).quota(t)
		if q.Quota.StorageLimitBytes != c.want {
			t.Errorf("storageLimitBytes %s stored as %d, want %d", c.literal, q.Quota.StorageLimitBytes, c.want)
		}
	}
}

// TestPutRejectsInvalidLimits covers negative, fractional, malformed and overflowing limits: each
// is a 400 that names the field, never a 500, and nothing is written.
func TestPutRejectsInvalidLimits(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOptions{})
	cases := []struct {
		body        string
		wantField   string
		wantProblem string
	}{
		{`{"storageLimitBytes": -1}`, "storageLimitBytes", "negative"},
		{`{"bandwidthLimitBps": -100}`, "bandwidthLimitBps", "negative"},
		{`{"storageLimitBytes": 1.5}`, "storageLimitBytes", "not a whole number"},
		{`{"storageLimitBytes": 1e-1}`, "storageLimitBytes", "not a whole number"},
		{`{"storageLimitBytes": 1.5e0}`, "storageLimitBytes", "not a whole number"},
		{`{"storageLimitBytes": 0.0000001}`, "storageLimitBytes", "not a whole number"},
		{`{"storageLimitBytes": "10Gx"}`, "storageLimitBytes", "string"},
		{`{"storageLimitBytes": "10Gi"}`, "storageLimitBytes", "string"},
		{`{"bandwidthLimitBps": "1048576"}`, "bandwidthLimitBps", "string"},
		{`{"storageLimitBytes": 9223372036854775808}`, "storageLimitBytes", "larger than"},
		{`{"bandwidthLimitBps": 18446744073709551616}`, "bandwidthLimitBps", "larger than"},
		{`{"storageLimitBytes": 1e19}`, "storageLimitBytes", "larger than"},
		{`{"storageLimitBytes": 1e999999999}`, "storageLimitBytes", "larger than"},
		{`{"storageLimitBytes": 1e-999999999}`, "storageLimitBytes", "not a whole number"},
		{`{"storageLimitBytes": true}`, "storageLimitBytes", "boolean"},
		{`{"storageLimitBytes": {"value": 1}}`, "storageLimitBytes", "object"},
		{`{"bandwidthLimitBps": [1]}`, "bandwidthLimitBps", "array"},
	}
	for _, c := range cases {
		res := f.request(http.MethodPut, "/api/quota/acct-bad", c.body)
		if res.status != http.StatusBadRequest {
			t.Errorf("%s: status = %d, want 400: %s", c.body, res.status, res.body)
			continue
		}
		e := res.errorBody(t)
		if e.Error != CodeInvalidField {
			t.Errorf("%s: error = %q, want %q", c.body, e.Error, CodeInvalidField)
		}
		if !strings.Contains(e.Message, c.wantField) {
			t.Errorf("%s: message %q does not name %s", c.body, e.Message, c.wantField)
		}
		if !strings.Contains(e.Message, c.wantProblem) {
			t.Errorf("%s: message %q does not say %q", c.body, e.Message, c.wantProblem)
		}
	}
	if _, exists := f.row("acct-bad"); exists {
		t.Error("a rejected PUT created a quota row")
	}
}

func TestDeleteResetsToDefaultsIdempotently(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOptions{})
	f.request(http.MethodPut, "/api/quota/acct-001", `{"storageLimitBytes": 1, "bandwidthLimitBps": 2}`).quota(t)

	for i := range 2 {
		q := f.request(http.MethodDelete, "/api/quota/acct-001", "").quota(t)
		if q.Source != SourceDefault {
			t.Errorf("DELETE %d: source = %q, want default", i+1, q.Source)
		}
		wantQuota := QuotaLimits{testDefaults.StorageLimitBytes, testDefaults.BandwidthLimitBps}
		if q.Quota != wantQuota {
			t.Errorf("DELETE %d: quota = %+v, want the defaults %+v", i+1, q.Quota, wantQuota)
		}
		if _, exists := f.row("acct-001"); exists {
			t.Errorf("DELETE %d: the quota row still exists", i+1)
		}
	}
}

func TestListPagesThroughQuotas(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOptions{})
	ids := []string{"acct-e", "acct-a", "acct-c", "acct-b", "acct-d"}
	for i, id := range ids {
		f.exec(`INSERT INTO identity_account_quota (account_id, storage_limit_bytes) VALUES ($1, $2)`, id, i)
	}

	var seen []string
	var pages []int
	cursor := ""
	for range 10 {
		path := "/api/quota?limit=2"
		if cursor != "" {
			path += "&cursor=" + url.QueryEscape(cursor)
		}
		res := f.request(http.MethodGet, path, "")
		if res.status != http.StatusOK {
			t.Fatalf("GET %s status = %d: %s", path, res.status, res.body)
		}
		var page ListResponse
		if err := json.Unmarshal(res.body, &page); err != nil {
			t.Fatalf("decode page: %v", err)
		}
		pages = append(pages, len(page.Items))
		for _, item := range page.Items {
			seen = append(seen, item.AccountID)
			if item.Source != SourceCustom {
				t.Errorf("%s: source = %q, want custom", item.AccountID, item.Source)
			}
		}
		if page.NextCursor == nil {
			break
		}
		cursor = *page.NextCursor
		if strings.Contains(cursor, "acct") {
			t.Errorf("cursor %q shows the account id in clear; it should be opaque", cursor)
		}
	}
	if got, want := strings.Join(seen, ","), "acct-a,acct-b,acct-c,acct-d,acct-e"; got != want {
		t.Errorf("listed %s, want %s", got, want)
	}
	if got, want := len(pages), 3; got != want {
		t.Errorf("pages = %v, want 3 pages of 2, 2 and 1", pages)
	}
}

func TestListDefaultPageAndEmptyTable(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOptions{})
	res := f.request(http.MethodGet, "/api/quota", "")
	if res.status != http.StatusOK {
		t.Fatalf("status = %d: %s", res.status, res.body)
	}
	if got, want := strings.TrimSpace(string(res.body)), `{"items":[],"nextCursor":null}`; got != want {
		t.Errorf("body = %s, want %s", got, want)
	}
}

// TestSQLInAccountID sends account ids that carry SQL. They fail the account id rule, so the
// response is 400 before any statement, and every table and row stays.
func TestSQLInAccountID(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOptions{})
	f.exec(`INSERT INTO identity_account_quota (account_id, storage_limit_bytes) VALUES ('acct-001', 42)`)
	f.exec(`INSERT INTO identity_account_usage (account_id, storage_bytes) VALUES ('acct-001', 7)`)

	ids := []string{
		"acct-001'; DELETE FROM identity_account_quota;--",
		"acct-001'; DROP TABLE identity_account_usage;--",
		"acct-001' OR '1'='1",
		`acct-001"; TRUNCATE identity_account_quota; --`,
	}
	for _, id := range ids {
		path := "/api/quota/" + url.PathEscape(id)
		for _, method := range []string{http.MethodGet, http.MethodPut, http.MethodDelete} {
			before := f.queries.n.Load()
			res := f.request(method, path, `{"storageLimitBytes": 1}`)
			if res.status != http.StatusBadRequest {
				t.Errorf("%s %s: status = %d, want 400", method, path, res.status)
				continue
			}
			if e := res.errorBody(t); e.Error != CodeInvalidAccountID {
				t.Errorf("%s %s: error = %q, want %q", method, path, e.Error, CodeInvalidAccountID)
			}
			if n := f.queries.n.Load() - before; n != 0 {
				t.Errorf("%s %s: %d statements ran for an invalid account id", method, path, n)
			}
		}
	}

	row, exists := f.row("acct-001")
	if !exists || row.StorageLimitBytes == nil || *row.StorageLimitBytes != 42 {
		t.Errorf("quota row of acct-001 = %+v (exists %t), want storage 42", row, exists)
	}
	var usageRows, quotaRows int
	if err := f.db.QueryRow(context.Background(), `SELECT count(*) FROM identity_account_usage`).Scan(&usageRows); err != nil {
		t.Fatalf("count usage rows: %v", err)
	}
	if err := f.db.QueryRow(context.Background(), `SELECT count(*) FROM identity_account_quota`).Scan(&quotaRows); err != nil {
		t.Fatalf("count quota rows: %v", err)
	}
	if usageRows != 1 {
		t.Errorf("identity_account_usage has %d rows, want 1", usageRows)
	}
	if quotaRows != 1 {
		t.Errorf("identity_account_quota has %d rows, want 1", quotaRows)
	}
}

func TestDatabaseUnavailable(t *testing.T) {
	t.Parallel()
	// Port 1 on the loopback address refuses connections.
	f := newFixture(t, fixtureOptions{databaseURL: "postgres://postgres@127.0.0.1:1/postgres?sslmode=disable"})
	for _, c := range []struct{ method, path, body string }{
		{http.MethodGet, "/api/quota/acct-001", ""},
		{http.MethodPut, "/api/quota/acct-001", `{"storageLimitBytes": 1}`},
		{http.MethodDelete, "/api/quota/acct-001", ""},
		{http.MethodGet, "/api/quota", ""},
	} {
		res := f.request(c.method, c.path, c.body)
		if res.status != http.StatusServiceUnavailable {
			t.Errorf("%s %s: status = %d, want 503: %s", c.method, c.path, res.status, res.body)
			continue
		}
		if e := res.errorBody(t); e.Error != CodeDatabaseUnavailable {
			t.Errorf("%s %s: error = %q, want %q", c.method, c.path, e.Error, CodeDatabaseUnavailable)
		}
		if res.header.Get("Retry-After") == "" {
			t.Errorf("%s %s: no Retry-After header", c.method, c.path)
		}
		if strings.Contains(string(res.body), "127.0.0.1:1") {
			t.Errorf("%s %s: body shows the database address: %s", c.method, c.path, res.body)
		}
	}
}
