package adminapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"runtime/debug"
	"strings"
	"time"

	"github.com/go-logr/logr"
	"github.com/jackc/pgx/v5/pgxpool"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"xpod.dev/quota-operator/internal/accountid"
	"xpod.dev/quota-operator/internal/database"
)

// DefaultRequestTimeout bounds the database and Kubernetes work of one request.
const DefaultRequestTimeout = 10 * time.Second

const (
	accountPrefix = routeList + "/"
	methodsGet    = "GET, HEAD"
	methodsItem   = "GET, HEAD, PUT, DELETE"
)

// Defaults are the limits that apply where a quota row leaves a limit unset (NULL).
type Defaults struct {
	// StorageLimitBytes is the default storage limit in bytes.
	StorageLimitBytes int64
	// BandwidthLimitBps is the default bandwidth limit in bytes per second. 0 means not throttled.
	BandwidthLimitBps int64
}

// Options configure the API's handler.
type Options struct {
	// Pool is the connection pool of the database that holds identity_account_quota. Required.
	Pool *pgxpool.Pool
	// Defaults are the manager's default limits.
	Defaults Defaults
	// Owners finds the AccountQuota that manages an account. Required.
	Owners OwnerLookup
	// Tokens checks the admin token. Required.
	Tokens *TokenFile
	// Logger receives the audit log and errors. The zero value means controller-runtime's
	// logger, named admin-api.
	Logger logr.Logger
	// RequestTimeout bounds the database and Kubernetes work of one request. Zero means
	// DefaultRequestTimeout.
	RequestTimeout time.Duration
}

// api routes authenticated requests and writes their responses.
type api struct {
	store    store
	defaults Defaults
	owners   OwnerLookup
	logger   logr.Logger
	timeout  time.Duration
}

// NewHandler returns the API's HTTP handler: metrics, then authentication, then routing. It
// dispatches on the raw request path itself, so a path with "..", "//" or an encoded slash is
// rejected as an invalid account id instead of being cleaned and redirected.
func NewHandler(o Options) (http.Handler, error) {
	if o.Pool == nil || o.Owners == nil || o.Tokens == nil {
		return nil, errors.New("admin API options need Pool, Owners and Tokens")
	}
	if o.Logger.GetSink() == nil {
		o.Logger = ctrllog.Log.WithName("admin-api")
	}
	if o.RequestTimeout <= 0 {
		o.RequestTimeout = DefaultRequestTimeout
	}
	a := &api{store: store{pool: o.Pool}, defaults: o.Defaults, owners: o.Owners, logger: o.Logger,
		timeout: o.RequestTimeout}
	return instrument(recoverPanics(o.Logger, authenticate(o.Tokens, a))), nil
}

// routeOf classifies a raw request path.
func routeOf(escapedPath string) string {
	switch {
	case escapedPath == routeList:
		return routeList
	case strings.HasPrefix(escapedPath, accountPrefix):
		return routeAccount
	case escapedPath == routeOpenAPI:
		return routeOpenAPI
	default:
		return routeOther
	}
}

func (a *api) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.EscapedPath()
	switch routeOf(path) {
	case routeList:
		a.serve(w, r, methodsGet, []string{"limit", "cursor"}, a.list)
	case routeAccount:
		a.serveAccount(w, r, strings.TrimPrefix(path, accountPrefix))
	case routeOpenAPI:
		if err := checkRequest(r, methodsGet, nil); err != nil {
			writeError(w, err)
			return
		}
		writeOpenAPI(w)
	default:
		writeError(w, newError(http.StatusNotFound, CodeNotFound,
			"no route for %s; the API serves /api/quota, /api/quota/{accountId} and /api/openapi.json",
			truncate(path, 100)))
	}
}

// handlerFunc handles one request and returns a JSON value or an error.
type handlerFunc func(ctx context.Context, r *http.Request) (any, *apiError)

