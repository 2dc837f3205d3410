package enforcer

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"runtime/debug"
	"strconv"

	"github.com/valyala/fasthttp"

	"xpod.dev/quota-operator/internal/enforcer/resolve"
)

// admission is the outcome of the checks that run before a request is forwarded.
type admission struct {
	// done is set when the checks already wrote the response.
	done bool
	// ex is the exchange of a request into a pod. It is nil for requests outside pods.
	ex     *exchange
	method string
	// upgrade is set for a request that switches protocols, such as a WebSocket handshake.
	upgrade bool
	// path is the normalised path, forwarded instead of the client's when it differs.
	path    string
	changed bool
	// handlerRan is set once the handler runs for an admission that Expect stored.
	handlerRan bool
	// badFraming is set when the request was rejected because its body length is unclear, so
	// its connection cannot be read any further.
	badFraming bool
}

// Close finishes the exchange of an admission whose handler never ran, because the client hung
// up after 100 Continue. The server closes every request value when the request ends.
func (a *admission) Close() error {
	if !a.handlerRan && a.ex != nil {
		a.ex.finish()
	}
	return nil
}

type admissionKey struct{}

// Handle checks the request's framing and path, resolves its pod and forwards it.
func (s *Server) Handle(ctx *fasthttp.RequestCtx) {
	defer s.recoverPanic(ctx)
	adm, ok := ctx.UserValue(admissionKey{}).(*admission)
	if ok {
		adm.handlerRan = true
	} else {
		adm = s.admit(ctx)
	}
	if adm.done {
		if !adm.badFraming {
			lingerAfterRejection(ctx)
		}
		return
	}
	if adm.ex == nil {
		s.serveOutsidePods(ctx, adm)
		return
	}
	s.serveInPod(ctx, adm)
}

// Expect decides on a request with Expect: 100-continue before its body is read, so a write
// over the quota gets its 413 without 100 Continue and its body is never sent.
func (s *Server) Expect(ctx *fasthttp.RequestCtx) int {
	adm := s.admit(ctx)
	if adm.done {
		return ctx.Response.StatusCode()
	}
	ctx.SetUserValue(admissionKey{}, adm)
	ctx.SetUserValue(continueSentKey{}, true)
	return fasthttp.StatusContinue
}

// admit runs the checks of a request. A request it rejects gets its response and is counted, and all that
// the checks took is released.
func (s *Server) admit(ctx *fasthttp.RequestCtx) *admission {
	method := string(ctx.Method())
	if ambiguousFraming(&ctx.Request.Header) {
		s.rejectInvalid(ctx, method, reasonLengthAndChunked, "Bad request: the request has both Content-Length "+
			"and Transfer-Encoding: chunked, which is ambiguous; send exactly one of them.")
		return &admission{done: true, badFraming: true}
	}
	escaped := string(ctx.URI().PathOriginal())
	decoded, err := url.PathUnescape(escaped)
	path := ""
	if err == nil {
		path, err = resolve.NormalizePath(escaped, decoded)
	}
	if err != nil {
		s.rejectInvalid(ctx, method, "invalid_path", "Bad request: the path contains an encoded slash or "+
			"backslash, an invalid escape, an empty segment or a '..' above the root.")
		return &admission{done: true}
	}
	adm := &admission{method: method, upgrade: isUpgrade(ctx), path: path, changed: path != decoded}
	host := string(ctx.Request.Header.Host())
	res, err := s.cfg.Resolver.Resolve(workContext, resolve.NormalizeHost(host), path)
	if err != nil {
		s.log.Error("Resolving the pod of a request failed", "host", host, "path", path, "error", err)
		s.reply(ctx, method, resolve.OutsidePods, http.StatusServiceUnavailable,
			"Service unavailable: the pod of this request cannot be resolved right now.")
		adm.done = true
		return adm
	}
	switch res.Status {
	case resolve.InPod:
		adm.ex = s.newExchange(ctx, method, host, res.Target, path)
		adm.done = s.admitInPod(ctx, adm)
	case resolve.UnknownPod:
		s.metrics.unresolved.WithLabelValues(res.Status.String(), "rejected").Inc()
		s.reply(ctx, method, res.Status, http.StatusNotFound,
			fmt.Sprintf("Not found: pod %q is not in the enforcer's account map.", res.PodName))
		adm.done = true
	default:
		adm.done = s.admitOutsidePods(ctx, method)
	}
	return adm
}

func (s *Server) newExchange(ctx *fasthttp.RequestCtx, method, host string, target resolve.Target,
	path string) *exchange {
	return &exchange{
		srv:      s,
		ctx:      ctx,
		host:     host,
		method:   method,
		target:   target,
		path:     path,
		account:  s.limits.Get(workContext, target.AccountID),
		counters: s.ledger.Pod(target.PodID, target.AccountID),
		throttle: s.cfg.Enforce,
	}
}

