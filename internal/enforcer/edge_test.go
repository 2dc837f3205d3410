package enforcer

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"golang.org/x/net/netutil"
)

// Protocol edge cases of the proxy: exact forwarding, aborted exchanges, odd requests and
// upgrades.

// dialEnforcer opens a raw connection to the enforcer with a deadline.
func dialEnforcer(t *testing.T, e *testEnv, timeout time.Duration) (net.Conn, *bufio.Reader) {
	t.Helper()
	conn, err := net.Dial("tcp", e.addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(timeout))
	return conn, bufio.NewReader(conn)
}

// readFullResponse reads one response to a request with the method and returns it with its body.
func readFullResponse(t *testing.T, br *bufio.Reader, method string) (*http.Response, string) {
	t.Helper()
	resp, err := http.ReadResponse(br, &http.Request{Method: method})
	if err != nil {
		t.Fatalf("read response to %s: %v", method, err)
	}
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body of response to %s: %v", method, err)
	}
	_ = resp.Body.Close()
	return resp, string(data)
}

func TestEdgeHeadKeepsContentLength(t *testing.T) {
	t.Parallel()
	upstream := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1234")
		w.Header().Set("Content-Type", "text/turtle")
		if r.Method == http.MethodGet {
			_, _ = w.Write(bytes.Repeat([]byte("a"), 1234))
		}
	})
	e := newEnvWith(t, envOptions{upstream: upstream})
	for _, path := range []string{"/pod-a/x", "/favicon.ico"} {
		conn, br := dialEnforcer(t, e, 10*time.Second)
		_, _ = fmt.Fprintf(conn, "HEAD %s HTTP/1.1\r\nHost: a\r\n\r\nGET %s HTTP/1.1\r\nHost: a\r\n\r\n", path, path)
		resp, body := readFullResponse(t, br, http.MethodHead)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("HEAD %s: status %d, want 200", path, resp.StatusCode)
		}
		if got := resp.Header.Get("Content-Length"); got != "1234" {
			t.Errorf("HEAD %s: Content-Length %q, want 1234", path, got)
		}
		if body != "" {
			t.Errorf("HEAD %s: body %q, want none", path, body)
		}
		resp, body = readFullResponse(t, br, http.MethodGet)
		if resp.StatusCode != http.StatusOK || len(body) != 1234 {
			t.Errorf("GET %s after HEAD: status %d, %d bytes; want 200 and 1234", path, resp.StatusCode, len(body))
		}
	}
}

func TestEdgeNoContentAndNotModified(t *testing.T) {
	t.Parallel()
	upstream := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/pod-a/204", "/.well-known/204":
			w.WriteHeader(http.StatusNoContent)
		case "/pod-a/304", "/.well-known/304":
			w.Header().Set("ETag", `"v1"`)
			w.WriteHeader(http.StatusNotModified)
		default:
			_, _ = io.WriteString(w, "after")
		}
	})
	e := newEnvWith(t, envOptions{upstream: upstream})
	for _, path := range []string{"/pod-a/204", "/pod-a/304", "/.well-known/204", "/.well-known/304"} {
		conn, br := dialEnforcer(t, e, 10*time.Second)
		_, _ = fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: a\r\n\r\nGET /pod-a/next HTTP/1.1\r\nHost: a\r\n\r\n", path)
		resp, body := readFullResponse(t, br, http.MethodGet)
		if body != "" {
			t.Errorf("GET %s: body %q, want none", path, body)
		}
		if resp.StatusCode == http.StatusNoContent && len(resp.TransferEncoding) > 0 {
			t.Errorf("GET %s: 204 with Transfer-Encoding %v", path, resp.TransferEncoding)
		}
		if resp.StatusCode == http.StatusNotModified && resp.Header.Get("ETag") != `"v1"` {
			t.Errorf("GET %s: ETag %q, want \"v1\"", path, resp.Header.Get("ETag"))
		}
		resp, body = readFullResponse(t, br, http.MethodGet)
		if resp.StatusCode != http.StatusOK || body != "after" {
			t.Errorf("request after %s: status %d, body %q; want 200 \"after\"", path, resp.StatusCode, body)
		}
	}
}

