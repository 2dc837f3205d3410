package enforcer

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/valyala/fasthttp"

	"xpod.dev/quota-operator/internal/database"
	"xpod.dev/quota-operator/internal/enforcer/ldptest"
	"xpod.dev/quota-operator/internal/enforcer/limits"
	"xpod.dev/quota-operator/internal/enforcer/resolve"
	"xpod.dev/quota-operator/internal/testutil/pgtest"
)

// testEnv is an enforcer in front of an in-memory LDP server, with a database of its own.
type testEnv struct {
	t        *testing.T
	pool     *pgxpool.Pool
	upstream *ldptest.Server
	srv      *Server
	front    *frontServer
	// serverLog collects the enforcer's warnings and errors, where handler panics would appear.
	serverLog *syncBuffer
}

type envOptions struct {
	cfg      func(*Config)
	pool     *pgxpool.Pool
	upstream http.Handler
	// upstreamIdleTimeout closes the upstream's idle keep-alive connections after this long.
	upstreamIdleTimeout time.Duration
	listener            func(net.Listener) net.Listener
}

func newEnv(t *testing.T, configure ...func(*Config)) *testEnv {
	t.Helper()
	o := envOptions{}
	if len(configure) > 0 {
		o.cfg = configure[0]
	}
	return newEnvWith(t, o)
}

