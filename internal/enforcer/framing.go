package enforcer

import (
	"bytes"
	"errors"
	"iter"
	"net"
	"net/http"

	"github.com/valyala/fasthttp"

	"xpod.dev/quota-operator/internal/enforcer/resolve"
)

// Reasons of enforcer_invalid_requests_total for requests whose body length is ambiguous or
// whose head cannot be parsed.
const (
	reasonLengthAndChunked = "content-length-with-transfer-encoding"
	reasonMalformed        = "malformed-request"
	reasonHeadTooLarge     = "head-too-large"
	reasonHeadTimeout      = "head-timeout"
)

// ambiguousFraming reports whether a chunked request also carries Content-Length. The HTTP
// server rejects the other ambiguous forms itself (conflicting or invalid Content-Length
// values, transfer codings other than chunked), but it reads a request with both headers as
// chunked, which a server behind the enforcer might read differently.
func ambiguousFraming(h *fasthttp.RequestHeader) bool {
	return h.ContentLength() == -1 && hasRawHeader(h.RawHeaders(), []byte("content-length"))
}

// hasRawHeader reports whether the raw header lines contain a field with the name, in any case.
func hasRawHeader(raw, name []byte) bool {
	for field := range rawFieldNames(raw) {
		if bytes.EqualFold(field, name) {
			return true
		}
	}
	return false
}

// rawFieldNames yields the field name of each line of a request's raw header lines.
func rawFieldNames(raw []byte) iter.Seq[[]byte] {
	return func(yield func([]byte) bool) {
		for len(raw) > 0 {
			var line []byte
			line, raw, _ = bytes.Cut(raw, []byte("\n"))
			field, _, ok := bytes.Cut(line, []byte(":"))
			if ok && !yield(bytes.TrimSpace(field)) {
				return
			}
		}
	}
}

// RejectMalformed sets the response to a request that the HTTP server could not parse, such as one with
// conflicting Content-Length headers, and counts it. The server closes the connection after it.
func (s *Server) RejectMalformed(ctx *fasthttp.RequestCtx, err error) {
	var small *fasthttp.ErrSmallBuffer
	var netErr net.Error
	switch {
	case errors.As(err, &small):
		s.metrics.invalidRequests.WithLabelValues(reasonHeadTooLarge).Inc()
		s.reply(ctx, "other", resolve.OutsidePods, http.StatusRequestHeaderFieldsTooLarge,
			"Request header fields too large: the request head must fit in 32 KiB.")
	case errors.As(err, &netErr) && netErr.Timeout():
		s.metrics.invalidRequests.WithLabelValues(reasonHeadTimeout).Inc()
		s.reply(ctx, "other", resolve.OutsidePods, http.StatusRequestTimeout,
			"Request timeout: the request head did not arrive in time.")
	default:
		s.metrics.invalidRequests.WithLabelValues(reasonMalformed).Inc()
		s.reply(ctx, "other", resolve.OutsidePods, http.StatusBadRequest,
			"Bad request: the request is not valid HTTP/1.1; check its Content-Length and "+
				"Transfer-Encoding headers, which must not conflict.")
	}
}