// serve checks the method and query, runs h with the request timeout and writes its result.
func (a *api) serve(w http.ResponseWriter, r *http.Request, methods string, params []string, h handlerFunc) {
	if err := checkRequest(r, methods, params); err != nil {
		writeError(w, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), a.timeout)
	defer cancel()
	response, err := h(ctx, r)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, response)
}

func (a *api) serveAccount(w http.ResponseWriter, r *http.Request, rawID string) {
	a.serve(w, r, methodsItem, nil, func(ctx context.Context, r *http.Request) (any, *apiError) {
		accountID, err := parseAccountID(rawID)
		if err != nil {
			return nil, err
		}
		switch r.Method {
		case http.MethodPut:
			return a.put(ctx, r, accountID)
		case http.MethodDelete:
			return a.delete(ctx, accountID)
		default:
			return a.get(ctx, accountID)
		}
	})
}

// checkRequest rejects a method outside methods and query parameters other than params, each
// allowed once.
func checkRequest(r *http.Request, methods string, params []string) *apiError {
	allowed := false
	for _, m := range strings.Split(methods, ", ") {
		allowed = allowed || r.Method == m
	}
	if !allowed {
		e := newError(http.StatusMethodNotAllowed, CodeMethodNotAllowed,
			"method %s is not allowed on %s; use %s", truncate(r.Method, 20), routeOf(r.URL.EscapedPath()), methods)
		e.allow = methods
		return e
	}
	return checkQuery(r.URL.RawQuery, params)
}

func checkQuery(rawQuery string, params []string) *apiError {
	if rawQuery == "" {
		return nil
	}
	values, err := url.ParseQuery(rawQuery)
	if err != nil {
		return newError(http.StatusBadRequest, CodeInvalidQuery, "query string is malformed: %v", err)
	}
	for name, v := range values {
		known := false
		for _, p := range params {
			known = known || name == p
		}
		if !known {
			hint := "this route takes no query parameters"
			if len(params) > 0 {
				hint = "the parameters of this route are " + strings.Join(params, " and ")
			}
			return newError(http.StatusBadRequest, CodeInvalidQuery, "unknown query parameter %q; %s",
				truncate(name, 64), hint)
		}
		if len(v) > 1 {
			return newError(http.StatusBadRequest, CodeInvalidQuery, "query parameter %s appears %d times; give it once",
				name, len(v))
		}
	}
	return nil
}

// parseAccountID decodes the path segment after /api/quota/ and validates it with the account id
// rule that the AccountQuota CRD uses.
func parseAccountID(rawID string) (string, *apiError) {
	id, err := url.PathUnescape(rawID)
	if err == nil {
		err = accountid.Validate(id)
	}
	if err != nil {
		return "", newError(http.StatusBadRequest, CodeInvalidAccountID, "%v", err)
	}
	return id, nil
}

// storeError logs a failed statement and maps it to 503 when the database is unreachable and to
// 500 otherwise. The response never contains the database's message.
func (a *api) storeError(err error, accountID string) *apiError {
	if database.IsUnavailable(err) {
		a.logger.Error(err, "Database unavailable for an admin API request", "accountId", accountID)
		return newError(http.StatusServiceUnavailable, CodeDatabaseUnavailable,
			"the quota database is unavailable; retry the request later")
	}
	a.logger.Error(err, "Admin API statement failed", "accountId", accountID)
	return newError(http.StatusInternalServerError, CodeInternal,
		"the request failed on the server; the manager's log has the details")
}

// recoverPanics turns a panic into a logged error and a JSON 500, so no stack trace reaches the
// client.
func recoverPanics(logger logr.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler { //nolint:errorlint // net/http panics with this exact value.
				panic(v)
			}
			logger.Error(fmt.Errorf("panic: %v", v), "Admin API handler panicked", "path", r.URL.EscapedPath(),
				"stack", string(debug.Stack()))
			writeError(w, newError(http.StatusInternalServerError, CodeInternal,
				"the request failed on the server; the manager's log has the details"))
		}()
		next.ServeHTTP(w, r)
	})
}
