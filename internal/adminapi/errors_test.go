package adminapi

import (
	"net/http"
	"strings"
	"testing"
)

func TestErrorResponses(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOptions{})
	const item = "/api/quota/acct-001"
	json := http.Header{"Content-Type": {"application/json"}}

	cases := []struct {
		name   string
		method string
		path   string
		// header is sent with the admin token. Nil means Content-Type: application/json.
		header      http.Header
		body        string
		wantStatus  int
		wantCode    string
		wantMessage string // a part of the message
		wantAllow   string
	}{
		// Routes and methods.
		{name: "unknown route", method: "GET", path: "/api/quotas", wantStatus: 404, wantCode: CodeNotFound,
			wantMessage: "/api/quota/{accountId}"},
		{name: "root", method: "GET", path: "/", wantStatus: 404, wantCode: CodeNotFound},
		{name: "POST on an account", method: "POST", path: item, body: "{}", wantStatus: 405,
			wantCode: CodeMethodNotAllowed, wantMessage: "POST", wantAllow: "GET, HEAD, PUT, DELETE"},
		{name: "PATCH on an account", method: "PATCH", path: item, body: "{}", wantStatus: 405,
			wantCode: CodeMethodNotAllowed, wantAllow: "GET, HEAD, PUT, DELETE"},
		{name: "PUT on the list", method: "PUT", path: "/api/quota", body: "{}", wantStatus: 405,
			wantCode: CodeMethodNotAllowed, wantAllow: "GET, HEAD"},
		{name: "DELETE on the list", method: "DELETE", path: "/api/quota", wantStatus: 405,
			wantCode: CodeMethodNotAllowed, wantAllow: "GET, HEAD"},
		{name: "DELETE on the document", method: "DELETE", path: "/api/openapi.json", wantStatus: 405,
			wantCode: CodeMethodNotAllowed, wantAllow: "GET, HEAD"},

		// Account ids in the raw path, which is never cleaned or redirected.
		{name: "empty account id", method: "GET", path: "/api/quota/", wantStatus: 400, wantCode: CodeInvalidAccountID,
			wantMessage: "empty"},
		{name: "dot-dot", method: "GET", path: "/api/quota/..", wantStatus: 400, wantCode: CodeInvalidAccountID},
		{name: "dot-dot segment", method: "GET", path: "/api/quota/../quota/acct-001", wantStatus: 400,
			wantCode: CodeInvalidAccountID},
		{name: "double slash", method: "GET", path: "/api/quota//acct-001", wantStatus: 400,
			wantCode: CodeInvalidAccountID},
		{name: "trailing slash", method: "PUT", path: item + "/", body: `{"storageLimitBytes": 1}`, wantStatus: 400,
			wantCode: CodeInvalidAccountID},
		{name: "encoded slash", method: "DELETE", path: "/api/quota/acct%2F001", wantStatus: 400,
			wantCode: CodeInvalidAccountID},
		{name: "encoded dot-dot", method: "GET", path: "/api/quota/%2e%2e", wantStatus: 400,
			wantCode: CodeInvalidAccountID},
		{name: "leading dash", method: "GET", path: "/api/quota/-acct", wantStatus: 400, wantCode: CodeInvalidAccountID},
		{name: "too long", method: "GET", path: "/api/quota/" + strings.Repeat("a", 129), wantStatus: 400,
			wantCode: CodeInvalidAccountID, wantMessage: "maximum is 128"},
		{name: "unicode", method: "GET", path: "/api/quota/acct-%C3%A9", wantStatus: 400,
			wantCode: CodeInvalidAccountID},

		// Query strings.
		{name: "unknown query parameter", method: "GET", path: item + "?verbose=1", wantStatus: 400,
			wantCode: CodeInvalidQuery, wantMessage: "verbose"},
		{name: "limit zero", method: "GET", path: "/api/quota?limit=0", wantStatus: 400, wantCode: CodeInvalidQuery,
			wantMessage: "limit"},
		{name: "limit too large", method: "GET", path: "/api/quota?limit=1001", wantStatus: 400,
			wantCode: CodeInvalidQuery, wantMessage: "1 to 1000"},
		{name: "limit not a number", method: "GET", path: "/api/quota?limit=ten", wantStatus: 400,
			wantCode: CodeInvalidQuery},
		{name: "limit twice", method: "GET", path: "/api/quota?limit=1&limit=2", wantStatus: 400,
			wantCode: CodeInvalidQuery, wantMessage: "limit"},
		{name: "forged cursor", method: "GET", path: "/api/quota?cursor=not-a-cursor", wantStatus: 400,
			wantCode: CodeInvalidQuery, wantMessage: "nextCursor"},
		{name: "cursor with SQL", method: "GET", path: "/api/quota?cursor=" + encodeCursor("x' OR '1'='1"),
			wantStatus: 400, wantCode: CodeInvalidQuery},

		// Content type.
		{name: "no content type", method: "PUT", path: item, header: http.Header{}, body: `{}`, wantStatus: 415,
			wantCode: CodeUnsupportedMediaType, wantMessage: "application/json"},
		{name: "text/plain", method: "PUT", path: item, header: http.Header{"Content-Type": {"text/plain"}},
			body: `{}`, wantStatus: 415, wantCode: CodeUnsupportedMediaType},
		{name: "form", method: "PUT", path: item,
			header: http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, body: `storageLimitBytes=1`,
			wantStatus: 415, wantCode: CodeUnsupportedMediaType},
		{name: "latin-1 charset", method: "PUT", path: item,
			header: http.Header{"Content-Type": {"application/json; charset=latin1"}}, body: `{}`, wantStatus: 415,
			wantCode: CodeUnsupportedMediaType},

		// Body syntax and shape.
		{name: "empty body", method: "PUT", path: item, header: json, wantStatus: 400, wantCode: CodeInvalidJSON,
			wantMessage: "empty"},
		{name: "not JSON", method: "PUT", path: item, body: `storage=1`, wantStatus: 400, wantCode: CodeInvalidJSON},
		{name: "truncated", method: "PUT", path: item, body: `{"storageLimitBytes": 1`, wantStatus: 400,
			wantCode: CodeInvalidJSON},
		{name: "trailing comma", method: "PUT", path: item, body: `{"storageLimitBytes": 1,}`, wantStatus: 400,
			wantCode: CodeInvalidJSON},
		{name: "array body", method: "PUT", path: item, body: `[{"storageLimitBytes": 1}]`, wantStatus: 400,
			wantCode: CodeInvalidJSON, wantMessage: "JSON object"},
		{name: "null body", method: "PUT", path: item, body: `null`, wantStatus: 400, wantCode: CodeInvalidJSON},
		{name: "number body", method: "PUT", path: item, body: `5`, wantStatus: 400, wantCode: CodeInvalidJSON},
		{name: "trailing object", method: "PUT", path: item, body: `{"storageLimitBytes": 1}{}`, wantStatus: 400,
			wantCode: CodeInvalidJSON, wantMessage: "after the JSON object"},
		{name: "trailing garbage", method: "PUT", path: item, body: `{"storageLimitBytes": 1} x`, wantStatus: 400,
			wantCode: CodeInvalidJSON},
		{name: "unknown field", method: "PUT", path: item, body: `{"storageLimit": "20Gi"}`, wantStatus: 400,
			wantCode: CodeUnknownField, wantMessage: "storageLimit"},
		{name: "field in other case", method: "PUT", path: item, body: `{"StorageLimitBytes": 1}`, wantStatus: 400,
			wantCode: CodeUnknownField, wantMessage: "StorageLimitBytes"},
		{name: "duplicate field", method: "PUT", path: item,
			body: `{"storageLimitBytes": 1, "storageLimitBytes": 2}`, wantStatus: 400, wantCode: CodeDuplicateField,
			wantMessage: "storageLimitBytes"},
		{name: "duplicate null field", method: "PUT", path: item,
			body: `{"bandwidthLimitBps": null, "bandwidthLimitBps": null}`, wantStatus: 400,
			wantCode: CodeDuplicateField, wantMessage: "bandwidthLimitBps"},
		{name: "deep nesting", method: "PUT", path: item,
			body:       `{"storageLimitBytes": ` + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + `}`,
			wantStatus: 400, wantCode: CodeInvalidField, wantMessage: "storageLimitBytes"},
		{name: "deep nesting at the top", method: "PUT", path: item, body: strings.Repeat("[", 20000), wantStatus: 400,
			wantCode: CodeInvalidJSON},

		// Size.
		{name: "body over 64 KiB", method: "PUT", path: item,
			body: `{"storageLimitBytes": 1` + strings.Repeat(" ", MaxBodyBytes) + `}`, wantStatus: 413,
			wantCode: CodeBodyTooLarge, wantMessage: "65536"},
		{name: "body of exactly 64 KiB", method: "PUT", path: item,
			body:       `{"storageLimitBytes": 1` + strings.Repeat(" ", MaxBodyBytes-len(`{"storageLimitBytes": 1}`)) + `}`,
			wantStatus: 200},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			header := http.Header{"Authorization": {"Bearer " + testToken}}
			extra := c.header
			if extra == nil {
				extra = json
			}
			for name, values := range extra {
				header[name] = values
			}
			res := f.send(c.method, c.path, header, strings.NewReader(c.body))
			if res.status != c.wantStatus {
				t.Fatalf("status = %d, want %d: %s", res.status, c.wantStatus, res.body)
			}
			if got := res.header.Get("Content-Type"); got != "application/json; charset=utf-8" {
				t.Errorf("Content-Type = %q, want application/json; charset=utf-8", got)
			}
			if res.header.Get("Location") != "" {
				t.Errorf("response redirects to %q", res.header.Get("Location"))
			}
			if c.wantStatus == http.StatusOK {
				return
			}
			e := res.errorBody(t)
			if e.Error != c.wantCode {
				t.Errorf("error = %q, want %q (message %q)", e.Error, c.wantCode, e.Message)
			}
			if !strings.Contains(e.Message, c.wantMessage) {
				t.Errorf("message %q does not contain %q", e.Message, c.wantMessage)
			}
			if got := res.header.Get("Allow"); got != c.wantAllow {
				t.Errorf("Allow = %q, want %q", got, c.wantAllow)
			}
			if strings.Contains(string(res.body), "goroutine") || strings.Contains(string(res.body), ".go:") {
				t.Errorf("body looks like a stack trace: %s", res.body)
			}
		})
	}
}

func TestHeadMirrorsGet(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOptions{})
	res := f.request(http.MethodHead, "/api/quota/acct-001", "")
	if res.status != http.StatusOK {
		t.Errorf("HEAD status = %d, want 200", res.status)
	}
	if len(res.body) != 0 {
		t.Errorf("HEAD returned a body of %d bytes", len(res.body))
	}
}
