package solid

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/valyala/fasthttp"

	"xpod.dev/quota-operator/internal/database"
	"xpod.dev/quota-operator/internal/enforcer"
	"xpod.dev/quota-operator/internal/enforcer/limits"
	"xpod.dev/quota-operator/internal/enforcer/resolve"
	"xpod.dev/quota-operator/internal/testutil/pgtest"
	"xpod.dev/quota-operator/internal/testutil/solidtest"
)

const (
	kib = 1 << 10
	mib = 1 << 20

	// flushInterval and refreshInterval are shorter than the enforcer's defaults (1 s each) so
	// that the tests wait less for usage rows and limit changes.
	flushInterval   = 100 * time.Millisecond
	refreshInterval = 100 * time.Millisecond
	// usageTimeout bounds the wait for the usage rows to reach the expected figures.
	usageTimeout = 10 * time.Second
)

var (
	// css is started on first use with the front listener's URL as its base URL, so the Host
	// header that clients send to the enforcer is the one CSS expects.
	css   solidtest.Shared
	front frontServer
)

func TestMain(m *testing.M) {
	if err := front.start(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	css.Options = solidtest.Options{BaseURL: front.url}
	code := m.Run()
	front.stop()
	css.Stop()
	os.Exit(code)
}

// frontServer is the listener in front of CSS. CSS needs its base URL before it starts, and one
// CSS serves every test of the package, so the listener lives as long as the package. Each test
// installs an enforcer of its own, with a database of its own, as the listener's handler.
type frontServer struct {
	url     string
	server  *fasthttp.Server
	handler atomic.Pointer[enforcer.Server]
}

func (f *frontServer) start() error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("listen on 127.0.0.1 for the enforcer: %w", err)
	}
	f.url = "http://" + ln.Addr().String() + "/"
	f.server = enforcer.NewHTTPServer(f, time.Minute)
	go func() { _ = f.server.Serve(ln) }()
	return nil
}

func (f *frontServer) stop() {
	if f.server != nil {
		_ = f.server.Shutdown()
	}
}

func (f *frontServer) Handle(ctx *fasthttp.RequestCtx) {
	srv := f.handler.Load()
	if srv == nil {
		ctx.Error("Service unavailable: no enforcer is installed, because no test is running.", http.StatusServiceUnavailable)
		return
	}
	srv.Handle(ctx)
}

func (f *frontServer) Expect(ctx *fasthttp.RequestCtx) int {
	srv := f.handler.Load()
	if srv == nil {
		return http.StatusServiceUnavailable
	}
	return srv.Expect(ctx)
}

func (f *frontServer) RejectMalformed(ctx *fasthttp.RequestCtx, err error) {
	if srv := f.handler.Load(); srv != nil {
		srv.RejectMalformed(ctx, err)
		return
	}
	ctx.Error("Bad request.", http.StatusBadRequest)
}

// transfer is the ingress and egress that a test expects for one pod.
type transfer struct {
	ingress int64
	egress  int64
}

// env is an enforcer with a database of its own in front of the shared CSS.
type env struct {
	t      *testing.T
	css    *solidtest.Server
	pool   *pgxpool.Pool
	proxy  *enforcer.Server
	client *http.Client
	logs   *syncBuffer

	mu        sync.Mutex
	transfers map[string]*transfer
}

func newEnv(t *testing.T) *env {
	t.Helper()
	server := css.Server(t)
	pool, _ := pgtest.NewPool(t)
	upstream, err := url.Parse("http://" + server.Addr)
	if err != nil {
		t.Fatalf("parse the CSS address %q: %v", server.Addr, err)
	}
	resolver, err := resolve.New("path", resolve.Options{ExcludedSegments: []string{"idp"}})
	if err != nil {
		t.Fatalf("create the path resolver: %v", err)
	}

	e := &env{t: t, css: server, pool: pool, logs: &syncBuffer{}, transfers: map[string]*transfer{}}
	cfg := enforcer.Config{
		Upstream: upstream,
		Resolver: resolver,
		// Tests that need a bandwidth limit set it in a quota row.
		Defaults:              limits.Defaults{StorageBytes: 10 << 30, BandwidthBps: 0},
		Enforce:               true,
		FlushInterval:         flushInterval,
		LimitsRefreshInterval: refreshInterval,
		StallTimeout:          10 * time.Second,
	}
	logger := slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e.proxy, err = enforcer.New(cfg, pool, logger)
	if err != nil {
		t.Fatalf("create the enforcer: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	e.proxy.Start(ctx)
	front.handler.Store(e.proxy)
	t.Cleanup(func() { front.handler.Store(nil) })

	transport := &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 16}
	e.client = &http.Client{
		Transport: transport,
		Timeout:   60 * time.Second,
		// Location headers are read by the tests, so redirects are not followed.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	t.Cleanup(transport.CloseIdleConnections)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("enforcer log:\n%s", e.logs.String())
		}
	})
	return e
}

