package enforcer

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestProxyStreamsRequestBody(t *testing.T) {
	t.Parallel()
	gotFirst := make(chan struct{})
	var received int64
	upstream := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		buf := make([]byte, kib)
		if _, err := io.ReadFull(r.Body, buf); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		close(gotFirst)
		n, _ := io.Copy(io.Discard, r.Body)
		received = n + kib
		w.WriteHeader(http.StatusCreated)
	})
	e := newEnvWith(t, envOptions{upstream: upstream})

	pr, pw := io.Pipe()
	go func() {
		_, _ = pw.Write(make([]byte, kib))
		select {
		case <-gotFirst:
		case <-time.After(10 * time.Second):
			_ = pw.CloseWithError(fmt.Errorf("the upstream did not see the first KiB before the rest was sent"))
			return
		}
		_, _ = pw.Write(make([]byte, mib))
		_ = pw.Close()
	}()
	req, _ := http.NewRequest("PUT", e.front.URL+"/pod-a/stream", pr)
	resp, err := e.front.Client().Do(req)
	if err != nil {
		t.Fatalf("streamed upload: %v", err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusCreated || received != mib+kib {
		t.Errorf("status %d, upstream received %d bytes; want 201 and %d", resp.StatusCode, received, mib+kib)
	}
}

func TestProxyStreamsResponseBody(t *testing.T) {
	t.Parallel()
	clientGotFirst := make(chan struct{})
	upstream := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write(make([]byte, kib))
		w.(http.Flusher).Flush()
		select {
		case <-clientGotFirst:
			_, _ = w.Write(make([]byte, kib))
		case <-time.After(10 * time.Second):
		}
	})
	e := newEnvWith(t, envOptions{upstream: upstream})
	resp, err := e.front.Client().Get(e.front.URL + "/pod-a/stream")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	if _, err := io.ReadFull(resp.Body, make([]byte, kib)); err != nil {
		t.Fatalf("read first KiB: %v", err)
	}
	close(clientGotFirst)
	rest, _ := io.ReadAll(resp.Body)
	if len(rest) != kib {
		t.Errorf("read %d bytes after the first KiB, want %d: the response was held back", len(rest), kib)
	}
}

func TestProxyKeepsConnectionsAlive(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var reused []bool
	trace := &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) { reused = append(reused, info.Reused) }}
	for i := range 3 {
		req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace),
			"PUT", e.front.URL+fmt.Sprintf("/pod-a/k%d", i), strings.NewReader("body"))
		resp, err := e.front.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
	}
	if len(reused) != 3 || reused[0] || !reused[1] || !reused[2] {
		t.Errorf("connection reuse per request = %v, want [false true true]", reused)
	}
}

func TestProxyForwardsChunkedBody(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	req, _ := http.NewRequest("PUT", e.front.URL+"/pod-a/chunked", &chunkedBody{remaining: 300 * kib})
	req.ContentLength = -1
	resp, err := e.front.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("status %d, want 201", resp.StatusCode)
	}
	reqs := e.upstream.Requests()
	last := reqs[len(reqs)-2] // The last request is the size measurement.
	if len(last.TransferEncoding) != 1 || last.TransferEncoding[0] != "chunked" || !last.BodyComplete ||
		last.BodyBytes != 300*kib {
		t.Errorf("upstream saw %+v, want a complete chunked body of %d bytes", last, 300*kib)
	}
	if got := e.checkStorage("pod-a"); got != 300*kib {
		t.Errorf("storage = %d, want %d", got, 300*kib)
	}
}

func TestProxyHostAndForwardedHeaders(t *testing.T) {
	t.Parallel()
	for _, trust := range []bool{false, true} {
		t.Run(fmt.Sprintf("trust=%v", trust), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, func(c *Config) { c.TrustForwardedHeaders = trust })
			req, _ := http.NewRequest("GET", e.front.URL+"/pod-a/x", nil)
			req.Host = "Pods.Example.test"
			req.Header.Set("X-Forwarded-For", "203.0.113.7")
			req.Header.Set("X-Forwarded-Host", "public.example")
			req.Header.Set("X-Forwarded-Proto", "https")
			resp, err := e.front.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_ = resp.Body.Close()
			got := e.upstream.Requests()[0]
			want := map[string]string{"X-Forwarded-For": "127.0.0.1", "X-Forwarded-Host": "Pods.Example.test",
				"X-Forwarded-Proto": "http"}
			if trust {
				want = map[string]string{"X-Forwarded-For": "203.0.113.7, 127.0.0.1",
					"X-Forwarded-Host": "public.example", "X-Forwarded-Proto": "https"}
			}
			if got.Host != "Pods.Example.test" {
				t.Errorf("upstream Host = %q, want the client's Pods.Example.test", got.Host)
			}
			// A GET without a body reaches the pod server without body headers, which some
			// servers take as a body.
			if got.ContentLength != 0 || len(got.TransferEncoding) > 0 || got.Header.Get("Content-Length") != "" {
				t.Errorf("upstream GET has body headers: Content-Length %d (%q), Transfer-Encoding %v",
					got.ContentLength, got.Header.Get("Content-Length"), got.TransferEncoding)
			}
			for h, v := range want {
				if got.Header.Get(h) != v {
					t.Errorf("upstream %s = %q, want %q", h, got.Header.Get(h), v)
				}
			}
		})
	}
}

