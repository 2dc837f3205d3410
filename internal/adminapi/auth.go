package adminapi

import (
	"context"
	"net/http"
	"strings"
)

// CallerAdminToken is the caller identity of a request authenticated with the admin token, as
// it appears in the audit log.
const CallerAdminToken = "admin-token"

// unauthorized is the one response to every bad credential: a missing Authorization header,
// another scheme such as Basic, an empty bearer token or a wrong one. Sending the same status,
// headers and body in each case gives a caller no hint of how close a guess was.
var unauthorized = &apiError{
	status:  http.StatusUnauthorized,
	code:    CodeUnauthorized,
	message: "missing or invalid credentials; send the admin token as Authorization: Bearer <token>",
}

var tokenNotConfigured = &apiError{
	status: http.StatusServiceUnavailable,
	code:   CodeTokenNotConfigured,
	message: "the admin API has no token configured, so it rejects every request; the operator must write a " +
		"token into the file named by --admin-token-file",
}

type callerKey struct{}

// callerFrom returns the identity that authenticate stored in ctx.
func callerFrom(ctx context.Context) string {
	caller, _ := ctx.Value(callerKey{}).(string)
	return caller
}

// authenticate lets a request through only with the admin token in an Authorization: Bearer
// header. It runs before routing, so no database query or Kubernetes lookup happens for an
// unauthenticated request. Tokens in the query string are ignored.
func authenticate(tokens *TokenFile, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !tokens.Configured() {
			writeError(w, tokenNotConfigured)
			return
		}
		token, ok := bearerToken(r)
		valid := tokens.Verify(token) // Hashed even when malformed, so every rejection takes the same work.
		if !ok || !valid {
			w.Header().Set("WWW-Authenticate", `Bearer realm="quota-admin"`)
			writeError(w, unauthorized)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), callerKey{}, CallerAdminToken)))
	})
}

// bearerToken returns the token of the request's only Authorization header. HTTP defines the
// scheme name as case-insensitive. An empty token is not a token.
func bearerToken(r *http.Request) (string, bool) {
	values := r.Header.Values("Authorization")
	if len(values) != 1 {
		return "", false
	}
	scheme, token, found := strings.Cut(values[0], " ")
	if !found || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimLeft(token, " ")
	if token == "" {
		return "", false
	}
	return token, true
}
