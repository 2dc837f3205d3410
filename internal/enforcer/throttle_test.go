package enforcer

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"math/rand"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"golang.org/x/net/netutil"
)

// download reads path through the enforcer on a connection of its own until EOF or ctx ends and
// returns the bytes read.
func download(ctx context.Context, t *testing.T, e *testEnv, path string) int64 {
	req, _ := http.NewRequestWithContext(ctx, "GET", e.front.URL+path, nil)
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Do(req)
	if err != nil {
		if ctx.Err() == nil {
			t.Errorf("GET %s: %v", path, err)
		}
		return 0
	}
	defer func() { _ = resp.Body.Close() }()
	n, _ := io.Copy(io.Discard, resp.Body)
	return n
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.New(rand.NewSource(int64(n))).Read(b)
	return b
}

func TestThrottleSharedAcrossConnections(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.setQuota("pod-slow", nil, ptr(mib))
	e.upstream.Put("/pod-slow/file", make([]byte, 16*mib))
	e.upstream.Put("/pod-fast/file", make([]byte, 16*mib))

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var total atomic.Int64
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			total.Add(download(ctx, t, e, "/pod-slow/file"))
		}()
	}
	// An account without a bandwidth limit downloads in full while the other one is throttled.
	fastDone := make(chan int64, 1)
	go func() { fastDone <- download(ctx, t, e, "/pod-fast/file") }()
	select {
	case n := <-fastDone:
		if n != 16*mib {
			t.Errorf("unthrottled account read %d bytes, want %d", n, 16*mib)
		}
	case <-ctx.Done():
		t.Errorf("the unthrottled account's download did not finish while the other account was throttled")
	}
	wg.Wait()

	burst := int64(burstBytes(mib))
	if got := total.Load(); got > 10*mib+burst+64*kib {
		t.Errorf("8 connections received %d bytes in 10 s at 1 MiB/s, want at most about %d", got, 10*mib+burst)
	}
	if got := total.Load(); got < 9*mib {
		t.Errorf("8 connections received only %d bytes in 10 s at 1 MiB/s", got)
	}
}

func TestThrottleAccuracy(t *testing.T) {
	t.Parallel()
	for _, conns := range []int{1, 16} {
		t.Run(fmt.Sprintf("%d connections", conns), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			const limit = 2 * mib
			e.setQuota("pod-a", nil, ptr(limit))
			e.upstream.Put("/pod-a/file", make([]byte, 32*mib))

			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			var total atomic.Int64
			var wg sync.WaitGroup
			for range conns {
				wg.Add(1)
				go func() {
					defer wg.Done()
					total.Add(download(ctx, t, e, "/pod-a/file"))
				}()
			}
			wg.Wait()
			ratio := float64(total.Load()) / float64(10*limit)
			if ratio < 0.95 || ratio > 1.05 {
				t.Errorf("received %.1f%% of the limit over 10 s, want 95-105%%", ratio*100)
			}
		})
	}
}

func TestThrottleUploads(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.setQuota("pod-a", nil, ptr(mib))
	start := time.Now()
	if status, _ := e.do("PUT", "/pod-a/upload", make([]byte, 3*mib)); status != http.StatusCreated {
		t.Fatalf("status %d", status)
	}
	// A full bucket lets the first tenth of a second through at once.
	if elapsed := time.Since(start); elapsed < 2500*time.Millisecond {
		t.Errorf("a 3 MiB upload at 1 MiB/s took %s, want about 3 s", elapsed)
	}
	if waited := testutil.ToFloat64(e.srv.metrics.throttledSeconds.WithLabelValues("upload")); waited < 2 {
		t.Errorf("throttled upload time = %.1f s, want about 3 s", waited)
	}
}

