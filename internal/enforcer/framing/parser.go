package framing

import (
	"bytes"
	"strconv"
	"strings"
)

type state int

const (
	stateHead state = iota
	stateFixed
	stateChunkSize
	stateChunkData
	stateChunkEnd
	stateTrailer
	// stateRaw passes bytes on unchecked: after an upgrade, after a rejected request (the
	// connection closes after its response) and after input the parser does not understand,
	// which net/http rejects in turn.
	stateRaw
)

// parser follows the request boundaries in a client's byte stream.
type parser struct {
	state     state
	pending   []byte // head or chunk-size line collected so far
	remaining int64  // bytes left in a fixed body or a chunk
}

// feed appends data to out, with markers in ambiguous heads, and returns out.
func (p *parser) feed(out, data []byte) []byte {
	for len(data) > 0 {
		var n int
		out, n = p.step(out, data)
		data = data[n:]
	}
	return out
}

// step consumes a prefix of data and returns the output and the number of bytes consumed.
func (p *parser) step(out, data []byte) ([]byte, int) {
	switch p.state {
	case stateHead:
		return p.stepHead(out, data)
	case stateFixed, stateChunkData, stateChunkEnd:
		n := int(min(int64(len(data)), p.remaining))
		p.remaining -= int64(n)
		if p.remaining == 0 {
			p.finishData()
		}
		return append(out, data[:n]...), n
	case stateChunkSize, stateTrailer:
		return p.stepLine(out, data)
	default:
		return append(out, data...), len(data)
	}
}

// finishData moves on once a fixed body, a chunk's data or the CRLF after it is complete.
func (p *parser) finishData() {
	switch p.state {
	case stateFixed:
		p.state = stateHead
	case stateChunkData:
		p.state, p.remaining = stateChunkEnd, 2
	case stateChunkEnd:
		p.state = stateChunkSize
	}
}

func (p *parser) stepHead(out, data []byte) ([]byte, int) {
	// A client may send blank lines before a request line.
	if len(p.pending) == 0 {
		skipped := 0
		for skipped < len(data) && (data[skipped] == '\r' || data[skipped] == '\n') {
			skipped++
		}
		if skipped > 0 {
			return append(out, data[:skipped]...), skipped
		}
	}
	start := max(len(p.pending)-3, 0)
	p.pending = append(p.pending, data...)
	end := bytes.Index(p.pending[start:], []byte("\r\n\r\n"))
	if end < 0 {
		if len(p.pending) > maxHeadBytes {
			out = append(out, p.pending...)
			p.pending, p.state = nil, stateRaw
		}
		return out, len(data)
	}
	headLen := start + end + 4
	consumed := len(data) - (len(p.pending) - headLen)
	head := p.pending[:headLen]
	p.pending = nil
	return p.startBody(out, head), consumed
}

// startBody emits a complete head and chooses how to follow the body after it.
func (p *parser) startBody(out, head []byte) []byte {
	info := inspectHead(head)
	switch {
	case info.reason != "":
		p.state = stateRaw
		return append(out, insertMarker(head, info.reason)...)
	case info.upgrade || info.unsupported:
		p.state = stateRaw
	case info.chunked:
		p.state = stateChunkSize
	case info.length > 0:
		p.state, p.remaining = stateFixed, info.length
	default:
		p.state = stateHead
	}
	return append(out, head...)
}

// stepLine collects one line of a chunked body (a chunk size or a trailer field).
func (p *parser) stepLine(out, data []byte) ([]byte, int) {
	i := bytes.IndexByte(data, '\n')
	if i < 0 {
		p.pending = append(p.pending, data...)
		if len(p.pending) > 64<<10 {
			p.state, p.pending = stateRaw, nil
		}
		return append(out, data...), len(data)
	}
	line := strings.TrimSpace(string(append(p.pending, data[:i]...)))
	p.pending = nil
	if p.state == stateTrailer {
		if line == "" {
			p.state = stateHead
		}
		return append(out, data[:i+1]...), i + 1
	}
	sizeText, _, _ := strings.Cut(line, ";")
	size, err := strconv.ParseInt(strings.TrimSpace(sizeText), 16, 64)
	switch {
	case err != nil || size < 0:
		p.state = stateRaw
	case size == 0:
		p.state = stateTrailer
	default:
		p.state, p.remaining = stateChunkData, size
	}
	return append(out, data[:i+1]...), i + 1
}
