package enforcer

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"xpod.dev/quota-operator/internal/enforcer/framing"
	"xpod.dev/quota-operator/internal/enforcer/resolve"
)

// ServeHTTP checks the request's framing and path, resolves its pod and forwards it.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if marker := r.Header.Get(framing.MarkerHeader); marker != "" {
		reason := framingReasonLabel(marker)
		s.rejectInvalid(w, r, reason, "Bad request: the request's Content-Length and Transfer-Encoding "+
			"headers are ambiguous ("+reason+"); send exactly one of them.")
		return
	}
	path, err := resolve.NormalizePath(r.URL.EscapedPath(), r.URL.Path)
	if err != nil {
		s.rejectInvalid(w, r, "invalid_path", "Bad request: the path contains an encoded slash or backslash, "+
			"an empty segment or a '..' above the root.")
		return
	}
	res, err := s.cfg.Resolver.Resolve(r.Context(), resolve.NormalizeHost(r.Host), path)
	if err != nil {
		s.log.Error("Resolving the pod of a request failed", "host", r.Host, "path", path, "error", err)
		http.Error(w, "Service unavailable: the pod of this request cannot be resolved right now.",
			http.StatusServiceUnavailable)
		return
	}
	r = r.WithContext(context.WithValue(r.Context(), normalizedPathKey{}, path))
	s.resetWriteDeadline(w, r)

	switch res.Status {
	case resolve.InPod:
		s.serveInPod(w, r, res.Target, path)
	case resolve.UnknownPod:
		s.metrics.unresolved.WithLabelValues(res.Status.String(), "rejected").Inc()
		s.countRequest(r, http.StatusNotFound, res.Status)
		http.Error(w, fmt.Sprintf("Not found: pod %q is not in the enforcer's account map.", res.PodName),
			http.StatusNotFound)
	default:
		s.serveOutsidePods(w, r)
	}
}

// resetWriteDeadline clears the write deadline that the previous request on the same connection
// left behind, which would otherwise cut this response short.
func (s *Server) resetWriteDeadline(w http.ResponseWriter, r *http.Request) {
	_ = http.NewResponseController(w).SetWriteDeadline(time.Time{})
}

func (s *Server) rejectInvalid(w http.ResponseWriter, r *http.Request, reason, message string) {
	s.metrics.invalidRequests.WithLabelValues(reason).Inc()
	s.countRequest(r, http.StatusBadRequest, resolve.OutsidePods)
	// The connection's framing cannot be trusted any more, so it is closed after the response.
	w.Header().Set("Connection", "close")
	http.Error(w, message, http.StatusBadRequest)
}

// serveOutsidePods forwards a request that targets no pod without metering or throttling it.
func (s *Server) serveOutsidePods(w http.ResponseWriter, r *http.Request) {
	reason := resolve.OutsidePods.String()
	switch r.Method {
	case http.MethodPut, http.MethodPatch, http.MethodDelete:
		if s.cfg.RejectWritesOutsidePods {
			s.metrics.unresolved.WithLabelValues(reason, "rejected").Inc()
			s.countRequest(r, http.StatusForbidden, resolve.OutsidePods)
			http.Error(w, "Forbidden: this enforcer rejects writes outside pods.", http.StatusForbidden)
			return
		}
	}
	s.metrics.unresolved.WithLabelValues(reason, "passed").Inc()
	rw := &statusWriter{ResponseWriter: w}
	defer func() { s.countRequest(r, rw.code(r), resolve.OutsidePods) }()
	s.proxy.ServeHTTP(rw, r)
}

// serveInPod meters, throttles and checks a request into a pod and forwards it.
func (s *Server) serveInPod(w http.ResponseWriter, r *http.Request, target resolve.Target, path string) {
	ex := &exchange{
		srv:      s,
		target:   target,
		path:     path,
		account:  s.limits.Get(r.Context(), target.AccountID),
		counters: s.ledger.Pod(target.PodID, target.AccountID),
		throttle: s.cfg.Enforce,
	}
	defer ex.counters.Release()
	r = r.WithContext(withExchange(r.Context(), ex))
	ex.in = r

	controller := http.NewResponseController(w)
	rw := &responseWriter{ResponseWriter: w, ex: ex, controller: controller}
	defer func() { s.countRequest(r, rw.code(r), resolve.InPod) }()
	upgrade := r.Header.Get("Upgrade") != ""
	if !upgrade {
		// The deadline also bounds net/http's final flush after the handler returns.
		defer func() { _ = controller.SetWriteDeadline(time.Now().Add(s.cfg.StallTimeout)) }()
	}

	if kind, ok := classifyWrite(r.Method, path); ok && !upgrade {
		wr, rejected := s.beginWrite(rw, ex, kind)
		if wr != nil {
			defer wr.end()
		}
		if rejected {
			return
		}
		ex.write = wr
	}
	if r.Body != nil && r.Body != http.NoBody {
		r.Body = &requestBody{ex: ex, body: r.Body, controller: controller}
	}
	s.proxy.ServeHTTP(rw, r)
}

func (s *Server) countRequest(r *http.Request, code int, scope resolve.Status) {
	s.metrics.requests.WithLabelValues(methodLabel(r.Method), strconv.Itoa(code), scope.String()).Inc()
}

// statusWriter records the status code of a response that is not metered.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if code >= 200 && w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) code(r *http.Request) int { return responseCode(w.status, r) }

func (w *responseWriter) code(r *http.Request) int { return responseCode(w.status, r) }

// responseCode returns the recorded status, or 101 for an upgraded connection, which bypasses
// WriteHeader, or 200 when nothing was written.
func responseCode(status int, r *http.Request) int {
	switch {
	case status != 0:
		return status
	case r.Header.Get("Upgrade") != "":
		return http.StatusSwitchingProtocols
	default:
		return http.StatusOK
	}
}
