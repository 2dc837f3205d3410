package adminapi

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/jackc/pgx/v5/pgxpool"

	"xpod.dev/quota-operator/internal/database"
	"xpod.dev/quota-operator/internal/testutil/pgtest"
)

// FuzzHandler sends arbitrary methods, paths, content types and bodies, with and without the
// admin token, to the handler over a real database. Whatever the input, the response is one of
// the documented statuses with a JSON body, never a 5xx or a stack trace. No statement runs
// without the token, and the row of an account that an AccountQuota manages never changes.
//
// The seed corpus runs in plain go test. To fuzz:
//
//	go test ./internal/adminapi -run '^$' -fuzz '^FuzzHandler$' -fuzztime 30s
func FuzzHandler(f *testing.F) {
	seeds := []struct {
		method, target, contentType string
		auth                        bool
		body                        string
	}{
		{"GET", "/api/quota/acct-001", "", true, ""},
		{"HEAD", "/api/quota/acct-001", "", true, ""},
		{"PUT", "/api/quota/acct-001", "application/json", true, `{"storageLimitBytes": 1073741824}`},
		{"PUT", "/api/quota/acct-001", "application/json", true, `{"storageLimitBytes": null, "bandwidthLimitBps": 0}`},
		{"PUT", "/api/quota/acct-001", "application/json", true, `{"storageLimitBytes": 9223372036854775807}`},
		{"PUT", "/api/quota/acct-001", "application/json", true, `{"storageLimitBytes": 9223372036854775808}`},
		{"PUT", "/api/quota/acct-001", "application/json", true, `{"storageLimitBytes": -1}`},
		{"PUT", "/api/quota/acct-001", "application/json", true, `{"storageLimitBytes": 1.5}`},
		{"PUT", "/api/quota/acct-001", "application/json", true, `{"storageLimitBytes": 1.5e1}`},
		{"PUT", "/api/quota/acct-001", "application/json", true, `{"storageLimitBytes": "10Gx"}`},
		{"PUT", "/api/quota/acct-001", "application/json", true, `{"storageLimitBytes": 1, "storageLimitBytes": 2}`},
		{"PUT", "/api/quota/acct-001", "application/json", true, `{"x": [[[[[[[[[[1]]]]]]]]]]}`},
		{"PUT", "/api/quota/acct-001", "application/json", true, `{"storageLimitBytes": 1} {}`},
		{"PUT", "/api/quota/acct-001", "application/json; charset=utf-8", true, `{}`},
		{"PUT", "/api/quota/acct-001", "text/plain", true, `{}`},
		{"PUT", "/api/quota/acct-managed", "application/json", true, `{"storageLimitBytes": 1}`},
		{"DELETE", "/api/quota/acct-managed", "", true, ""},
		{"DELETE", "/api/quota/acct-001", "", true, ""},
		{"GET", "/api/quota?limit=2", "", true, ""},
		{"GET", "/api/quota?limit=2&cursor=djE6YWNjdC0wMDE", "", true, ""},
		{"GET", "/api/quota?cursor=%00", "", true, ""},
		{"GET", "/api/openapi.json", "", true, ""},
		{"POST", "/api/quota/acct-001", "application/json", true, `{}`},
		{"GET", "/api/quota/..%2F..%2Fetc", "", true, ""},
		{"GET", "/api/quota//acct-001", "", true, ""},
		{"GET", "/api/quota/acct-001'%3B%20DELETE%20FROM%20identity_account_quota%3B--", "", true, ""},
		{"PUT", "/api/quota/acct-001", "application/json", false, `{"storageLimitBytes": 1}`},
		{"DELETE", "/api/quota/acct-managed", "", false, ""},
	}
	for _, s := range seeds {
		f.Add(s.method, s.target, s.contentType, s.auth, []byte(s.body))
	}

	db, dbURL := pgtest.NewPool(f)
	queries := &queryCounter{}
	handler := newFuzzHandler(f, dbURL, queries)
	managed := `INSERT INTO identity_account_quota (account_id, storage_limit_bytes, bandwidth_limit_bps)
		VALUES ('acct-managed', 123, 456)`
	if _, err := db.Exec(context.Background(), managed); err != nil {
		f.Fatalf("insert the managed row: %v", err)
	}

	f.Fuzz(func(t *testing.T, method, target, contentType string, auth bool, body []byte) {
		req, err := http.NewRequest(method, "http://127.0.0.1"+target, bytes.NewReader(body))
		if err != nil || !strings.HasPrefix(target, "/") {
			return // Not a request that an HTTP server would pass to a handler.
		}
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		if auth {
			req.Header.Set("Authorization", "Bearer "+testToken)
		}

		before := queries.n.Load()
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		checkFuzzResponse(t, method, target, auth, rec)
		if !auth && queries.n.Load() != before {
			t.Errorf("%s %s without the token ran %d statements", method, target, queries.n.Load()-before)
		}

		row, err := database.GetQuota(context.Background(), db, "acct-managed")
		if err != nil {
			t.Fatalf("read the managed row: %v", err)
		}
		if formatLimit(row.StorageLimitBytes) != "123" || formatLimit(row.BandwidthLimitBps) != "456" {
			t.Fatalf("%s %s changed the managed row to %s, %s", method, target, formatLimit(row.StorageLimitBytes),
				formatLimit(row.BandwidthLimitBps))
		}
	})
}

