// Package framing finds HTTP/1.x requests whose body length is ambiguous before net/http parses
// them.
//
// Go's net/http server (checked with Go 1.26) rejects differing Content-Length headers itself,
// but when a request has both Transfer-Encoding: chunked and Content-Length it silently removes
// Content-Length, so a handler cannot see the conflict. A proxy that forwards such a request
// lets two parsers disagree about where it ends, which is how requests are smuggled. The
// Listener here reads each request head as it arrives and adds MarkerHeader to ambiguous ones,
// so the handler can reject them with 400.
package framing

import (
	"bytes"
	"net"
)

// MarkerHeader is added to the head of a request with ambiguous framing. Its value names the
// reason. A handler must reject every request that carries it, including one whose client sent
// it, and must not forward it.
const MarkerHeader = "X-Enforcer-Framing-Error"

// maxHeadBytes is the longest request head that is checked. A longer head is passed on
// unchecked, and net/http rejects it with 431 because its default limit is 1 MiB as well.
const maxHeadBytes = 1 << 20

// Listener wraps a listener so that every accepted connection is checked.
type Listener struct {
	net.Listener
}

// Accept returns the next connection, wrapped.
func (l Listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &conn{Conn: c, parser: parser{state: stateHead}}, nil
}

// conn passes the client's bytes through a parser that follows message boundaries.
type conn struct {
	net.Conn
	parser parser
	out    []byte
	buf    [16 << 10]byte
}

func (c *conn) Read(p []byte) (int, error) {
	if len(c.out) == 0 && len(p) > 0 {
		if n, ok, err := c.readDirect(p); ok {
			return n, err
		}
	}
	for len(c.out) == 0 {
		n, err := c.Conn.Read(c.buf[:])
		if n > 0 {
			c.out = c.parser.feed(c.out, c.buf[:n])
		}
		if err != nil {
			if len(c.out) == 0 {
				return 0, err
			}
			break
		}
	}
	n := copy(p, c.out)
	c.out = c.out[n:]
	if len(c.out) == 0 {
		c.out = nil
	}
	return n, nil
}

// readDirect reads straight into p when the parser is inside a fixed body or chunk data, or
// passes bytes on unchecked, because those bytes need no inspection and copying them through the
// parser's buffer would cost a copy per byte. It reports false when the parser must see the bytes.
func (c *conn) readDirect(p []byte) (int, bool, error) {
	switch c.parser.state {
	case stateRaw:
		n, err := c.Conn.Read(p)
		return n, true, err
	case stateFixed, stateChunkData:
		if c.parser.remaining <= 0 {
			return 0, false, nil
		}
		n, err := c.Conn.Read(p[:min(int64(len(p)), c.parser.remaining)])
		c.parser.remaining -= int64(n)
		if c.parser.remaining == 0 {
			c.parser.finishData()
		}
		return n, true, err
	default:
		return 0, false, nil
	}
}

// insertMarker returns head with the marker header added before the blank line that ends it.
func insertMarker(head []byte, reason string) []byte {
	end := bytes.LastIndex(head, []byte("\r\n\r\n"))
	if end < 0 {
		return head
	}
	out := make([]byte, 0, len(head)+len(MarkerHeader)+len(reason)+4)
	out = append(out, head[:end+2]...)
	out = append(out, MarkerHeader+": "+reason+"\r\n"...)
	return append(out, head[end+2:]...)
}
