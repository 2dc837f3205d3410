package framing

import (
	"bytes"
	"strconv"
	"strings"
)

// headInfo is the body framing that one request head declares.
type headInfo struct {
	// reason is set when the framing is ambiguous.
	reason  string
	chunked bool
	length  int64
	upgrade bool
	// unsupported is set for heads net/http rejects or does not parse as HTTP/1.x, such as an
	// HTTP/2 preface or a transfer coding other than chunked.
	unsupported bool
}

// Reasons written into MarkerHeader.
const (
	ReasonLengthAndChunked   = "content-length-with-transfer-encoding"
	ReasonConflictingLengths = "conflicting-content-length"
	ReasonInvalidLength      = "invalid-content-length"
)

func inspectHead(head []byte) headInfo {
	lines := strings.Split(strings.TrimRight(string(head), "\r\n"), "\r\n")
	if !strings.HasPrefix(lastField(lines[0]), "HTTP/1.") {
		return headInfo{unsupported: true}
	}
	var lengths, encodings []string
	info := headInfo{}
	for _, line := range lines[1:] {
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		value = strings.TrimSpace(value)
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "content-length":
			lengths = append(lengths, value)
		case "transfer-encoding":
			encodings = append(encodings, value)
		case "upgrade":
			info.upgrade = true
		}
	}
	return classify(info, lengths, encodings)
}

func classify(info headInfo, lengths, encodings []string) headInfo {
	if len(lengths) > 0 && len(encodings) > 0 {
		info.reason = ReasonLengthAndChunked
		return info
	}
	if len(encodings) > 0 {
		if len(encodings) == 1 && strings.EqualFold(encodings[0], "chunked") {
			info.chunked = true
		} else {
			info.unsupported = true
		}
		return info
	}
	if len(lengths) == 0 {
		return info
	}
	for _, l := range lengths[1:] {
		if l != lengths[0] {
			info.reason = ReasonConflictingLengths
			return info
		}
	}
	n, err := strconv.ParseInt(lengths[0], 10, 64)
	if err != nil || n < 0 || strings.HasPrefix(lengths[0], "+") {
		info.reason = ReasonInvalidLength
		return info
	}
	info.length = n
	return info
}

func lastField(line string) string {
	fields := bytes.Fields([]byte(line))
	if len(fields) == 0 {
		return ""
	}
	return string(fields[len(fields)-1])
}
