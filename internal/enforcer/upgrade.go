package enforcer

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"xpod.dev/quota-operator/internal/enforcer/resolve"
	"xpod.dev/quota-operator/internal/enforcer/throttle"
)

// serveUpgrade forwards a request to switch protocols, such as a WebSocket handshake,
// on a connection of its own. When the pod server switches, the client's connection is taken
// over and bytes flow both ways, metered and throttled for requests into pods (ex not nil).
func (s *Server) serveUpgrade(ctx *fasthttp.RequestCtx, adm *admission, ex *exchange) {
	status, hijacked := s.upgrade(ctx, adm, ex)
	if hijacked {
		return
	}
	if ex == nil {
		s.countRequest(adm.method, status, resolve.OutsidePods)
		return
	}
	ex.status = status
	if !ctx.Response.IsBodyStream() {
		ex.finish()
	}
}

// upgrade sends the handshake to the pod server and relays its response. It reports true when the
// protocol switched and the connection was handed to the copying goroutines.
func (s *Server) upgrade(ctx *fasthttp.RequestCtx, adm *admission, ex *exchange) (int, bool) {
	out := fasthttp.AcquireRequest()
	defer fasthttp.ReleaseRequest(out)
	s.outgoingRequest(ctx, adm, out)
	out.Header.Set("Upgrade", string(ctx.Request.Header.Peek("Upgrade")))
	out.Header.Set("Connection", "Upgrade")

	conn, err := s.dialForUpgrade(workContext)
	if err != nil {
		return s.proxyError(ctx, ex, err), false
	}
	_ = conn.SetDeadline(time.Now().Add(s.cfg.StallTimeout))
	br := bufio.NewReader(conn)
	resp, err := sendHandshake(conn, br, out)
	if err != nil {
		_ = conn.Close()
		return s.proxyError(ctx, ex, err), false
	}
	_ = conn.SetDeadline(time.Time{})
	if resp.StatusCode != http.StatusSwitchingProtocols {
		relayNonSwitch(ctx, resp, ex, conn, s.cfg.StallTimeout)
		return resp.StatusCode, false
	}
	head := switchHead(resp)
	ctx.HijackSetNoResponse(true)
	ctx.Hijack(func(client net.Conn) {
		s.pipeUpgraded(client, &bufferedConn{Conn: conn, r: br}, head, ex)
	})
	return resp.StatusCode, true
}

// dialForUpgrade opens a connection of its own to the pod server for an upgrade request, with TLS
// when the upstream URL is https.
func (s *Server) dialForUpgrade(ctx context.Context) (net.Conn, error) {
	dialer := &net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second}
	addr := upstreamAddr(s.cfg.Upstream)
	if s.cfg.Upstream.Scheme == "https" {
		td := &tls.Dialer{NetDialer: dialer, Config: &tls.Config{MinVersion: tls.VersionTLS12}}
		return td.DialContext(ctx, "tcp", addr)
	}
	return dialer.DialContext(ctx, "tcp", addr)
}

// sendHandshake writes the request head and reads the pod server's response head.
func sendHandshake(conn net.Conn, br *bufio.Reader, out *fasthttp.Request) (*http.Response, error) {
	if _, err := conn.Write(out.Header.Header()); err != nil {
		return nil, fmt.Errorf("send the upgrade request: %w", err)
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return nil, fmt.Errorf("read the upgrade response: %w", err)
	}
	return resp, nil
}

// relayNonSwitch passes on the response of a pod server that did not switch protocols, and closes the
// upstream connection once its body is sent.
func relayNonSwitch(ctx *fasthttp.RequestCtx, resp *http.Response, ex *exchange, conn net.Conn, stall time.Duration) {
	ctx.Response.SetStatusCode(resp.StatusCode)
	for name, values := range resp.Header {
		for _, v := range values {
			ctx.Response.Header.Add(name, v)
		}
	}
	removeHopHeaders(&ctx.Response.Header, []byte(resp.Header.Get("Connection")))
	release := func() error {
		_ = resp.Body.Close()
		return conn.Close()
	}
	if ctx.IsHead() || noBody(resp.StatusCode) {
		_ = release()
		return
	}
	stream := &responseBody{ctx: ctx, stall: stall, ex: ex, body: resp.Body, release: release}
	ctx.Response.SetBodyStream(stream, int(max(resp.ContentLength, -1)))
}