// closeDelimitedUpstream returns a handler that sends a body of n bytes that has neither Content-Length nor
// chunked encoding, so only the closed connection ends it.
func closeDelimitedUpstream(n int) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, bw, err := w.(http.Hijacker).Hijack()
		if err != nil {
			return
		}
		defer func() { _ = conn.Close() }()
		_, _ = bw.WriteString("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n")
		for i := 0; i < n; i += kib {
			_, _ = bw.Write(bytes.Repeat([]byte{byte('a' + i/kib%26)}, min(kib, n-i)))
		}
		_ = bw.Flush()
	})
}

func TestEdgeCloseDelimitedResponse(t *testing.T) {
	t.Parallel()
	const size = 300 * kib
	e := newEnvWith(t, envOptions{upstream: closeDelimitedUpstream(size)})
	for _, proto := range []string{"HTTP/1.1", "HTTP/1.0"} {
		for _, path := range []string{"/pod-a/x", "/.well-known/x"} {
			conn, br := dialEnforcer(t, e, 20*time.Second)
			_, _ = fmt.Fprintf(conn, "GET %s %s\r\nHost: a\r\n\r\n", path, proto)
			resp, body := readFullResponse(t, br, http.MethodGet)
			if resp.StatusCode != http.StatusOK || len(body) != size {
				t.Errorf("%s %s: status %d, %d bytes; want 200 and %d", proto, path, resp.StatusCode, len(body), size)
				continue
			}
			if body[size-1] != byte('a'+(size-1)/kib%26) {
				t.Errorf("%s %s: last byte %q is wrong", proto, path, body[size-1])
			}
		}
	}
	e.checkNoPanic()
}

func TestEdgeQueryAndEscapedPath(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var seen []string
	upstream := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.RequestURI)
		mu.Unlock()
	})
	e := newEnvWith(t, envOptions{upstream: upstream})
	cases := []struct{ sent, want string }{
		{"/pod-a/a%20b?x=%2F&y=1+2&z", "/pod-a/a%20b?x=%2F&y=1+2&z"},
		{"/pod-a/caf%C3%A9", "/pod-a/caf%C3%A9"},
		{"/pod-a/a+b;c=d", "/pod-a/a+b;c=d"},
		{"/pod-a/%7Euser?q=%26%3D", "/pod-a/%7Euser?q=%26%3D"},
		{"/pod-a/x?a=%zz", "/pod-a/x?a=%zz"},
		{"/pod-a/x?redirect=http://h/p?q#", "/pod-a/x?redirect=http://h/p?q"},
		{"/.well-known/openid-configuration?x=%41", "/.well-known/openid-configuration?x=%41"},
		{"/pod-a/./b/../c%20d?k=v", "/pod-a/c%20d?k=v"},
	}
	for _, c := range cases {
		conn, br := dialEnforcer(t, e, 10*time.Second)
		_, _ = fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: a\r\n\r\n", c.sent)
		resp, _ := readFullResponse(t, br, http.MethodGet)
		mu.Lock()
		got := ""
		if len(seen) > 0 {
			got = seen[len(seen)-1]
		}
		seen = nil
		mu.Unlock()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: status %d, want 200", c.sent, resp.StatusCode)
			continue
		}
		if got != c.want {
			t.Errorf("GET %s: upstream saw %q, want %q", c.sent, got, c.want)
		}
	}
}

