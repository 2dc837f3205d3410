package adminapi

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"xpod.dev/quota-operator/internal/database"
	"xpod.dev/quota-operator/internal/testutil/kubetest"
	"xpod.dev/quota-operator/internal/testutil/pgtest"
)

// kube is the package's API server. It starts with the first test that needs it, not in
// TestMain, so that fuzzing workers (which run TestMain again in every worker process) do not
// each start an API server.
var (
	kubeOnce sync.Once
	kube     *kubetest.Env
	kubeErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if kube != nil {
		if err := kube.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "stop API server:", err)
		}
	}
	os.Exit(code)
}

// startKube returns the package's API server, starting it on first use.
func startKube(t testing.TB) *kubetest.Env {
	t.Helper()
	kubeOnce.Do(func() { kube, kubeErr = kubetest.Start() })
	if kubeErr != nil {
		t.Fatalf("start API server: %v", kubeErr)
	}
	return kube
}

const testToken = "s3cr3t-admin-token-0123456789abcdef"

var testDefaults = Defaults{StorageLimitBytes: 10 << 30, BandwidthLimitBps: 10 << 20}

// staticOwners is an OwnerLookup backed by a map, for tests that do not need the API server.
type staticOwners map[string]*Owner

func (s staticOwners) Owner(_ context.Context, accountID string) (*Owner, error) {
	return s[accountID], nil
}

// queryCounter counts the statements sent through a pool.
type queryCounter struct{ n atomic.Int64 }

func (c *queryCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	c.n.Add(1)
	return ctx
}

func (c *queryCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// logRecorder keeps the JSON log lines written through its logger.
type logRecorder struct {
	mu    sync.Mutex
	lines []map[string]any
}

func (l *logRecorder) logger() logr.Logger {
	return funcr.NewJSON(func(obj string) {
		var line map[string]any
		if err := json.Unmarshal([]byte(obj), &line); err != nil {
			panic(fmt.Sprintf("log line is not JSON: %s", obj))
		}
		l.mu.Lock()
		defer l.mu.Unlock()
		l.lines = append(l.lines, line)
	}, funcr.Options{Verbosity: 1})
}

func (l *logRecorder) all() []map[string]any {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]map[string]any(nil), l.lines...)
}

// withMessage returns the lines whose message starts with prefix.
func (l *logRecorder) withMessage(prefix string) []map[string]any {
	l.mu.Lock()
	defer l.mu.Unlock()
	var found []map[string]any
	for _, line := range l.lines {
		if msg, _ := line["msg"].(string); strings.HasPrefix(msg, prefix) {
			found = append(found, line)
		}
	}
	return found
}

// fixture is one test's API: its own database, a token file and an HTTP server on 127.0.0.1.
type fixture struct {
	t         *testing.T
	db        *pgxpool.Pool // direct pool for setup and assertions
	queries   *queryCounter // statements sent by the API's pool
	tokenPath string
	tokens    *TokenFile
	logs      *logRecorder
	server    *httptest.Server
}

type fixtureOptions struct {
	owners OwnerLookup
	// token is written to the token file, and noTokenFile leaves the file missing.
	token       string
	noTokenFile bool
	// databaseURL replaces the test database, for example with an unreachable server.
	databaseURL string
}

func newFixture(t *testing.T, opts fixtureOptions) *fixture {
	t.Helper()
	db, dbURL := pgtest.NewPool(t)
	f := &fixture{t: t, db: db, queries: &queryCounter{}, logs: &logRecorder{}}

	apiURL := dbURL
	if opts.databaseURL != "" {
		apiURL = opts.databaseURL
	}
	cfg, err := pgxpool.ParseConfig(apiURL)
	if err != nil {
		t.Fatalf("parse database URL: %v", err)
	}
	cfg.ConnConfig.Tracer = f.queries
	cfg.ConnConfig.ConnectTimeout = 2 * time.Second
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatalf("create API pool: %v", err)
	}
	t.Cleanup(pool.Close)

	f.tokenPath = filepath.Join(t.TempDir(), "token")
	if !opts.noTokenFile {
		token := opts.token
		if token == "" {
			token = testToken + "\n"
		}
		f.writeToken(token)
	}
	f.tokens = NewTokenFile(f.tokenPath, time.Hour, f.logs.logger())

	owners := opts.owners
	if owners == nil {
		owners = staticOwners{}
	}
	handler, err := NewHandler(Options{Pool: pool, Defaults: testDefaults, Owners: owners, Tokens: f.tokens,
		Logger: f.logs.logger(), RequestTimeout: 5 * time.Second})
	if err != nil {
		t.Fatalf("create handler: %v", err)
	}
	f.server = httptest.NewServer(handler)
	t.Cleanup(f.server.Close)
	return f
}

func (f *fixture) writeToken(token string) {
	f.t.Helper()
	if err := os.WriteFile(f.tokenPath, []byte(token), 0o600); err != nil {
		f.t.Fatalf("write token file: %v", err)
	}
}

// response is a finished HTTP exchange.
type response struct {
	status int
	header http.Header
	body   []byte
}

// errorBody decodes an error response and checks its form.
func (r response) errorBody(t *testing.T) errorBody {
	t.Helper()
	var e errorBody
	if err := json.Unmarshal(r.body, &e); err != nil {
		t.Fatalf("status %d body is not a JSON error: %v: %s", r.status, err, r.body)
	}
	if e.Error == "" || e.Message == "" {
		t.Fatalf("status %d error body lacks error or message: %s", r.status, r.body)
	}
	return e
}

func (r response) quota(t *testing.T) QuotaResponse {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("status = %d, want 200: %s", r.status, r.body)
	}
	var q QuotaResponse
	dec := json.NewDecoder(strings.NewReader(string(r.body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&q); err != nil {
		t.Fatalf("decode quota response: %v: %s", err, r.body)
	}
	return q
}

// request sends a request with the admin token and a JSON content type on bodies.
func (f *fixture) request(method, path, body string) response {
	f.t.Helper()
	header := http.Header{"Authorization": {"Bearer " + testToken}}
	if body != "" {
		header.Set("Content-Type", "application/json")
	}
	return f.send(method, path, header, strings.NewReader(body))
}

// send sends a request with exactly the given headers. path is sent as it is, without cleaning.
func (f *fixture) send(method, path string, header http.Header, body io.Reader) response {
	f.t.Helper()
	req, err := http.NewRequest(method, f.server.URL+path, body)
	if err != nil {
		f.t.Fatalf("build request %s %s: %v", method, path, err)
	}
	for name, values := range header {
		req.Header[name] = values
	}
	res, err := f.server.Client().Do(req)
	if err != nil {
		f.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer func() { _ = res.Body.Close() }()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		f.t.Fatalf("read response of %s %s: %v", method, path, err)
	}
	return response{status: res.StatusCode, header: res.Header, body: data}
}

// row reads the account's quota row directly.
func (f *fixture) row(accountID string) (database.Quota, bool) {
	f.t.Helper()
	q, err := database.GetQuota(context.Background(), f.db, accountID)
	if err == database.ErrNotFound {
		return q, false
	}
	if err != nil {
		f.t.Fatalf("read quota row of %s: %v", accountID, err)
	}
	return q, true
}

func (f *fixture) exec(sql string, args ...any) {
	f.t.Helper()
	if _, err := f.db.Exec(context.Background(), sql, args...); err != nil {
		f.t.Fatalf("exec %q: %v", sql, err)
	}
}

func ptr(v int64) *int64 { return &v }

func formatLimit(v *int64) string {
	if v == nil {
		return "NULL"
	}
	return fmt.Sprint(*v)
}