// createPod seeds a pod on CSS with a unique name. Its account in the enforcer is the pod name,
// because the path resolver runs without an account map.
func (e *env) createPod() solidtest.Pod {
	e.t.Helper()
	return e.css.CreatePod(e.t, "")
}

// setQuota writes the account's quota row. nil leaves a limit NULL, so the default applies.
func (e *env) setQuota(account string, storageBytes, bandwidthBps *int64) {
	e.t.Helper()
	quota := database.Quota{AccountID: account, StorageLimitBytes: storageBytes, BandwidthLimitBps: bandwidthBps}
	if _, err := database.UpsertQuota(context.Background(), e.pool, quota); err != nil {
		e.t.Fatalf("set the quota of account %s: %v", account, err)
	}
}

func ptr(v int64) *int64 { return &v }

// response is a response with its whole body read.
type response struct {
	status int
	header http.Header
	body   []byte
}

// do sends a request with body through the enforcer, reads the whole response and adds both
// bodies to the pod's expected transfer. header contains name and value pairs. For a request that
// the enforcer rejects before reading its body, the caller subtracts the body with count.
func (e *env) do(pod solidtest.Pod, method, ref string, body []byte, header ...string) response {
	e.t.Helper()
	resp, err := e.try(pod, method, ref, body, header...)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp
}