func TestEdgeConnectionCloseAndHTTP10(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.upstream.Put("/pod-a/file", []byte("hello"))

	conn, br := dialEnforcer(t, e, 10*time.Second)
	_, _ = io.WriteString(conn, "GET /pod-a/file HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
	resp, body := readFullResponse(t, br, http.MethodGet)
	if body != "hello" || !resp.Close {
		t.Errorf("Connection: close: body %q, close %v; want \"hello\" and a closed connection", body, resp.Close)
	}
	if _, err := br.ReadByte(); err != io.EOF {
		t.Errorf("after Connection: close the enforcer kept the connection open (read error %v)", err)
	}

	conn, br = dialEnforcer(t, e, 10*time.Second)
	_, _ = io.WriteString(conn, "PUT /pod-a/ten HTTP/1.0\r\nHost: a\r\nContent-Length: 3\r\n\r\nabcGET /pod-a/ten HTTP/1.0\r\nHost: a\r\n\r\n")
	resp, _ = readFullResponse(t, br, http.MethodPut)
	if resp.StatusCode != http.StatusCreated {
		t.Errorf("HTTP/1.0 PUT: status %d, want 201", resp.StatusCode)
	}
	if !resp.Close {
		t.Errorf("HTTP/1.0 PUT without keep-alive: connection left open")
	}
	if got, _ := e.upstream.Get("/pod-a/ten"); string(got) != "abc" {
		t.Errorf("upstream stored %q, want \"abc\"", got)
	}
}

func TestEdgePipelinedRequests(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.upstream.Put("/pod-a/one", []byte("first"))
	conn, br := dialEnforcer(t, e, 10*time.Second)
	_, _ = io.WriteString(conn, "GET /pod-a/one HTTP/1.1\r\nHost: a\r\n\r\n"+
		"PUT /pod-a/two HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\n\r\nsecond"+
		"PUT /pod-a/three HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nthird\r\n0\r\n\r\n"+
		"GET /pod-a/two HTTP/1.1\r\nHost: a\r\n\r\n")
	want := []struct {
		method string
		status int
		body   string
	}{{"GET", 200, "first"}, {"PUT", 201, ""}, {"PUT", 201, ""}, {"GET", 200, "second"}}
	for i, w := range want {
		resp, body := readFullResponse(t, br, w.method)
		if resp.StatusCode != w.status || (w.body != "" && body != w.body) {
			t.Errorf("pipelined response %d: status %d, body %q; want %d %q", i, resp.StatusCode, body, w.status, w.body)
		}
	}
	if got, _ := e.upstream.Get("/pod-a/three"); string(got) != "third" {
		t.Errorf("upstream stored %q for the chunked PUT, want \"third\"", got)
	}
}

// reservedBytes returns the storage that uploads in progress hold for the account.
func (e *testEnv) reservedBytes(account string) int64 {
	return e.srv.ledger.Storage(account).ReservedBytes
}

func TestEdgeClientAbortMidUpload(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, framing := range []string{"Content-Length: 1048576", "Transfer-Encoding: chunked"} {
		conn, err := net.Dial("tcp", e.addr())
		if err != nil {
			t.Fatal(err)
		}
		_, _ = fmt.Fprintf(conn, "PUT /pod-a/aborted HTTP/1.1\r\nHost: a\r\n%s\r\n\r\n", framing)
		chunk := bytes.Repeat([]byte("q"), 64*kib)
		if strings.HasPrefix(framing, "Transfer") {
			_, _ = fmt.Fprintf(conn, "%x\r\n%s\r\n", len(chunk), chunk)
		} else {
			_, _ = conn.Write(chunk)
		}
		time.Sleep(200 * time.Millisecond)
		_ = conn.Close()

		eventually(t, 10*time.Second, "the aborted upload's reservation is released", func() bool {
			return e.reservedBytes("pod-a") == 0
		})
		start := time.Now()
		status, _ := e.do("PUT", "/pod-a/aborted", []byte("done"))
		if status != http.StatusCreated && status != http.StatusResetContent {
			t.Errorf("%s: PUT after the aborted upload: status %d", framing, status)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("%s: PUT after the aborted upload took %s: the lock was held", framing, d)
		}
	}
	if got := e.checkStorage("pod-a"); got != 4 {
		t.Errorf("storage = %d, want 4", got)
	}
	e.checkNoPanic()
}

func TestEdgeExpectClientLeavesAfterContinue(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	conn, br := dialEnforcer(t, e, 10*time.Second)
	_, _ = io.WriteString(conn, "PUT /pod-a/x HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 100000\r\n\r\n")
	line, _ := br.ReadString('\n')
	if !strings.HasPrefix(line, "HTTP/1.1 100") {
		t.Fatalf("first line %q, want 100 Continue", line)
	}
	_ = conn.Close()
	eventually(t, 10*time.Second, "the reservation is released", func() bool { return e.reservedBytes("pod-a") == 0 })
	start := time.Now()
	if status, _ := e.do("PUT", "/pod-a/x", []byte("ok")); status != http.StatusCreated {
		t.Errorf("PUT after the abandoned Expect: status %d, want 201", status)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("PUT after the abandoned Expect took %s: the lock was held", d)
	}
}

func TestEdgeExpectForwardedUpstream(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	conn, br := dialEnforcer(t, e, 10*time.Second)
	_, _ = io.WriteString(conn, "PUT /pod-a/e HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n")
	line, _ := br.ReadString('\n')
	if !strings.HasPrefix(line, "HTTP/1.1 100") {
		t.Fatalf("first line %q, want 100 Continue", line)
	}
	_, _ = br.ReadString('\n')
	_, _ = io.WriteString(conn, "hello")
	resp, _ := readFullResponse(t, br, http.MethodPut)
	if resp.StatusCode != http.StatusCreated {
		t.Errorf("status %d, want 201", resp.StatusCode)
	}
	// The next response on the same connection must not be a stray 100 Continue.
	_, _ = io.WriteString(conn, "GET /pod-a/e HTTP/1.1\r\nHost: a\r\n\r\n")
	resp, body := readFullResponse(t, br, http.MethodGet)
	if resp.StatusCode != http.StatusOK || body != "hello" {
		t.Errorf("GET after Expect: status %d, body %q; want 200 \"hello\"", resp.StatusCode, body)
	}
}

func TestEdgeUpgradeRefusedByUpstream(t *testing.T) {
	t.Parallel()
	upstream := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Reason", "no-ws")
		http.Error(w, "websocket refused", http.StatusForbidden)
	})
	e := newEnvWith(t, envOptions{upstream: upstream})
	for _, path := range []string{"/pod-a/ws", "/.well-known/ws"} {
		conn, br := dialEnforcer(t, e, 10*time.Second)
		_, _ = fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"+
			"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n", path)
		resp, body := readFullResponse(t, br, http.MethodGet)
		if resp.StatusCode != http.StatusForbidden || strings.TrimSpace(body) != "websocket refused" {
			t.Errorf("%s: status %d, body %q; want 403 \"websocket refused\"", path, resp.StatusCode, body)
		}
		if resp.Header.Get("X-Reason") != "no-ws" {
			t.Errorf("%s: X-Reason %q, want no-ws", path, resp.Header.Get("X-Reason"))
		}
	}
	requests := e.srv.metrics.requests.WithLabelValues("GET", "403", "in_pod")
	eventually(t, 5*time.Second, "the refused upgrade in the pod is counted", func() bool {
		return testutil.ToFloat64(requests) == 1
	})
}