// switchHead is the 101 response head for the client, without its hop-by-hop headers other than
// the two that name the new protocol.
func switchHead(resp *http.Response) []byte {
	header := resp.Header.Clone()
	upgrade := header.Get("Upgrade")
	removeHopHeaders(header, []byte(header.Get("Connection")))
	head := []byte("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: " + upgrade + "\r\n")
	for name, values := range header {
		for _, v := range values {
			head = append(head, name+": "+v+"\r\n"...)
		}
	}
	return append(head, "\r\n"...)
}

// bufferedConn reads what the handshake's reader buffered before reading the connection.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// pipeUpgraded sends the 101 head to the client and copies bytes both ways until either side
// closes, then closes both.
func (s *Server) pipeUpgraded(client net.Conn, upstream io.ReadWriteCloser, head []byte, ex *exchange) {
	if ex != nil {
		uc := &upgradedConn{conn: upstream, ex: ex}
		s.trackUpgraded(uc, true)
		upstream = uc
		defer func() {
			ex.status = http.StatusSwitchingProtocols
			ex.finish()
		}()
	}
	if _, err := client.Write(head); err != nil {
		_ = client.Close()
		_ = upstream.Close()
		return
	}
	var once sync.Once
	closeBoth := func() {
		once.Do(func() {
			_ = client.Close()
			_ = upstream.Close()
		})
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = io.Copy(client, upstream)
		closeBoth()
	}()
	_, _ = io.Copy(upstream, client)
	closeBoth()
	<-done
}

// upgradedConn is the upstream side of an upgraded connection: what it reads goes to the client
// (egress) and what it writes came from the client (ingress).
type upgradedConn struct {
	conn io.ReadWriteCloser
	ex   *exchange
}

func (c *upgradedConn) Read(p []byte) (int, error) {
	ex := c.ex
	bucket := c.bucket(ex.account.Download)
	if len(p) > bucket.Chunk() {
		p = p[:bucket.Chunk()]
	}
	n, err := c.conn.Read(p)
	if n > 0 {
		ex.addEgress(n)
		if d, werr := bucket.Wait(context.Background(), n); werr != nil && err == nil {
			err = werr
		} else if d > 0 {
			ex.downloadWaited(d)
		}
	}
	return n, err
}

func (c *upgradedConn) Write(p []byte) (int, error) {
	ex := c.ex
	n, err := throttle.WriteChunks(context.Background(), c.bucket(ex.account.Upload), p, nil, c.conn.Write,
		ex.uploadWaited)
	if n > 0 {
		ex.addIngress(n)
	}
	return n, err
}

func (c *upgradedConn) Close() error {
	c.ex.srv.trackUpgraded(c, false)
	return c.conn.Close()
}

// trackUpgraded adds or removes an upgraded connection, which the server's shutdown does not see.
func (s *Server) trackUpgraded(c *upgradedConn, open bool) {
	s.upgradedMu.Lock()
	defer s.upgradedMu.Unlock()
	if open {
		s.upgraded[c] = struct{}{}
	} else {
		delete(s.upgraded, c)
	}
}

// closeUpgraded closes every upgraded connection at shutdown. Their bytes so far are metered, and
// WebSocket clients reconnect to another replica.
func (s *Server) closeUpgraded() {
	s.upgradedMu.Lock()
	conns := make([]*upgradedConn, 0, len(s.upgraded))
	for c := range s.upgraded {
		conns = append(conns, c)
	}
	s.upgradedMu.Unlock()
	for _, c := range conns {
		_ = c.Close()
	}
}

func (c *upgradedConn) bucket(b *throttle.Bucket) *throttle.Bucket {
	if !c.ex.throttle {
		return unthrottled
	}
	return b
}