func newFuzzHandler(f *testing.F, dbURL string, queries *queryCounter) http.Handler {
	cfg, err := pgxpool.ParseConfig(dbURL)
	if err != nil {
		f.Fatalf("parse database URL: %v", err)
	}
	cfg.ConnConfig.Tracer = queries
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		f.Fatalf("create pool: %v", err)
	}
	f.Cleanup(pool.Close)

	tokenPath := filepath.Join(f.TempDir(), "token")
	if err := os.WriteFile(tokenPath, []byte(testToken), 0o600); err != nil {
		f.Fatalf("write token: %v", err)
	}
	handler, err := NewHandler(Options{
		Pool:           pool,
		Defaults:       testDefaults,
		Owners:         staticOwners{"acct-managed": {Namespace: "tenants", Name: "managed"}},
		Tokens:         NewTokenFile(tokenPath, time.Hour, logr.Discard()),
		Logger:         logr.Discard(),
		RequestTimeout: 10 * time.Second,
	})
	if err != nil {
		f.Fatalf("create handler: %v", err)
	}
	return handler
}

// fuzzStatuses are the statuses the handler may return while the database is up.
var fuzzStatuses = map[int]bool{200: true, 400: true, 401: true, 404: true, 405: true, 409: true, 413: true, 415: true}

func checkFuzzResponse(t *testing.T, method, target string, auth bool, rec *httptest.ResponseRecorder) {
	t.Helper()
	status, body := rec.Code, rec.Body.Bytes()
	if !fuzzStatuses[status] {
		t.Fatalf("%s %s: status %d is not a documented client answer: %s", method, target, status, body)
	}
	if !auth && status != http.StatusUnauthorized {
		t.Fatalf("%s %s without the token: status %d, want 401", method, target, status)
	}
	if !json.Valid(body) {
		t.Fatalf("%s %s: body is not JSON: %q", method, target, body)
	}
	if strings.Contains(string(body), "goroutine ") || strings.Contains(string(body), "panic") {
		t.Fatalf("%s %s: body looks like a stack trace: %s", method, target, body)
	}
	if status == http.StatusMethodNotAllowed && rec.Header().Get("Allow") == "" {
		t.Fatalf("%s %s: 405 without an Allow header", method, target)
	}
	if status == http.StatusOK {
		return
	}
	var e errorBody
	if err := json.Unmarshal(body, &e); err != nil || e.Error == "" || e.Message == "" {
		t.Fatalf("%s %s: status %d body is not an error object: %s", method, target, status, body)
	}
}