func TestEdgePutWithStrayUpgradeHeader(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.StallTimeout = 3 * time.Second })
	start := time.Now()
	status, body := e.do("PUT", "/pod-a/h2c", []byte("0123456789"), "Upgrade", "h2c",
		"Connection", "Upgrade, HTTP2-Settings", "HTTP2-Settings", "AAMAAABkAARAAAAAAAIAAAAA")
	if status != http.StatusCreated {
		t.Errorf("PUT with Upgrade: h2c: status %d (%q) after %s, want 201", status, strings.TrimSpace(body),
			time.Since(start))
	}
	if got, _ := e.upstream.Get("/pod-a/h2c"); string(got) != "0123456789" {
		t.Errorf("upstream stored %q, want the 10-byte body", got)
	}
	if got := e.checkStorage("pod-a"); got != 10 {
		t.Errorf("storage = %d, want 10", got)
	}
}

func TestEdgeOutsidePodStreaming(t *testing.T) {
	t.Parallel()
	var received int64
	var mu sync.Mutex
	upstream := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut {
			n, _ := io.Copy(io.Discard, r.Body)
			mu.Lock()
			received = n
			mu.Unlock()
			w.WriteHeader(http.StatusNoContent)
			return
		}
		for range 2 * kib {
			_, _ = w.Write(bytes.Repeat([]byte("o"), kib))
		}
	})
	e := newEnvWith(t, envOptions{upstream: upstream})

	status, body := e.do("GET", "/.well-known/big", nil)
	if status != http.StatusOK || len(body) != 2*mib {
		t.Errorf("GET outside pods: status %d, %d bytes; want 200 and %d", status, len(body), 2*mib)
	}

	req, _ := http.NewRequest("PUT", e.front.URL+"/", &chunkedBody{remaining: 3 * mib})
	req.ContentLength = -1
	resp, err := e.front.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	mu.Lock()
	defer mu.Unlock()
	if resp.StatusCode != http.StatusNoContent || received != 3*mib {
		t.Errorf("chunked PUT /: status %d, upstream received %d; want 204 and %d", resp.StatusCode, received, 3*mib)
	}
}

