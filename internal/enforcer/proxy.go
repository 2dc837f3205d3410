package enforcer

import (
	"net/http"
	"net/http/httputil"
	"sync"

	"xpod.dev/quota-operator/internal/enforcer/framing"
)

type normalizedPathKey struct{}

// newReverseProxy returns a proxy that streams bodies in both directions. Responses in a pod are
// flushed after every write by responseWriter, so throttled and long transfers reach the client
// as they flow, and a small response leaves in one write with its headers. Outside pods, the
// proxy's own rule applies: streamed responses (unknown length, event streams) are flushed at
// once and others when the buffer fills or the response ends.
func (s *Server) newReverseProxy() *httputil.ReverseProxy {
	return &httputil.ReverseProxy{
		Rewrite:        s.rewrite,
		Transport:      s.transport,
		BufferPool:     copyBuffers,
		ModifyResponse: s.modifyResponse,
		ErrorHandler:   s.proxyError,
		ErrorLog:       nil,
	}
}

// copyBuffers reuses the proxy's 32 KiB copy buffers, which would otherwise be allocated for
// every response.
var copyBuffers = &bufferPool{pool: sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}}

type bufferPool struct{ pool sync.Pool }

func (b *bufferPool) Get() []byte  { return *b.pool.Get().(*[]byte) }
func (b *bufferPool) Put(p []byte) { b.pool.Put(&p) }

// rewrite points the request at the upstream with the normalised path, keeps the client's Host
// and sets the X-Forwarded-* headers.
func (s *Server) rewrite(pr *httputil.ProxyRequest) {
	if s.cfg.TrustForwardedHeaders {
		for _, h := range []string{"X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto"} {
			if v := pr.In.Header.Values(h); len(v) > 0 {
				pr.Out.Header[h] = v
			}
		}
	}
	host, proto := pr.Out.Header.Get("X-Forwarded-Host"), pr.Out.Header.Get("X-Forwarded-Proto")
	pr.SetXForwarded()
	if s.cfg.TrustForwardedHeaders && host != "" {
		pr.Out.Header.Set("X-Forwarded-Host", host)
	}
	if s.cfg.TrustForwardedHeaders && proto != "" {
		pr.Out.Header.Set("X-Forwarded-Proto", proto)
	}

	pr.Out.URL.Scheme = s.cfg.Upstream.Scheme
	pr.Out.URL.Host = s.cfg.Upstream.Host
	if path, ok := pr.In.Context().Value(normalizedPathKey{}).(string); ok && path != pr.In.URL.Path {
		pr.Out.URL.Path, pr.Out.URL.RawPath = path, ""
	}
	pr.Out.Host = pr.In.Host
	pr.Out.Header.Del(framing.MarkerHeader)
}

// modifyResponse charges a successful write before the client sees the response, so a client
// that writes again at once is checked against the new figures.
func (s *Server) modifyResponse(resp *http.Response) error {
	ex := exchangeFrom(resp.Request.Context())
	if ex == nil || ex.write == nil {
		return nil
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		s.charge(ex, resp)
	}
	return nil
}

func (s *Server) proxyError(w http.ResponseWriter, r *http.Request, err error) {
	ex := exchangeFrom(r.Context())
	if ex != nil && ex.write != nil {
		if view, need, exceeded := ex.write.quotaExceeded(); exceeded {
			s.rejectOverQuota(w, ex, view, need, ex.write.limit, "stream")
			return
		}
	}
	if r.Context().Err() != nil {
		// The client went away, so no one reads this response.
		w.WriteHeader(http.StatusBadGateway)
		return
	}
	log := s.log
	if ex != nil {
		log = log.With("account", ex.target.AccountID, "pod", ex.target.PodID)
	}
	log.Warn("Forwarding a request to the pod server failed", "method", r.Method, "path", r.URL.Path, "error", err)
	http.Error(w, "Bad gateway: the pod server did not respond to the request.", http.StatusBadGateway)
}