func TestProxyRejectsAmbiguousFraming(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cases := []struct {
		name   string
		raw    string
		status int
	}{
		{"content-length and chunked",
			"PUT /pod-a/x HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\n", 400},
		{"chunked before content-length",
			"PUT /pod-a/x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n4\r\nabcd\r\n0\r\n\r\n", 400},
		{"content-length and chunked in HTTP/1.0",
			"PUT /pod-a/x HTTP/1.0\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\nabcd", 400},
		{"conflicting content-lengths",
			"PUT /pod-a/x HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcde", 400},
		{"content-length list", "PUT /pod-a/x HTTP/1.1\r\nHost: a\r\nContent-Length: 4, 5\r\n\r\nabcde", 400},
		{"negative content-length", "PUT /pod-a/x HTTP/1.1\r\nHost: a\r\nContent-Length: -4\r\n\r\nabcd", 400},
		{"two transfer-encodings",
			"PUT /pod-a/x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
		// RFC 9110 lets a recipient either accept or reject identical duplicates; the
		// enforcer rejects them, so no server behind it has to decide.
		{"identical content-lengths",
			"PUT /pod-a/dup HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nContent-Length: 4\r\n\r\nabcd", 400},
		{"lower-case content-length after chunked",
			"PUT /pod-a/x HTTP/1.1\r\nHost: a\r\ntransfer-encoding: chunked\r\ncontent-length: 4\r\n\r\n4\r\nabcd\r\n0\r\n\r\n", 400},
		{"gzip transfer coding", "PUT /pod-a/x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\nabcd", 400},
	}
	for _, c := range cases {
		status, _ := rawExchange(t, e.addr(), c.raw, nil)
		if status != c.status {
			t.Errorf("%s: status %d, want %d", c.name, status, c.status)
		}
	}
	if reqs := e.upstream.Requests(); len(reqs) != 0 {
		t.Errorf("the upstream received %d ambiguous requests, want none: %+v", len(reqs), reqs[0])
	}

}

func TestProxyRejectsSmuggledPipelinedRequest(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	conn, err := net.Dial("tcp", e.addr())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	first := "PUT /pod-a/first HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
	second := "PUT /pod-a/second HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n" +
		"0\r\n\r\nGET /pod-a/smuggled HTTP/1.1\r\nHost: a\r\n\r\n"
	_, _ = io.WriteString(conn, first+second)
	br := bufio.NewReader(conn)
	if status, _ := readResponse(t, br); status != http.StatusCreated {
		t.Errorf("first request: status %d, want 201", status)
	}
	if status, _ := readResponse(t, br); status != http.StatusBadRequest {
		t.Errorf("ambiguous second request: status %d, want 400", status)
	}
	for _, r := range e.upstream.Requests() {
		if r.Path != "/pod-a/first" {
			t.Errorf("the upstream received %s %s after the ambiguous request", r.Method, r.Path)
		}
	}
}

func TestProxyNormalizesPaths(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cases := []struct {
		target, upstreamPath string
		status               int
	}{
		{"/pod-a/x/../y", "/pod-a/y", 201},
		{"/pod-a/./z", "/pod-a/z", 201},
		{"/pod-a/%2e%2e/pod-b/w", "/pod-b/w", 201},
		{"/pod-a/a%2Fb", "", 400},
		{"/pod-a/a%5cb", "", 400},
		{"/pod-a/../../etc/passwd", "", 400},
		{"/pod-a//x", "", 400},
	}
	for _, c := range cases {
		before := len(e.upstream.Requests())
		status, _ := rawExchange(t, e.addr(), "PUT "+c.target+" HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi", nil)
		if status != c.status {
			t.Errorf("PUT %s: status %d, want %d", c.target, status, c.status)
			continue
		}
		reqs := e.upstream.Requests()[before:]
		if c.upstreamPath == "" && len(reqs) > 0 {
			t.Errorf("PUT %s was forwarded as %s", c.target, reqs[0].Path)
		}
		if c.upstreamPath != "" && (len(reqs) == 0 || reqs[0].Path != c.upstreamPath) {
			t.Errorf("PUT %s: upstream requests %+v, want path %s", c.target, reqs, c.upstreamPath)
		}
	}
	if got := e.checkStorage("pod-b"); got != 2 {
		t.Errorf("storage of pod-b = %d, want 2: the normalised path decides the pod", got)
	}
}

func TestExpectContinue(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.setQuota("pod-full", ptr(0), nil)

	t.Run("under quota", func(t *testing.T) {
		conn, err := net.Dial("tcp", e.addr())
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = conn.Close() }()
		_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
		_, _ = io.WriteString(conn, "PUT /pod-a/x HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n")
		br := bufio.NewReader(conn)
		line, _ := br.ReadString('\n')
		if !strings.HasPrefix(line, "HTTP/1.1 100") {
			t.Fatalf("first line %q, want 100 Continue", line)
		}
		_, _ = br.ReadString('\n')
		_, _ = io.WriteString(conn, "hello")
		if status, _ := readResponse(t, br); status != http.StatusCreated {
			t.Errorf("final status %d, want 201", status)
		}
	})

	t.Run("large body under quota", func(t *testing.T) {
		const size = 3 << 20
		conn, err := net.Dial("tcp", e.addr())
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = conn.Close() }()
		_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
		_, _ = fmt.Fprintf(conn, "PUT /pod-a/large HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: %d\r\n\r\n", size)
		br := bufio.NewReader(conn)
		line, _ := br.ReadString('\n')
		if !strings.HasPrefix(line, "HTTP/1.1 100") {
			t.Fatalf("first line %q, want 100 Continue", line)
		}
		_, _ = br.ReadString('\n')
		go func() { _, _ = conn.Write(bytes.Repeat([]byte("z"), size)) }()
		if status, body := readResponse(t, br); status != http.StatusCreated {
			t.Fatalf("final status %d (%q), want 201", status, body)
		}
		for _, r := range e.upstream.Requests() {
			if r.Method == http.MethodPut && r.Path == "/pod-a/large" && (r.BodyBytes != size || !r.BodyComplete) {
				t.Errorf("upstream read %d bytes (complete %v), want %d", r.BodyBytes, r.BodyComplete, size)
			}
		}
	})

	t.Run("over quota", func(t *testing.T) {
		conn, err := net.Dial("tcp", e.addr())
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = conn.Close() }()
		_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
		_, _ = io.WriteString(conn, "PUT /pod-full/x HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n")
		br := bufio.NewReader(conn)
		status, body := readResponse(t, br)
		if status != http.StatusRequestEntityTooLarge {
			t.Errorf("status %d (%q), want a final 413 without 100 Continue", status, body)
		}
		if !strings.Contains(body, "Storage quota exceeded for account pod-full") {
			t.Errorf("413 body %q does not state the account, usage and limit", body)
		}
		for _, r := range e.upstream.Requests() {
			if r.Path == "/pod-full/x" {
				t.Errorf("the rejected request was forwarded")
			}
		}
		if got := e.podUsage("pod-full").ingress; got != 0 {
			t.Errorf("ingress = %d, want 0: the body must not be read", got)
		}
	})

	t.Run("clients that hang up", func(t *testing.T) {
		var wg sync.WaitGroup
		sem := make(chan struct{}, 100)
		for i := range 1000 {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				conn, err := net.Dial("tcp", e.addr())
				if err != nil {
					return
				}
				pod := []string{"pod-a", "pod-full"}[i%2]
				_, _ = fmt.Fprintf(conn, "PUT /%s/hang-%d HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n"+
					"Content-Length: 1048576\r\n\r\n", pod, i)
				if i%3 == 0 {
					_, _ = conn.Write(bytes.Repeat([]byte("x"), 1000))
				}
				_ = conn.Close()
			}()
		}
		wg.Wait()
		eventually(t, 10*time.Second, "every reservation is released", func() bool {
			return e.srv.ledger.Storage("pod-a").ReservedBytes == 0
		})
		if status, _ := e.do("GET", "/pod-a/x", nil); status != http.StatusOK {
			t.Errorf("GET after the hang-ups: status %d, want 200", status)
		}
		e.checkNoPanic()
		e.checkStorage("pod-a")
	})
}

func TestProxyUploadsAfterUpstreamIdleClose(t *testing.T) {
	t.Parallel()
	upstream := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusCreated)
	})
	e := newEnvWith(t, envOptions{upstream: upstream, upstreamIdleTimeout: 300 * time.Millisecond,
		cfg: func(c *Config) { c.UpstreamIdleTimeout = 100 * time.Millisecond }})
	for i := range 3 {
		// The pause outlasts the upstream's idle timeout, so a kept connection would be closed
		// by the upstream, and an upload with a body cannot be retried on another.
		time.Sleep(500 * time.Millisecond)
		if status, body := e.do("PUT", fmt.Sprintf("/pod-a/after-idle-%d", i), make([]byte, 64<<10)); status != http.StatusCreated {
			t.Fatalf("PUT %d after an idle pause: status %d (%q), want 201", i, status, body)
		}
	}
}