func newEnvWith(t *testing.T, o envOptions) *testEnv {
	t.Helper()
	pool := o.pool
	if pool == nil {
		pool, _ = pgtest.NewPool(t)
	}
	e := &testEnv{t: t, pool: pool, serverLog: &syncBuffer{}}
	upstreamURL := ""
	if o.upstream != nil {
		up := httptest.NewUnstartedServer(o.upstream)
		up.Config.IdleTimeout = o.upstreamIdleTimeout
		up.Start()
		t.Cleanup(up.Close)
		upstreamURL = up.URL
	} else {
		e.upstream = ldptest.Start(t)
		upstreamURL = e.upstream.URL
	}
	u, _ := url.Parse(upstreamURL)
	res, err := resolve.New("path", resolve.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{
		Upstream:              u,
		Resolver:              res,
		Defaults:              limits.Defaults{StorageBytes: 10 << 30, BandwidthBps: 0},
		Enforce:               true,
		FlushInterval:         200 * time.Millisecond,
		LimitsRefreshInterval: 200 * time.Millisecond,
		StallTimeout:          5 * time.Second,
	}
	if o.cfg != nil {
		o.cfg(&cfg)
	}
	e.srv, err = New(cfg, pool, testLogger(e.serverLog))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	e.srv.Start(ctx)

	e.front = startFront(t, e.srv, o.listener)
	return e
}

// frontServer is the enforcer's HTTP server on a listener of its own.
type frontServer struct {
	URL      string
	Listener net.Listener
	server   *fasthttp.Server
	client   *http.Client
}

func startFront(t *testing.T, srv *Server, wrap func(net.Listener) net.Listener) *frontServer {
	t.Helper()
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := raw
	if wrap != nil {
		ln = wrap(ln)
	}
	f := &frontServer{
		URL:      "http://" + raw.Addr().String(),
		Listener: ln,
		server:   NewHTTPServer(srv, time.Minute),
		client:   &http.Client{Transport: &http.Transport{DisableCompression: true}},
	}
	go func() { _ = f.server.Serve(ln) }()
	t.Cleanup(func() {
		f.client.CloseIdleConnections()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = f.server.ShutdownWithContext(ctx)
	})
	return f
}

func (f *frontServer) Client() *http.Client { return f.client }

// testLogger writes warnings and errors to log, and everything to stderr when ENFORCER_TEST_LOG
// is set.
func testLogger(log io.Writer) *slog.Logger {
	if os.Getenv("ENFORCER_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(io.MultiWriter(os.Stderr, log), &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

func ptr(v int64) *int64 { return &v }

// setQuota writes a quota row and reloads the cached limits.
func (e *testEnv) setQuota(account string, storage, bandwidth *int64) {
	e.t.Helper()
	ctx := context.Background()
	_, err := database.UpsertQuota(ctx, e.pool, database.Quota{AccountID: account, StorageLimitBytes: storage,
		BandwidthLimitBps: bandwidth})
	if err != nil {
		e.t.Fatalf("set quota: %v", err)
	}
	if err := e.srv.limits.Refresh(ctx); err != nil {
		e.t.Fatalf("refresh limits: %v", err)
	}
}

func (e *testEnv) flush() {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := e.srv.ledger.Flush(ctx); err != nil {
		e.t.Fatalf("flush usage: %v", err)
	}
}

type usageRow struct{ storage, ingress, egress int64 }

func (e *testEnv) podUsage(pod string) usageRow {
	e.t.Helper()
	var u usageRow
	err := e.pool.QueryRow(context.Background(), `SELECT COALESCE(storage_bytes,0), COALESCE(ingress_bytes,0),
		COALESCE(egress_bytes,0) FROM identity_pod_usage WHERE pod_id = $1`, pod).Scan(&u.storage, &u.ingress, &u.egress)
	if err != nil && !strings.Contains(err.Error(), "no rows") {
		e.t.Fatalf("read usage of pod %s: %v", pod, err)
	}
	return u
}

func (e *testEnv) accountUsage(account string) usageRow {
	e.t.Helper()
	var u usageRow
	err := e.pool.QueryRow(context.Background(), `SELECT COALESCE(storage_bytes,0), COALESCE(ingress_bytes,0),
		COALESCE(egress_bytes,0) FROM identity_account_usage WHERE account_id = $1`, account).
		Scan(&u.storage, &u.ingress, &u.egress)
	if err != nil && !strings.Contains(err.Error(), "no rows") {
		e.t.Fatalf("read usage of account %s: %v", account, err)
	}
	return u
}

// checkStorage flushes and checks that the pod's storage_bytes equals what the upstream holds.
func (e *testEnv) checkStorage(pod string) int64 {
	e.t.Helper()
	e.flush()
	want := e.upstream.StoredBytes("/" + pod + "/")
	got := e.podUsage(pod).storage
	if got != want {
		e.t.Errorf("storage_bytes of pod %s = %d, upstream holds %d bytes (%v)", pod, got, want,
			e.upstream.Keys("/"+pod+"/"))
	}
	if got < 0 {
		e.t.Errorf("storage_bytes of pod %s is negative: %d", pod, got)
	}
	return got
}

// do sends a request through the enforcer and returns the status and the response body.
func (e *testEnv) do(method, path string, body []byte, header ...string) (int, string) {
	e.t.Helper()
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, e.front.URL+path, r)
	if err != nil {
		e.t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := e.front.Client().Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer func() { _ = resp.Body.Close() }()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(data)
}

// rawExchange sends raw bytes on a new connection and returns the first response's status and
// body. A concurrent writer keeps sending body while the response is read, as a client that
// streams an upload does. Write errors after the server closes are ignored.
func rawExchange(t *testing.T, addr, head string, body io.Reader) (int, string) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.WriteString(conn, head); err != nil {
		t.Fatal(err)
	}
	if body != nil {
		go func() { _, _ = io.Copy(conn, body) }()
	}
	return readResponse(t, bufio.NewReader(conn))
}

func readResponse(t *testing.T, br *bufio.Reader) (int, string) {
	t.Helper()
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	defer func() { _ = resp.Body.Close() }()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(data)
}

// chunkedBody returns a body of n bytes whose length is hidden from net/http.
type chunkedBody struct{ remaining int }

func (b *chunkedBody) Read(p []byte) (int, error) {
	if b.remaining == 0 {
		return 0, io.EOF
	}
	n := min(len(p), b.remaining)
	for i := range p[:n] {
		p[i] = 'x'
	}
	b.remaining -= n
	return n, nil
}

// chunkedEncoder writes a body in HTTP/1.1 chunked encoding.
func chunkedEncoder(n, chunk int) io.Reader {
	pr, pw := io.Pipe()
	go func() {
		block := bytes.Repeat([]byte("y"), chunk)
		for n > 0 {
			step := min(n, chunk)
			if _, err := fmt.Fprintf(pw, "%x\r\n%s\r\n", step, block[:step]); err != nil {
				return
			}
			n -= step
		}
		_, _ = io.WriteString(pw, "0\r\n\r\n")
		_ = pw.Close()
	}()
	return pr
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (e *testEnv) addr() string { return e.front.Listener.Addr().String() }

func (e *testEnv) checkNoPanic() {
	e.t.Helper()
	if log := e.serverLog.String(); strings.Contains(log, "panic") {
		e.t.Errorf("server log shows a panic:\n%s", log)
	}
}

// eventually polls cond every 50ms until it holds or timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting until %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
