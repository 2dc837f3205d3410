package enforcer

import (
	"net/http"
)

// Metric label values come from a fixed set, so a client cannot create new time series by
// sending odd methods.

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
