package enforcer

import (
	"bytes"

	"github.com/valyala/fasthttp"
)

// hopHeaders apply to one connection only and are not forwarded in either direction.
var hopHeaders = []string{
	"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization", "Te",
	"Trailer", "Upgrade",
}

// forwardedHeaders are replaced by the enforcer's own unless TrustForwardedHeaders is set.
var forwardedHeaders = []string{"Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto"}

var (
	xForwardedFor   = []byte("X-Forwarded-For")
	xForwardedHost  = []byte("X-Forwarded-Host")
	xForwardedProto = []byte("X-Forwarded-Proto")
)

// hopNames and forwardedNames map lower-case header names to the names above.
var (
	hopNames       = lowerNames(hopHeaders)
	forwardedNames = lowerNames(forwardedHeaders)
)

func lowerNames(names []string) map[string]string {
	m := make(map[string]string, len(names))
	for _, name := range names {
		m[string(bytes.ToLower([]byte(name)))] = name
	}
	return m
}

type headerDeleter interface{ Del(key string) }

// removeHopHeaders deletes every hop-by-hop header and the headers that connection names.
func removeHopHeaders(h headerDeleter, connection []byte) {
	for _, token := range bytes.Split(connection, []byte(",")) {
		if name := bytes.TrimSpace(token); len(name) > 0 {
			h.Del(string(name))
		}
	}
	for _, name := range hopHeaders {
		h.Del(name)
	}
}

// removeRequestHopHeaders deletes from out the hop-by-hop headers among the client's raw header
// lines, and the headers that Connection names, so absent names cost no lookup. It reports
// whether the client sent any of the forwarded headers.
func removeRequestHopHeaders(in *fasthttp.RequestHeader, out *fasthttp.RequestHeader) bool {
	raw := in.RawHeaders()
	if len(raw) == 0 {
		removeHopHeaders(out, in.Peek("Connection"))
		return true
	}
	forwarded, removedAll := false, false
	var buf [24]byte
	for field := range rawFieldNames(raw) {
		lower := lowerASCII(&buf, field)
		if _, ok := forwardedNames[string(lower)]; ok {
			forwarded = true
		}
		name, ok := hopNames[string(lower)]
		switch {
		case !ok || removedAll:
		case name == "Connection":
			removeHopHeaders(out, in.Peek("Connection"))
			removedAll = true
		default:
			out.Del(name)
		}
	}
	return forwarded
}

// removeResponseHopHeaders deletes from out the hop-by-hop headers that the pod server's
// response up contains, and the headers that its Connection header names.
func removeResponseHopHeaders(up *fasthttp.ResponseHeader, out *fasthttp.ResponseHeader) {
	var found [8]string
	var buf [24]byte
	n := 0
	for key := range up.All() {
		if name, ok := hopNames[string(lowerASCII(&buf, key))]; ok && n < len(found) {
			found[n] = name
			n++
		}
	}
	for _, name := range found[:n] {
		if name == "Connection" {
			removeHopHeaders(out, up.Peek("Connection"))
			return
		}
		out.Del(name)
	}
}

// lowerASCII writes a lower-case copy of a header name into buf and returns it, or returns the
// name itself when it is longer than buf, since no name looked up is that long.
func lowerASCII(buf *[24]byte, name []byte) []byte {
	if len(name) > len(buf) {
		return name
	}
	for i, c := range name {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	return buf[:len(name)]
}

// joinValues returns every value of a header joined with ", ".
func joinValues(h *fasthttp.RequestHeader, name string) string {
	var joined []byte
	for _, v := range h.PeekAll(name) {
		if len(joined) > 0 {
			joined = append(joined, ", "...)
		}
		joined = append(joined, v...)
	}
	return string(joined)
}
