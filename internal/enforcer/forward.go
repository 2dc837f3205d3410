package enforcer

import (
	"bytes"
	"errors"
	"net/http"
	"net/url"

	"github.com/valyala/fasthttp"
)

// forward sends the request to the pod server and copies the pod server's response into the
// client's, with the body streamed through. It returns the status code the client gets. ex is
// nil for requests outside pods, which are neither metered nor throttled.
func (s *Server) forward(ctx *fasthttp.RequestCtx, adm *admission, ex *exchange) int {
	out := fasthttp.AcquireRequest()
	defer fasthttp.ReleaseRequest(out)
	s.outgoingRequest(ctx, adm, out)
	if length := requestBodyLength(ctx); length != 0 {
		var body = ctx.RequestBodyStream()
		if body == nil {
			body = bytes.NewReader(ctx.Request.Body())
		}
		if ex != nil {
			body = &requestBody{ex: ex, body: body}
		} else {
			body = &stallReader{ctx: ctx, stall: s.cfg.StallTimeout, body: body}
		}
		out.SetBodyStream(body, int(length))
	}

	up := fasthttp.AcquireResponse()
	if err := s.client.Do(out, up); err != nil {
		fasthttp.ReleaseResponse(up)
		return s.proxyError(ctx, ex, err)
	}
	if ex != nil && ex.write != nil && up.StatusCode() >= 200 && up.StatusCode() < 300 {
		// The write is charged before the client sees the response, so a client that writes
		// again at once is checked against the new figures.
		s.charge(ex, &up.Header)
	}
	s.relayResponse(ctx, up, ex)
	return up.StatusCode()
}

// requestBodyLength returns the length of the request body: -1 for a chunked body and 0 for a
// request with neither Content-Length nor Transfer-Encoding, which has no body.
func requestBodyLength(ctx *fasthttp.RequestCtx) int64 {
	length := ctx.Request.Header.ContentLength()
	if length < -1 {
		return 0
	}
	return int64(length)
}

// outgoingRequest copies the client's request into out: the normalised path, the client's Host,
// the X-Forwarded-* headers and no hop-by-hop headers.
func (s *Server) outgoingRequest(ctx *fasthttp.RequestCtx, adm *admission, out *fasthttp.Request) {
	in := &ctx.Request.Header
	in.CopyTo(&out.Header)
	// CopyTo also copies the flag that makes fasthttp add a default Content-Type to a request with a body.
	out.Header.SetNoDefaultContentType(true)
	out.Header.ResetConnectionClose()
	forwarded := removeRequestHopHeaders(in, &out.Header)
	s.setForwardedHeaders(ctx, &out.Header, forwarded)

	uri := ctx.URI()
	path := uri.PathOriginal()
	if adm.changed {
		path = []byte((&url.URL{Path: adm.path}).EscapedPath())
	}
	target := append([]byte(nil), path...)
	if q := uri.QueryString(); len(q) > 0 {
		target = append(append(target, '?'), q...)
	}
	out.SetRequestURIBytes(target)
	// A request without Host, possible in HTTP/1.0, goes out with the pod server's address, as
	// net/http's reverse proxy sends it.
	if host := ctx.Request.Header.Host(); len(host) > 0 {
		out.UseHostHeader = true
		out.Header.SetHostBytes(host)
	} else {
		out.Header.SetHost(s.cfg.Upstream.Host)
	}
}

// setForwardedHeaders sets X-Forwarded-For, X-Forwarded-Host and X-Forwarded-Proto, keeping the
// client's values only when they come from a trusted ingress.
func (s *Server) setForwardedHeaders(ctx *fasthttp.RequestCtx, h *fasthttp.RequestHeader, present bool) {
	in := &ctx.Request.Header
	clientIP := ctx.RemoteIP().String()
	forwardedFor, host, proto := clientIP, string(in.Host()), "http"
	if ctx.IsTLS() {
		proto = "https"
	}
	if s.cfg.TrustForwardedHeaders {
		if prior := joinValues(in, "X-Forwarded-For"); prior != "" {
			forwardedFor = prior + ", " + clientIP
		}
		if v := in.Peek("X-Forwarded-Host"); len(v) > 0 {
			host = string(v)
		}
		if v := in.Peek("X-Forwarded-Proto"); len(v) > 0 {
			proto = string(v)
		}
	}
	if present {
		for _, name := range forwardedHeaders {
			h.Del(name)
		}
	}
	h.SetCanonical(xForwardedFor, []byte(forwardedFor))
	h.SetCanonical(xForwardedHost, []byte(host))
	h.SetCanonical(xForwardedProto, []byte(proto))
}

// relayResponse copies the pod server's response into the client's, with its body streamed
// through a counting and throttling reader for requests into pods.
func (s *Server) relayResponse(ctx *fasthttp.RequestCtx, up *fasthttp.Response, ex *exchange) {
	resp := &ctx.Response
	up.Header.CopyTo(&resp.Header)
	// CopyTo also copies the upstream response's flag that makes fasthttp add a default Content-Type.
	resp.Header.SetNoDefaultContentType(true)
	resp.Header.ResetConnectionClose()
	removeResponseHopHeaders(&up.Header, &resp.Header)
	length := up.Header.ContentLength()
	if ctx.IsHead() || noBody(up.StatusCode()) {
		fasthttp.ReleaseResponse(up)
		if length >= 0 {
			resp.Header.SetContentLength(length)
		}
		return
	}
	var body = up.BodyStream()
	if body == nil {
		body = bytes.NewReader(up.Body())
	}
	stream := &responseBody{ctx: ctx, stall: s.cfg.StallTimeout, ex: ex, body: body, release: func() error {
		err := up.CloseBodyStream()
		fasthttp.ReleaseResponse(up)
		return err
	}}
	if length < 0 {
		stream.watch = &clientWatch{client: ctx.Conn(), local: up.LocalAddr()}
	}
	resp.SetBodyStream(stream, max(length, -1))
}

// noBody reports whether responses with the status code never have a body.
func noBody(code int) bool {
	return (code >= 100 && code < 200) || code == http.StatusNoContent || code == http.StatusNotModified
}

// proxyError sets the response of a request whose forwarding failed and returns its status code.
func (s *Server) proxyError(ctx *fasthttp.RequestCtx, ex *exchange, err error) int {
	if ex != nil && ex.write != nil {
		if view, need, exceeded := ex.write.quotaExceeded(); exceeded {
			s.rejectOverQuota(&ctx.Response, ex, view, need, ex.write.limit, "stream")
			lingerAfterRejection(ctx)
			return http.StatusRequestEntityTooLarge
		}
	}
	var clientErr *clientBodyError
	if errors.As(err, &clientErr) {
		// The client stopped sending its body, so no one reads this response.
		ctx.SetConnectionClose()
		writeMessage(&ctx.Response, http.StatusBadRequest, "Bad request: the request body ended early.")
		return http.StatusBadRequest
	}
	log := s.log
	if ex != nil {
		log = log.With("account", ex.target.AccountID, "pod", ex.target.PodID)
	}
	log.Warn("Forwarding a request to the pod server failed", "method", string(ctx.Method()),
		"path", string(ctx.Path()), "error", err)
	writeMessage(&ctx.Response, http.StatusBadGateway, "Bad gateway: the pod server did not respond to the request.")
	return http.StatusBadGateway
}
