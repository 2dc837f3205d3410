package resolve

import (
	"errors"
	"net"
	"strings"
)

// ErrInvalidPath is returned for paths that cannot be mapped to one resource unambiguously.
var ErrInvalidPath = errors.New("invalid request path")

// NormalizeHost lowercases a host, removes a trailing dot and removes the port when it is the
// default port of HTTP or HTTPS.
func NormalizeHost(host string) string {
	host = strings.ToLower(host)
	if h, port, err := net.SplitHostPort(host); err == nil && (port == "80" || port == "443") {
		host = h
	}
	if h, port, err := net.SplitHostPort(host); err == nil {
		return strings.TrimSuffix(h, ".") + ":" + port
	}
	return strings.TrimSuffix(host, ".")
}

// hostWithoutPort returns a normalised host without its port.
func hostWithoutPort(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		return strings.TrimSuffix(h, ".")
	}
	return host
}

// NormalizePath returns the decoded path with its dot-segments removed. escaped is the path as
// the client sent it. It rejects encoded slashes and backslashes, which pod servers decode
// differently, empty segments, NUL bytes and dot-segments that climb above the root.
func NormalizePath(escaped, decoded string) (string, error) {
	if isPlainPath(escaped, decoded) {
		return decoded, nil
	}
	return normalizeSegments(escaped, decoded)
}

// normalizeSegments is NormalizePath for paths that isPlainPath does not accept.
func normalizeSegments(escaped, decoded string) (string, error) {
	lower := strings.ToLower(escaped)
	if strings.Contains(lower, "%2f") || strings.Contains(lower, "%5c") || strings.Contains(lower, "%00") {
		return "", ErrInvalidPath
	}
	if !strings.HasPrefix(decoded, "/") || strings.ContainsAny(decoded, "\\\x00") {
		return "", ErrInvalidPath
	}
	segments := strings.Split(decoded[1:], "/")
	out := make([]string, 0, len(segments))
	for i, s := range segments {
		last := i == len(segments)-1
		switch s {
		case ".":
			if last {
				out = append(out, "")
			}
		case "..":
			if len(out) == 0 {
				return "", ErrInvalidPath
			}
			out = out[:len(out)-1]
			if last {
				out = append(out, "")
			}
		case "":
			if !last {
				return "", ErrInvalidPath
			}
			out = append(out, "")
		default:
			out = append(out, s)
		}
	}
	return "/" + strings.Join(out, "/"), nil
}

// isPlainPath reports whether a path needs no normalisation: it has no escapes, no empty or dot
// segments (nor segments that start with a dot, which the full check looks at), no backslash
// and no NUL byte.
func isPlainPath(escaped, decoded string) bool {
	return strings.HasPrefix(decoded, "/") && escaped == decoded && !strings.Contains(decoded, "//") &&
		!strings.Contains(decoded, "/.") && !strings.ContainsAny(decoded, "%\\\x00")
}