func TestEdgeLargeResponseHeader(t *testing.T) {
	t.Parallel()
	upstream := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		size := 20 * kib
		if r.URL.Path == "/pod-a/huge" {
			size = 40 * kib
		}
		w.Header().Set("Link", strings.Repeat("l", size))
		_, _ = io.WriteString(w, "body")
	})
	e := newEnvWith(t, envOptions{upstream: upstream})
	status, body := e.do("GET", "/pod-a/large", nil)
	if status != http.StatusOK || body != "body" {
		t.Errorf("20 KiB header: status %d, body %q; want 200 \"body\"", status, body)
	}
	status, _ = e.do("GET", "/pod-a/huge", nil)
	if status != http.StatusOK && status != http.StatusBadGateway {
		t.Errorf("40 KiB header: status %d, want 200 or 502", status)
	}
	t.Logf("40 KiB response header: status %d", status)
	e.checkNoPanic()
}

func TestEdgeResponseHeadersExact(t *testing.T) {
	t.Parallel()
	upstream := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h["Content-Type"] = nil // No Content-Type, and no sniffing by net/http.
		h.Add("Set-Cookie", "a=1; Path=/; HttpOnly; Priority=High")
		h.Add("Set-Cookie", "b=2; Max-Age=60; SameSite=Lax; Partitioned; Secure")
		h.Add("Link", `<a>; rel="x"`)
		h.Add("Link", `<b>; rel="y"`)
		h.Set("WAC-Allow", `user="read write",public="read"`)
		_, _ = io.WriteString(w, "data")
	})
	e := newEnvWith(t, envOptions{upstream: upstream})
	resp, err := e.front.Client().Get(e.front.URL + "/pod-a/x")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if ct, ok := resp.Header["Content-Type"]; ok {
		t.Errorf("Content-Type %q added to a response that had none", ct)
	}
	cookies := resp.Header.Values("Set-Cookie")
	want := []string{"a=1; Path=/; HttpOnly; Priority=High", "b=2; Max-Age=60; SameSite=Lax; Partitioned; Secure"}
	if strings.Join(cookies, "\n") != strings.Join(want, "\n") {
		t.Errorf("Set-Cookie %q, want %q", cookies, want)
	}
	if links := resp.Header.Values("Link"); len(links) != 2 {
		t.Errorf("Link %q, want two values", links)
	}
}

func TestEdgeRequestCookieExact(t *testing.T) {
	t.Parallel()
	var got []string
	var mu sync.Mutex
	upstream := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = r.Header.Values("Cookie")
		mu.Unlock()
	})
	e := newEnvWith(t, envOptions{upstream: upstream})
	const cookie = `session="abc def"; flag; theme=dark;x=1`
	conn, br := dialEnforcer(t, e, 10*time.Second)
	_, _ = fmt.Fprintf(conn, "GET /pod-a/x HTTP/1.1\r\nHost: a\r\nCookie: %s\r\n\r\n", cookie)
	readFullResponse(t, br, http.MethodGet)
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(got, "; ") != cookie {
		t.Errorf("upstream saw Cookie %q, want %q", got, cookie)
	}
}

func TestEdgeRequestWithoutContentType(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	conn, br := dialEnforcer(t, e, 10*time.Second)
	_, _ = io.WriteString(conn, "PUT /pod-a/untyped HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc")
	resp, _ := readFullResponse(t, br, http.MethodPut)
	if resp.StatusCode != http.StatusCreated {
		t.Errorf("status %d, want 201", resp.StatusCode)
	}
	for _, r := range e.upstream.Requests() {
		if r.Method == http.MethodPut {
			if ct, ok := r.Header["Content-Type"]; ok {
				t.Errorf("upstream saw Content-Type %q on a PUT that had none", ct)
			}
		}
	}
}

func TestEdgeRequestWithoutHost(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.upstream.Put("/pod-a/file", []byte("hello"))
	conn, br := dialEnforcer(t, e, 10*time.Second)
	_, _ = io.WriteString(conn, "GET /pod-a/file HTTP/1.0\r\n\r\n")
	resp, body := readFullResponse(t, br, http.MethodGet)
	t.Logf("HTTP/1.0 without Host: status %d, body %q", resp.StatusCode, body)
	if resp.StatusCode >= 500 {
		t.Errorf("HTTP/1.0 request without Host: status %d (%q)", resp.StatusCode, body)
	}
	e.checkNoPanic()
}

