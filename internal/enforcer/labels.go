package enforcer

import (
	"net/http"

	"xpod.dev/quota-operator/internal/enforcer/framing"
)

// Metric label values come from a fixed set, so a client cannot create new time series by
// sending odd methods or a forged framing marker.

var knownMethods = map[string]bool{
	http.MethodGet: true, http.MethodHead: true, http.MethodPost: true, http.MethodPut: true,
	http.MethodPatch: true, http.MethodDelete: true, http.MethodOptions: true, http.MethodConnect: true,
	http.MethodTrace: true,
}

// methodLabel returns the method, or "other" for methods outside the standard set.
func methodLabel(method string) string {
	if knownMethods[method] {
		return method
	}
	return "other"
}

// framingReasonLabel returns the reason the framing check wrote, or "forged-marker" for a
// marker value the check never writes, which only a client can have sent.
func framingReasonLabel(reason string) string {
	switch reason {
	case framing.ReasonLengthAndChunked, framing.ReasonConflictingLengths, framing.ReasonInvalidLength:
		return reason
	default:
		return "forged-marker"
	}
}
