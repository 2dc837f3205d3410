package enforcer

import (
	"io"
	"net/http"

	"xpod.dev/quota-operator/internal/enforcer/throttle"
)

// meteringTransport wraps the upstream connection of an upgraded request (a WebSocket), so the
// bytes that flow after the upgrade are metered and throttled as they pass.
type meteringTransport struct {
	base http.RoundTripper
}

func (t *meteringTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		return resp, err
	}
	ex := exchangeFrom(req.Context())
	conn, ok := resp.Body.(io.ReadWriteCloser)
	if ex != nil && ok {
		uc := &upgradedConn{conn: conn, ex: ex}
		ex.srv.trackUpgraded(uc, true)
		resp.Body = uc
	}
	return resp, nil
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
		if d, werr := bucket.Wait(ex.in.Context(), n); werr != nil && err == nil {
			err = werr
		} else if d > 0 {
			ex.downloadWaited(d)
		}
	}
	return n, err
}

func (c *upgradedConn) Write(p []byte) (int, error) {
	ex := c.ex
	n, err := throttle.WriteChunks(ex.in.Context(), c.bucket(ex.account.Upload), p, nil, c.conn.Write,
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

// trackUpgraded adds or removes an upgraded connection, which http.Server.Shutdown does not see.
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