func TestEdgeRequestMetrics(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.setQuota("pod-full", ptr(0), nil)
	e.upstream.Put("/pod-a/file", make([]byte, 100*kib))
	e.do("GET", "/pod-a/file", nil)
	e.do("HEAD", "/pod-a/file", nil)
	e.do("PUT", "/pod-full/x", []byte("abc"))
	e.do("GET", "/.well-known/x", nil)
	cases := []struct{ method, code, scope string }{
		{"GET", "200", "in_pod"}, {"HEAD", "200", "in_pod"}, {"PUT", "413", "in_pod"}, {"GET", "404", "outside_pods"},
	}
	for _, c := range cases {
		counter := e.srv.metrics.requests.WithLabelValues(c.method, c.code, c.scope)
		eventually(t, 5*time.Second, fmt.Sprintf("%s %s %s is counted", c.method, c.code, c.scope), func() bool {
			return testutil.ToFloat64(counter) >= 1
		})
		if got := testutil.ToFloat64(counter); got != 1 {
			t.Errorf("requests{%s,%s,%s} = %v, want 1", c.method, c.code, c.scope, got)
		}
	}
}

func TestEdgeWebSocketPingPong(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, path := range []string{"/pod-a/ws", "/.well-known/ws"} {
		wsURL := "ws" + strings.TrimPrefix(e.front.URL, "http") + path
		conn, resp, err := websocket.DefaultDialer.Dial(wsURL, nil)
		if err != nil {
			t.Fatalf("dial %s: %v", path, err)
		}
		_ = resp.Body.Close()
		if err := conn.WriteMessage(websocket.TextMessage, []byte("ping")); err != nil {
			t.Fatal(err)
		}
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, msg, err := conn.ReadMessage(); err != nil || string(msg) != "pong" {
			t.Errorf("%s: read %q, %v; want pong", path, msg, err)
		}
		_ = conn.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""))
		_ = conn.Close()
	}
	counter := e.srv.metrics.requests.WithLabelValues("GET", "101", "in_pod")
	eventually(t, 5*time.Second, "the WebSocket in the pod is counted", func() bool {
		return testutil.ToFloat64(counter) == 1
	})
	eventually(t, 5*time.Second, "no upgraded connection stays tracked", func() bool {
		e.srv.upgradedMu.Lock()
		defer e.srv.upgradedMu.Unlock()
		return len(e.srv.upgraded) == 0
	})
	e.checkNoPanic()
}

func TestEdgeKeepAliveAfterStallTimeout(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.StallTimeout = time.Second })
	e.upstream.Put("/pod-a/file", []byte("hello"))
	conn, br := dialEnforcer(t, e, 20*time.Second)
	requests := []struct{ method, head, body string }{
		{"PUT", "PUT /pod-a/up HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\n", "abc"},
		{"GET", "GET /pod-a/file HTTP/1.1\r\nHost: a\r\n\r\n", ""},
		{"GET", "GET /.well-known/x HTTP/1.1\r\nHost: a\r\n\r\n", ""},
		{"GET", "GET /pod-a/file HTTP/1.1\r\nHost: a\r\n\r\n", ""},
	}
	for i, r := range requests {
		if i > 0 {
			time.Sleep(1500 * time.Millisecond)
		}
		if _, err := io.WriteString(conn, r.head+r.body); err != nil {
			t.Fatalf("request %d on the kept-alive connection: %v", i, err)
		}
		resp, err := http.ReadResponse(br, &http.Request{Method: r.method})
		if err != nil {
			t.Fatalf("request %d (%s) after %s idle: %v", i, r.method, 1500*time.Millisecond, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
	}
}

func TestEdgeEarlyHintsFromUpstream(t *testing.T) {
	t.Parallel()
	upstream := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/pod-a/hints" {
			w.Header().Set("Link", "</style.css>; rel=preload")
			w.WriteHeader(http.StatusEarlyHints)
		}
		_, _ = io.WriteString(w, "final "+r.URL.Path)
	})
	e := newEnvWith(t, envOptions{upstream: upstream})
	for i := range 3 {
		path := "/pod-a/hints"
		if i > 0 {
			path = fmt.Sprintf("/pod-a/next%d", i)
		}
		status, body := e.do("GET", path, nil)
		if status != http.StatusOK || body != "final "+path {
			t.Errorf("GET %s: status %d, body %q; want 200 %q", path, status, body, "final "+path)
		}
	}
}

