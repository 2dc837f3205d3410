package framing

import (
	"strings"
	"testing"
)

// feedAll runs a byte stream through a parser in pieces of the given size.
func feedAll(stream string, piece int) string {
	p := &parser{state: stateHead}
	var out []byte
	for i := 0; i < len(stream); i += piece {
		out = p.feed(out, []byte(stream[i:min(i+piece, len(stream))]))
	}
	return string(out)
}

func TestParserMarksAmbiguousHeads(t *testing.T) {
	cases := []struct {
		name, stream, reason string
	}{
		{"length and chunked", "PUT /a HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", ReasonLengthAndChunked},
		{"conflicting lengths", "PUT /a HTTP/1.1\r\nContent-Length: 3\r\nContent-length: 4\r\n\r\n", ReasonConflictingLengths},
		{"invalid length", "PUT /a HTTP/1.1\r\nContent-Length: +3\r\n\r\n", ReasonInvalidLength},
	}
	for _, c := range cases {
		for _, piece := range []int{1, 7, 4096} {
			out := feedAll(c.stream, piece)
			if !strings.Contains(out, MarkerHeader+": "+c.reason+"\r\n\r\n") {
				t.Errorf("%s (pieces of %d): output %q lacks the marker", c.name, piece, out)
			}
		}
	}
}

func TestParserFollowsBodies(t *testing.T) {
	stream := "POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" +
		"4;ext=1\r\nabcd\r\n3\r\nefg\r\n0\r\nTrailer-Field: x\r\n\r\n" +
		"PUT /b HTTP/1.1\r\nContent-Length: 44\r\n\r\n" +
		"Content-Length: 1\r\nTransfer-Encoding: chunked" + // a body that looks like headers
		"GET /c HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n"
	for _, piece := range []int{1, 3, 100, 4096} {
		out := feedAll(stream, piece)
		if n := strings.Count(out, MarkerHeader); n != 1 {
			t.Errorf("pieces of %d: %d markers, want only the one on GET /c:\n%q", piece, n, out)
		}
		if !strings.Contains(out, "GET /c HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n"+MarkerHeader) {
			t.Errorf("pieces of %d: the third request is not marked:\n%q", piece, out)
		}
	}
}

func TestParserStopsAfterUpgrade(t *testing.T) {
	stream := "GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n" +
		"Content-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n"
	if out := feedAll(stream, 5); out != stream {
		t.Errorf("bytes after an upgrade were changed:\n%q", out)
	}
}
