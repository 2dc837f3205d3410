package adminapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
)

// Error codes of the error responses. They are stable: clients may branch on them.
const (
	CodeUnauthorized          = "unauthorized"
	CodeTokenNotConfigured    = "admin_token_not_configured"
	CodeInvalidAccountID      = "invalid_account_id"
	CodeInvalidJSON           = "invalid_json"
	CodeUnknownField          = "unknown_field"
	CodeDuplicateField        = "duplicate_field"
	CodeInvalidField          = "invalid_field"
	CodeInvalidQuery          = "invalid_query"
	CodeNotFound              = "not_found"
	CodeMethodNotAllowed      = "method_not_allowed"
	CodeManagedByAccountQuota = "managed_by_accountquota"
	CodeBodyTooLarge          = "body_too_large"
	CodeUnsupportedMediaType  = "unsupported_media_type"
	CodeInternal              = "internal_error"
	CodeDatabaseUnavailable   = "database_unavailable"
	CodeKubernetesUnavailable = "kubernetes_unavailable"
)

// retryAfterSeconds is the Retry-After value sent with 503 responses.
const retryAfterSeconds = 5

// errorBody is the JSON body of every error response.
type errorBody struct {
	Error   string `json:"error"`
	Message string `json:"message"`
}

// apiError is a failed request: the HTTP status, the error code and a message that names the
// offending value and the fix.
type apiError struct {
	status  int
	code    string
	message string
	// allow is the Allow header of a 405 response.
	allow string
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

func newError(status int, code, format string, args ...any) *apiError {
	return &apiError{status: status, code: code, message: fmt.Sprintf(format, args...)}
}

// writeError sends e as a JSON error response.
func writeError(w http.ResponseWriter, e *apiError) {
	if e.allow != "" {
		w.Header().Set("Allow", e.allow)
	}
	if e.status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds))
	}
	if e.status == http.StatusRequestEntityTooLarge {
		// net/http then closes the connection instead of reading the unread body to reuse it.
		w.Header().Set("Connection", "close")
	}
	writeJSON(w, e.status, errorBody{Error: e.code, Message: e.message})
}

// writeJSON sends v as the response body. The value types of this package always encode, so an
// encoding failure is a bug and turns into a plain 500.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		body = []byte(`{"error":"internal_error","message":"failed to encode the response"}`)
		status = http.StatusInternalServerError
	}
	body = append(body, '\n')
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