// try is do for goroutines other than the test's own. It returns the error instead of ending
// the test.
func (e *env) try(pod solidtest.Pod, method, ref string, body []byte, header ...string) (response, error) {
	var reader io.Reader
	if body != nil {
		reader = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(e.t.Context(), method, pod.URL(ref), reader)
	if err != nil {
		return response{}, fmt.Errorf("build %s %s: %w", method, ref, err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := e.send(pod, req)
	if err != nil {
		return response{}, fmt.Errorf("%s %s failed: %w", method, pod.URL(ref), err)
	}
	e.count(pod, int64(len(body)), 0)
	return resp, nil
}

// send sends req through the enforcer and adds the response body it read to the pod's expected
// egress. The caller accounts for the request body.
func (e *env) send(pod solidtest.Pod, req *http.Request) (response, error) {
	resp, err := e.client.Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	e.count(pod, 0, int64(len(body)))
	if err != nil {
		return response{}, fmt.Errorf("read the response body after %d bytes: %w", len(body), err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: body}, nil
}

// count adds body bytes to the pod's expected ingress and egress.
func (e *env) count(pod solidtest.Pod, ingress, egress int64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	tr, ok := e.transfers[pod.Name]
	if !ok {
		tr = &transfer{}
		e.transfers[pod.Name] = tr
	}
	tr.ingress += ingress
	tr.egress += egress
}

func (e *env) expectedTransfer(pod solidtest.Pod) transfer {
	e.mu.Lock()
	defer e.mu.Unlock()
	if tr, ok := e.transfers[pod.Name]; ok {
		return *tr
	}
	return transfer{}
}

// usageRow is a row of identity_pod_usage or identity_account_usage. found is false when the
// row does not exist yet.
type usageRow struct {
	storage int64
	ingress int64
	egress  int64
	found   bool
}

func (e *env) podUsage(podID string) usageRow {
	e.t.Helper()
	return e.readUsage(`SELECT storage_bytes, ingress_bytes, egress_bytes FROM identity_pod_usage WHERE pod_id = $1`,
		podID)
}

func (e *env) accountUsage(accountID string) usageRow {
	e.t.Helper()
	return e.readUsage(`SELECT storage_bytes, ingress_bytes, egress_bytes FROM identity_account_usage
		WHERE account_id = $1`, accountID)
}

func (e *env) readUsage(query, id string) usageRow {
	e.t.Helper()
	row := usageRow{found: true}
	err := e.pool.QueryRow(context.Background(), query, id).Scan(&row.storage, &row.ingress, &row.egress)
	if errors.Is(err, pgx.ErrNoRows) {
		return usageRow{}
	}
	if err != nil {
		e.t.Fatalf("read the usage row of %s: %v", id, err)
	}
	return row
}

// baseline measures the pod's documents and ACLs. Call it right after CreatePod, before any
// write through the enforcer.
//
// NOTE: the .meta descriptions that CSS 7.2 generates for every resource are left out, because
// the enforcer records only the resources that clients write. A .meta that a client patches
// would count, but these tests write none.
func (e *env) baseline(pod solidtest.Pod) int64 {
	e.t.Helper()
	return pod.Storage(e.t).Sum(solidtest.Document, solidtest.ACL)
}

// storedBytes returns what the pod's documents and ACLs take on CSS beyond base.
func (e *env) storedBytes(pod solidtest.Pod, base int64) int64 {
	e.t.Helper()
	return e.baseline(pod) - base
}

// checkUsage measures the pod on CSS and waits until the pod's usage row and its account's row
// (the account has this pod only) contain exactly that storage and the expected ingress and
// egress. It returns the storage.
func (e *env) checkUsage(pod solidtest.Pod, base int64) int64 {
	e.t.Helper()
	storage := e.storedBytes(pod, base)
	tr := e.expectedTransfer(pod)
	want := usageRow{storage: storage, ingress: tr.ingress, egress: tr.egress, found: true}

	var gotPod, gotAccount usageRow
	deadline := time.Now().Add(usageTimeout)
	for {
		gotPod, gotAccount = e.podUsage(pod.Name), e.accountUsage(pod.Name)
		if gotPod.equals(want) && gotAccount.equals(want) {
			return storage
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(flushInterval / 2)
	}
	if !gotPod.equals(want) {
		e.t.Errorf("identity_pod_usage of pod %s = %s, expected %s; CSS stores:\n%s",
			pod.Name, gotPod, want, pod.Storage(e.t))
	}
	if !gotAccount.equals(want) {
		e.t.Errorf("identity_account_usage of account %s = %s, expected %s", pod.Name, gotAccount, want)
	}
	return storage
}

// equals compares the figures. A missing row equals all zeros, because the enforcer writes a row
// only once it has metered something.
func (u usageRow) equals(other usageRow) bool {
	return u.storage == other.storage && u.ingress == other.ingress && u.egress == other.egress
}

func (u usageRow) String() string {
	if !u.found {
		return "no row"
	}
	return fmt.Sprintf("storage %d, ingress %d, egress %d bytes", u.storage, u.ingress, u.egress)
}

// checkAbsent checks straight on CSS that nothing is stored at ref.
func (e *env) checkAbsent(pod solidtest.Pod, ref string) {
	e.t.Helper()
	resp, err := pod.Client().Get(pod.URL(ref))
	if err != nil {
		e.t.Fatalf("GET %s on CSS failed: %v", pod.URL(ref), err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		e.t.Errorf("GET %s on CSS returned %s, expected 404 Not Found: the rejected upload was stored",
			pod.URL(ref), resp.Status)
	}
}

// checkNoNegativeCounters checks every usage row of the database.
func (e *env) checkNoNegativeCounters() {
	e.t.Helper()
	for _, table := range []string{"identity_pod_usage", "identity_account_usage"} {
		var negative int
		query := `SELECT count(*) FROM ` + table + ` WHERE storage_bytes < 0 OR ingress_bytes < 0 OR egress_bytes < 0`
		if err := e.pool.QueryRow(context.Background(), query).Scan(&negative); err != nil {
			e.t.Fatalf("count negative counters in %s: %v", table, err)
		}
		if negative != 0 {
			e.t.Errorf("%s has %d rows with a negative counter", table, negative)
		}
	}
}

// syncBuffer collects the enforcer's log for failure messages.
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
	return strings.TrimSpace(b.buf.String())
}
