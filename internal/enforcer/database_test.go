package enforcer

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand"
	"net"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"xpod.dev/quota-operator/internal/database"
	"xpod.dev/quota-operator/internal/testutil/pgtest"
	"xpod.dev/quota-operator/internal/testutil/tcpproxy"
)

// proxiedPool returns a pool that reaches a fresh test database through addr's forwarder, and a
// direct pool on the same database for checks.
func proxiedPool(t *testing.T, forward func(target string) string, params string) (*pgxpool.Pool, *pgxpool.Pool) {
	t.Helper()
	direct, dbURL := pgtest.NewPool(t)
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	u.Host = forward(u.Host)
	if params != "" {
		q := u.Query()
		extra, _ := url.ParseQuery(params)
		for k, v := range extra {
			q[k] = v
		}
		u.RawQuery = q.Encode()
	}
	pool, err := database.Connect(context.Background(), u.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool, direct
}

func usageOf(t *testing.T, pool *pgxpool.Pool, pod string) usageRow {
	t.Helper()
	var u usageRow
	_ = pool.QueryRow(context.Background(), `SELECT COALESCE(storage_bytes,0), COALESCE(ingress_bytes,0),
		COALESCE(egress_bytes,0) FROM identity_pod_usage WHERE pod_id = $1`, pod).Scan(&u.storage, &u.ingress, &u.egress)
	return u
}

func TestDatabaseOutageFailOpen(t *testing.T) {
	t.Parallel()
	var proxy *tcpproxy.Proxy
	pool, direct := proxiedPool(t, func(target string) string {
		proxy = tcpproxy.Start(t, target)
		return proxy.Addr()
	}, "")
	e := newEnvWith(t, envOptions{pool: pool, cfg: func(c *Config) { c.MaxFlushBackoff = 500 * time.Millisecond }})
	e.setQuota("pod-a", ptr(mib), nil)
	if status, _ := e.do("PUT", "/pod-a/before", make([]byte, 1000)); status != http.StatusCreated {
		t.Fatalf("PUT before the outage: status %d", status)
	}
	e.flush()

	proxy.Down()
	if status, _ := e.do("PUT", "/pod-a/during", make([]byte, 2000)); status != http.StatusCreated {
		t.Errorf("PUT during the outage (fail-open): status %d, want 201", status)
	}
	if status, _ := e.do("GET", "/pod-a/during", nil); status != http.StatusOK {
		t.Errorf("GET during the outage: status %d, want 200", status)
	}
	status, rejection := e.do("PUT", "/pod-a/huge", make([]byte, 2*mib))
	if status != http.StatusRequestEntityTooLarge {
		t.Errorf("PUT over the cached limit during the outage: status %d, want 413", status)
	}
	if _, err := e.srv.ledger.Flush(context.Background()); err == nil {
		t.Fatalf("flush during the outage succeeded")
	}
	if records, _ := e.srv.ledger.Pending(); records == 0 {
		t.Errorf("no usage is pending after a failed flush")
	}

	proxy.Up()
	eventually(t, 10*time.Second, "the usage reaches the database", func() bool {
		records, _ := e.srv.ledger.Pending()
		return records == 0 && usageOf(t, direct, "pod-a").storage == 3000
	})
	// Egress is the GET's body plus the body of the 413 response.
	want := usageRow{storage: 3000, ingress: 3000, egress: 2000 + int64(len(rejection))}
	if got := usageOf(t, direct, "pod-a"); got != want {
		t.Errorf("usage after the outage = %+v, want %+v", got, want)
	}
}

func TestDatabaseOutageFailClosed(t *testing.T) {
	t.Parallel()
	var proxy *tcpproxy.Proxy
	pool, direct := proxiedPool(t, func(target string) string {
		proxy = tcpproxy.Start(t, target)
		return proxy.Addr()
	}, "")
	e := newEnvWith(t, envOptions{pool: pool, cfg: func(c *Config) { c.FailClosed = true }})
	if status, _ := e.do("PUT", "/pod-a/x", make([]byte, 1000)); status != http.StatusCreated {
		t.Fatalf("PUT before the outage: status %d", status)
	}
	e.flush()

	proxy.Down()
	if status, _ := e.do("PUT", "/pod-a/y", make([]byte, 1000)); status != http.StatusServiceUnavailable {
		t.Errorf("PUT during the outage (fail-closed): status %d, want 503", status)
	}
	if status, _ := e.do("GET", "/pod-a/x", nil); status != http.StatusOK {
		t.Errorf("GET during the outage: status %d, want 200", status)
	}
	if status, _ := e.do("DELETE", "/pod-a/x", nil); status != http.StatusResetContent {
		t.Errorf("DELETE during the outage: status %d, want 205", status)
	}
	proxy.Up()
	eventually(t, 10*time.Second, "the delete reaches the database", func() bool {
		return usageOf(t, direct, "pod-a").storage == 0
	})
	if status, _ := e.do("PUT", "/pod-a/z", make([]byte, 10)); status != http.StatusCreated {
		t.Errorf("PUT after the outage: status %d, want 201", status)
	}
}

// commitCutter forwards PostgreSQL connections and, when armed, closes a connection right after
// forwarding a COMMIT, before the server's reply can travel back.
type commitCutter struct {
	target string
	ln     net.Listener
	armed  atomic.Bool
	cuts   atomic.Int32
}

func startCommitCutter(t *testing.T, target string) *commitCutter {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &commitCutter{target: target, ln: ln}
	t.Cleanup(func() { _ = ln.Close() })
	go c.serve()
	return c
}

func (c *commitCutter) serve() {
	for {
		client, err := c.ln.Accept()
		if err != nil {
			return
		}
		server, err := net.Dial("tcp", c.target)
		if err != nil {
			_ = client.Close()
			continue
		}
		go c.forward(client, server)
	}
}

func (c *commitCutter) forward(client, server net.Conn) {
	var cut atomic.Bool
	var once sync.Once
	closeBoth := func() { once.Do(func() { _ = client.Close(); _ = server.Close() }) }
	go func() {
		buf := make([]byte, 64*kib)
		for {
			n, err := server.Read(buf)
			if n > 0 && !cut.Load() {
				if _, werr := client.Write(buf[:n]); werr != nil && !cut.Load() {
					closeBoth()
					return
				}
			}
			if err != nil {
				closeBoth()
				return
			}
		}
	}()
	defer closeBoth()
	buf := make([]byte, 64*kib)
	for {
		n, err := client.Read(buf)
		if n > 0 {
			if _, werr := server.Write(buf[:n]); werr != nil {
				return
			}
			if bytes.Contains(bytes.ToLower(buf[:n]), []byte("commit")) && c.armed.CompareAndSwap(true, false) {
				// The server gets the COMMIT and its reply is discarded: the client sees its
				// connection drop after COMMIT was sent. The server side stays open long enough
				// for the server to read and execute the COMMIT.
				cut.Store(true)
				c.cuts.Add(1)
				_ = client.Close()
				time.Sleep(time.Second)
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func TestFlushLostCommitReplyNotAppliedTwice(t *testing.T) {
	t.Parallel()
	var cutter *commitCutter
	pool, direct := proxiedPool(t, func(target string) string {
		cutter = startCommitCutter(t, target)
		return cutter.ln.Addr().String()
	}, "")
	e := newEnvWith(t, envOptions{pool: pool, cfg: func(c *Config) { c.FlushInterval = time.Hour }})
	e.upstream.Put("/pod-a/file", make([]byte, 100*kib))
	for range 3 {
		if status, _ := e.do("GET", "/pod-a/file", nil); status != http.StatusOK {
			t.Fatalf("GET: status %d", status)
		}
	}
	if status, _ := e.do("PUT", "/pod-a/new", make([]byte, 50*kib)); status != http.StatusCreated {
		t.Fatalf("PUT: status %d", status)
	}

	cutter.armed.Store(true)
	if _, err := e.srv.ledger.Flush(context.Background()); err == nil {
		t.Fatalf("flush whose COMMIT reply was cut reported success")
	}
	if cutter.cuts.Load() != 1 {
		t.Fatalf("the COMMIT was not cut")
	}
	// The commit reached the server even though its reply did not reach the enforcer.
	eventually(t, 5*time.Second, "the cut flush is committed", func() bool {
		return usageOf(t, direct, "pod-a").egress == 300*kib
	})

	stats, err := e.srv.ledger.Flush(context.Background())
	if err != nil {
		t.Fatalf("retried flush: %v", err)
	}
	if !stats.Duplicate {
		t.Errorf("retried flush was applied again instead of being recognised as a duplicate")
	}
	want := usageRow{storage: 50 * kib, ingress: 50 * kib, egress: 300 * kib}
	if got := usageOf(t, direct, "pod-a"); got != want {
		t.Errorf("usage after the retry = %+v, want %+v", got, want)
	}

	// Later traffic is flushed normally on top.
	if status, _ := e.do("GET", "/pod-a/new", nil); status != http.StatusOK {
		t.Fatalf("GET: status %d", status)
	}
	e.flush()
	want.egress += 50 * kib
	if got := usageOf(t, direct, "pod-a"); got != want {
		t.Errorf("usage after more traffic = %+v, want %+v", got, want)
	}
}

func TestPoolStarvationUnderLoad(t *testing.T) {
	t.Parallel()
	direct, dbURL := pgtest.NewPool(t)
	u, _ := url.Parse(dbURL)
	q := u.Query()
	q.Set("pool_max_conns", "4")
	u.RawQuery = q.Encode()
	pool, err := database.Connect(context.Background(), u.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	e := newEnvWith(t, envOptions{pool: pool, cfg: func(c *Config) { c.DatabaseTimeout = 500 * time.Millisecond }})
	for i := range 50 {
		e.upstream.Put(fmt.Sprintf("/pod-%d/seed", i), make([]byte, kib))
	}

	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 200}}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var requests, failures, fresh atomic.Int64
	var wg sync.WaitGroup
	for worker := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewSource(int64(worker)))
			for ctx.Err() == nil {
				req := mixedRequest(rng, e.front.URL, &fresh)
				resp, err := client.Do(req)
				requests.Add(1)
				if err != nil {
					failures.Add(1)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
			}
		}()
	}
	wg.Wait()
	t.Logf("%d requests, %d transport failures, %d fresh accounts", requests.Load(), failures.Load(), fresh.Load())
	if failures.Load() != 0 {
		t.Errorf("%d of %d requests failed or hung instead of getting a response", failures.Load(), requests.Load())
	}

	e.flush()
	eventually(t, 5*time.Second, "no connection stays acquired", func() bool { return pool.Stat().AcquiredConns() == 0 })
	// The flush loop's own transaction is idle in transaction between its statements for a
	// moment, so only a transaction left idle for seconds counts.
	var idleInTx int
	err = direct.QueryRow(context.Background(), `SELECT count(*) FROM pg_stat_activity
		WHERE datname = current_database() AND state LIKE 'idle in transaction%'
		AND state_change < NOW() - INTERVAL '2 seconds'`).Scan(&idleInTx)
	if err != nil || idleInTx != 0 {
		t.Errorf("%d connections idle in transaction (%v), want 0", idleInTx, err)
	}
	var stored int64
	if err := direct.QueryRow(context.Background(), `SELECT COALESCE(SUM(storage_bytes),0) FROM identity_pod_usage`).
		Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if want := e.upstream.StoredBytes("/") - 50*kib; stored != want {
		t.Errorf("storage of all pods = %d, the upstream holds %d bytes written through the enforcer", stored, want)
	}
}

// mixedRequest returns a request of a mix in which about 20% take error paths.
func mixedRequest(rng *rand.Rand, base string, fresh *atomic.Int64) *http.Request {
	pod := fmt.Sprintf("pod-%d", rng.Intn(50))
	file := fmt.Sprintf("/%s/f-%d", pod, rng.Intn(20))
	var req *http.Request
	switch n := rng.Intn(100); {
	case n < 35:
		req, _ = http.NewRequest("GET", base+"/"+pod+"/seed", nil)
	case n < 50:
		req, _ = http.NewRequest("PUT", base+file, bytes.NewReader(make([]byte, rng.Intn(4*kib))))
	case n < 55:
		// A pod seen for the first time makes the enforcer read its account from the database.
		req, _ = http.NewRequest("PUT", fmt.Sprintf("%s/fresh-%d/x", base, fresh.Add(1)), bytes.NewReader(make([]byte, 100)))
	case n < 65:
		req, _ = http.NewRequest("DELETE", base+file, nil)
	case n < 80:
		req, _ = http.NewRequest("PATCH", base+file, bytes.NewReader([]byte("INSERT DATA { <a> <b> <c> . }")))
		req.Header.Set("Content-Type", "application/sparql-update")
	case n < 85:
		req, _ = http.NewRequest("PUT", base+file, bytes.NewReader(make([]byte, kib)))
		req.Header.Set("X-Test-Status", "500")
	case n < 90:
		req, _ = http.NewRequest("PUT", base+file, bytes.NewReader(make([]byte, kib)))
		req.Header.Set("X-Test-Status", "403")
	case n < 95:
		req, _ = http.NewRequest("GET", base+"/"+pod+"/missing", nil)
	default:
		req, _ = http.NewRequest("GET", base+"/"+pod+"/a%2Fb", nil)
	}
	return req
}