func TestEdgeUpstreamIdleCloseRetriesGet(t *testing.T) {
	t.Parallel()
	upstream := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "ok")
	})
	e := newEnvWith(t, envOptions{upstream: upstream, upstreamIdleTimeout: 200 * time.Millisecond})
	for i := range 3 {
		if status, body := e.do("GET", "/pod-a/x", nil); status != http.StatusOK || body != "ok" {
			t.Errorf("GET %d after the upstream closed its idle connection: status %d, body %q", i, status, body)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func TestEdgeClientLeavesSilentStream(t *testing.T) {
	t.Parallel()
	ended := make(chan string, 2)
	upstream := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// A stream of unknown length that sends one piece and then stays silent, as a long
		// poll or an event stream between events does.
		_, _ = w.Write(bytes.Repeat([]byte("s"), kib))
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
			ended <- r.URL.Path
		case <-time.After(30 * time.Second):
		}
	})
	// The second server caps its connections as --max-connections does, which hides the sockets.
	limited := func(l net.Listener) net.Listener { return netutil.LimitListener(socketListener{l}, 8) }
	for _, o := range []envOptions{{upstream: upstream}, {upstream: upstream, listener: limited}} {
		checkSilentStreams(t, newEnvWith(t, o), ended)
	}
}

// checkSilentStreams leaves two silent streams, in a pod and outside pods, and waits until the
// pod server reports that each request ended.
func checkSilentStreams(t *testing.T, e *testEnv, ended <-chan string) {
	t.Helper()
	for _, path := range []string{"/pod-a/silent", "/.well-known/silent"} {
		conn, br := dialEnforcer(t, e, 10*time.Second)
		_, _ = io.WriteString(conn, "GET "+path+" HTTP/1.1\r\nHost: a\r\n\r\n")
		resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodGet})
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		if _, err := io.ReadFull(resp.Body, make([]byte, kib)); err != nil {
			t.Fatalf("GET %s: read the first piece: %v", path, err)
		}
		_ = conn.Close()
		select {
		case got := <-ended:
			if got != path {
				t.Errorf("the pod server ended %s, want %s", got, path)
			}
		case <-time.After(4 * watchInterval):
			t.Fatalf("GET %s: the pod server's request is still open %s after the client left", path, 4*watchInterval)
		}
	}
	eventually(t, 5*time.Second, "the stream's egress is counted", func() bool {
		e.flush()
		return e.podUsage("pod-a").egress >= kib
	})
}

func TestEdgeHopHeadersRemoved(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var seen http.Header
	upstream := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = r.Header.Clone()
		mu.Unlock()
		w.Header().Set("Connection", "X-Upstream-Private")
		w.Header().Set("X-Upstream-Private", "1")
		w.Header().Set("Keep-Alive", "timeout=5")
		w.Header().Set("Proxy-Authenticate", "Basic")
		w.Header().Set("X-Kept", "1")
		_, _ = io.WriteString(w, "ok")
	})
	e := newEnvWith(t, envOptions{upstream: upstream})
	conn, br := dialEnforcer(t, e, 10*time.Second)
	_, _ = io.WriteString(conn, "GET /pod-a/x HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, X-Private\r\n"+
		"X-Private: secret\r\nKeep-Alive: timeout=5\r\nProxy-Authorization: Basic eA==\r\nTe: trailers\r\n"+
		"Forwarded: for=192.0.2.1\r\nX-Forwarded-For: 192.0.2.2\r\nX-Forwarded-For: 192.0.2.3\r\nX-Kept: 1\r\n\r\n")
	resp, body := readFullResponse(t, br, http.MethodGet)
	if resp.StatusCode != http.StatusOK || body != "ok" {
		t.Fatalf("status %d, body %q; want 200 ok", resp.StatusCode, body)
	}

	mu.Lock()
	defer mu.Unlock()
	for _, name := range []string{"X-Private", "Keep-Alive", "Proxy-Authorization", "Te", "Forwarded", "Proxy-Connection"} {
		if v := seen.Values(name); len(v) > 0 {
			t.Errorf("the pod server got %s: %q", name, v)
		}
	}
	if got := seen.Values("X-Forwarded-For"); len(got) != 1 || got[0] != "127.0.0.1" {
		t.Errorf("the pod server got X-Forwarded-For %q, want only the enforcer's 127.0.0.1", got)
	}
	if seen.Get("X-Kept") != "1" {
		t.Errorf("the pod server lost the end-to-end header X-Kept")
	}
	for _, name := range []string{"X-Upstream-Private", "Keep-Alive", "Proxy-Authenticate"} {
		if v := resp.Header.Values(name); len(v) > 0 {
			t.Errorf("the client got %s: %q", name, v)
		}
	}
	if resp.Header.Get("X-Kept") != "1" {
		t.Errorf("the client lost the end-to-end header X-Kept")
	}
}