// admitInPod prepares the storage side of a write into a pod. It reports true when it rejected
// the write, after finishing the exchange.
func (s *Server) admitInPod(ctx *fasthttp.RequestCtx, adm *admission) bool {
	ex := adm.ex
	kind, ok := classifyWrite(ex.method, ex.path)
	if !ok || adm.upgrade {
		return false
	}
	wr, rejected := s.beginWrite(ctx, ex, kind)
	ex.write = wr
	if rejected {
		ex.status = ctx.Response.StatusCode()
		ex.addEgress(len(ctx.Response.Body()))
		ex.finish()
	}
	return rejected
}

// admitOutsidePods applies the policy for writes that target no pod. It reports true when it
// rejected the request.
func (s *Server) admitOutsidePods(ctx *fasthttp.RequestCtx, method string) bool {
	reason := resolve.OutsidePods.String()
	switch method {
	case http.MethodPut, http.MethodPatch, http.MethodDelete:
		if s.cfg.RejectWritesOutsidePods {
			s.metrics.unresolved.WithLabelValues(reason, "rejected").Inc()
			s.reply(ctx, method, resolve.OutsidePods, http.StatusForbidden,
				"Forbidden: this enforcer rejects writes outside pods.")
			return true
		}
	}
	s.metrics.unresolved.WithLabelValues(reason, "passed").Inc()
	return false
}

func (s *Server) rejectInvalid(ctx *fasthttp.RequestCtx, method, reason, message string) {
	s.metrics.invalidRequests.WithLabelValues(reason).Inc()
	s.reply(ctx, method, resolve.OutsidePods, http.StatusBadRequest, message)
	// The connection's framing cannot be trusted any more, so it is closed after the response.
	ctx.SetConnectionClose()
}

// reply sets a plain-text response with the status code and counts the request.
func (s *Server) reply(ctx *fasthttp.RequestCtx, method string, scope resolve.Status, code int, message string) {
	s.countRequest(method, code, scope)
	writeMessage(&ctx.Response, code, message)
}

// writeMessage sets a plain-text response, as http.Error writes it.
func writeMessage(resp *fasthttp.Response, code int, message string) {
	resp.Reset()
	resp.SetStatusCode(code)
	resp.Header.SetContentType("text/plain; charset=utf-8")
	resp.Header.Set("X-Content-Type-Options", "nosniff")
	resp.SetBodyString(message + "\n")
}

// serveOutsidePods forwards a request that targets no pod without metering or throttling it.
func (s *Server) serveOutsidePods(ctx *fasthttp.RequestCtx, adm *admission) {
	if adm.upgrade {
		s.serveUpgrade(ctx, adm, nil)
		return
	}
	status := s.forward(ctx, adm, nil)
	s.countRequest(adm.method, status, resolve.OutsidePods)
}

// serveInPod meters, throttles and checks a request into a pod and forwards it.
func (s *Server) serveInPod(ctx *fasthttp.RequestCtx, adm *admission) {
	ex := adm.ex
	if adm.upgrade {
		s.serveUpgrade(ctx, adm, ex)
		return
	}
	ex.status = s.forward(ctx, adm, ex)
	if !ctx.Response.IsBodyStream() {
		// The enforcer's own responses, such as 413, count as egress like the pod server's.
		ex.addEgress(len(ctx.Response.Body()))
		ex.finish()
	}
}

// recoverPanic keeps a failing request from stopping the whole proxy: it logs the panic and
// responds 500 with the connection closed.
func (s *Server) recoverPanic(ctx *fasthttp.RequestCtx) {
	if v := recover(); v != nil {
		s.log.Error("Request handler panicked", "method", string(ctx.Method()), "path", string(ctx.Path()),
			"panic", fmt.Sprint(v), "stack", string(debug.Stack()))
		writeMessage(&ctx.Response, http.StatusInternalServerError, "Internal server error.")
		ctx.SetConnectionClose()
	}
}

func (s *Server) countRequest(method string, code int, scope resolve.Status) {
	s.metrics.requests.WithLabelValues(methodLabel(method), strconv.Itoa(code), scope.String()).Inc()
}

// isUpgrade reports whether the request switches protocols, as a WebSocket handshake does: it has
// an Upgrade header, Connection names it and it has no body. Other requests that carry Upgrade,
// such as an h2c offer on a PUT, are forwarded as plain requests without it.
func isUpgrade(ctx *fasthttp.RequestCtx) bool {
	h := &ctx.Request.Header
	if len(h.Peek("Upgrade")) == 0 || requestBodyLength(ctx) != 0 {
		return false
	}
	for _, token := range bytes.Split(h.Peek("Connection"), []byte(",")) {
		if bytes.EqualFold(bytes.TrimSpace(token), []byte("upgrade")) {
			return true
		}
	}
	return false
}