func TestThrottleZeroMeansUnthrottled(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.Defaults.BandwidthBps = 64 * kib })
	e.setQuota("pod-a", nil, ptr(0))
	e.upstream.Put("/pod-a/file", make([]byte, 10*mib))

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if n := download(ctx, t, e, "/pod-a/file"); n != 10*mib {
		t.Fatalf("read %d bytes, want %d", n, 10*mib)
	}
	if waited := testutil.ToFloat64(e.srv.metrics.throttledSeconds.WithLabelValues("download")); waited != 0 {
		t.Errorf("a download with bandwidth limit 0 waited %.2f s for tokens, want 0", waited)
	}
	if status, _ := e.do("PUT", "/pod-a/up", make([]byte, 5*mib)); status != http.StatusCreated {
		t.Errorf("upload: status %d", status)
	}
	if waited := testutil.ToFloat64(e.srv.metrics.throttledSeconds.WithLabelValues("upload")); waited != 0 {
		t.Errorf("an upload with bandwidth limit 0 waited %.2f s for tokens, want 0", waited)
	}
}

func TestLongThrottledDownloadIntact(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.StallTimeout = 3 * time.Second })
	e.setQuota("pod-a", nil, ptr(100*kib))
	content := randomBytes(5 * mib)
	e.upstream.Put("/pod-a/big", content)

	resp, err := e.front.Client().Get(e.front.URL + "/pod-a/big")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("throttled download failed after %d bytes: %v", len(got), err)
	}
	if len(got) != len(content) || sha256.Sum256(got) != sha256.Sum256(content) {
		t.Errorf("download of %d bytes differs from the %d stored", len(got), len(content))
	}
	e.flush()
	if egress := e.podUsage("pod-a").egress; egress != int64(len(content)) {
		t.Errorf("egress = %d, want %d", egress, len(content))
	}
}

func TestSlowReaderDownloadIntact(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.StallTimeout = 2 * time.Second })
	content := randomBytes(2 * mib)
	e.upstream.Put("/pod-a/big", content)

	resp, err := e.front.Client().Get(e.front.URL + "/pod-a/big")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	var got bytes.Buffer
	buf := make([]byte, 32*kib)
	for {
		n, err := resp.Body.Read(buf)
		got.Write(buf[:n])
		if err != nil {
			break
		}
		time.Sleep(100 * time.Millisecond) // about 320 KiB/s, pauses well below the stall timeout
	}
	if sha256.Sum256(got.Bytes()) != sha256.Sum256(content) {
		t.Errorf("slow read returned %d bytes that differ from the %d stored", got.Len(), len(content))
	}
}

func TestStalledReaderDisconnected(t *testing.T) {
	t.Parallel()
	e := newEnvWith(t, envOptions{
		cfg:      func(c *Config) { c.StallTimeout = time.Second },
		listener: func(l net.Listener) net.Listener { return netutil.LimitListener(l, 1) },
	})
	e.upstream.Put("/pod-a/big", make([]byte, 64*mib))

	conn, err := net.Dial("tcp", e.addr())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	_ = conn.(*net.TCPConn).SetReadBuffer(4 * kib)
	_, _ = io.WriteString(conn, "GET /pod-a/big HTTP/1.1\r\nHost: a\r\n\r\n")

	// The only connection slot is held by the client that stopped reading, so this request
	// waits until the stall timeout frees it.
	start := time.Now()
	second := make(chan int, 1)
	go func() {
		client := &http.Client{Timeout: 30 * time.Second}
		resp, err := client.Get(e.front.URL + "/pod-a/missing")
		if err != nil {
			second <- 0
			return
		}
		_ = resp.Body.Close()
		second <- resp.StatusCode
	}()
	select {
	case status := <-second:
		if status != http.StatusNotFound {
			t.Errorf("request after the stalled one: status %d, want 404", status)
		}
		t.Logf("slot freed after %s", time.Since(start))
	case <-time.After(30 * time.Second):
		t.Fatal("the stalled client's connection slot was not freed")
	}
}

func burstBytes(bps int64) int { return int(min(max(bps/10, 4*kib), 4*mib)) }
