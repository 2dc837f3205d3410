package enforcer

import (
	"crypto/tls"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/valyala/fasthttp"
)

// Buffer sizes of the client and server connections. A request or response head must fit in
// one read buffer, and Solid requests can carry an access token and a DPoP proof of about a KiB
// each.
const (
	readBufferSize  = 32 << 10
	writeBufferSize = 32 << 10
)

// dialTimeout bounds connecting to the pod server.
const dialTimeout = 10 * time.Second

// newUpstreamClient returns the pooled client that forwards requests to the pod server. Bodies
// stream in both directions, and paths are sent exactly as the enforcer normalised them.
func newUpstreamClient(upstream *url.URL, idleTimeout time.Duration) *fasthttp.HostClient {
	addr := upstreamAddr(upstream)
	tlsOn := upstream.Scheme == "https"
	c := &fasthttp.HostClient{
		Addr:                          addr,
		IsTLS:                         tlsOn,
		MaxConns:                      4096,
		MaxConnWaitTimeout:            10 * time.Second,
		MaxIdleConnDuration:           idleTimeout,
		ReadBufferSize:                readBufferSize,
		WriteBufferSize:               writeBufferSize,
		StreamResponseBody:            true,
		DisablePathNormalizing:        true,
		DisableHeaderNamesNormalizing: false,
		NoDefaultUserAgentHeader:      true,
		Dial:                          dialUpstream,
		RetryIfErr:                    retryWithoutBody,
	}
	if tlsOn {
		c.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	return c
}

// upstreamAddr returns the pod server's host and port, with the scheme's default port when the
// URL names none.
func upstreamAddr(upstream *url.URL) string {
	if upstream.Port() != "" {
		return upstream.Host
	}
	port := "80"
	if upstream.Scheme == "https" {
		port = "443"
	}
	return net.JoinHostPort(upstream.Hostname(), port)
}

// upstreamDialer resolves and connects to the pod server, caching DNS answers for a minute.
var upstreamDialer = &fasthttp.TCPDialer{DNSCacheDuration: time.Minute}

// dialUpstream connects to the pod server within the dial timeout.
func dialUpstream(addr string) (net.Conn, error) {
	c, err := upstreamDialer.DialTimeout(addr, dialTimeout)
	if err != nil {
		return nil, err
	}
	return trackUpstream(c), nil
}

// retryWithoutBody retries a request once on a new connection when a kept-alive one failed. Only
// GET, HEAD, OPTIONS and TRACE without a body are retried, as net/http's Transport does, because
// a pod server may have applied any other request before the connection broke.
func retryWithoutBody(req *fasthttp.Request, attempts int, _ error) (bool, bool) {
	if attempts >= 2 || req.IsBodyStream() {
		return false, false
	}
	switch string(req.Header.Method()) {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return false, true
	default:
		return false, false
	}
}
