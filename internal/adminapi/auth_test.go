package adminapi

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestBadCredentialsGetIdenticalResponses checks that every wrong or malformed credential gets
// the same 401, byte for byte and header for header, and that no statement runs for any of them.
func TestBadCredentialsGetIdenticalResponses(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOptions{})
	flipFirst := "X" + testToken[1:]
	flipLast := testToken[:len(testToken)-1] + "X"

	cases := []struct {
		name   string
		path   string
		header http.Header
	}{
		{"first character differs", "/api/quota/acct-001", http.Header{"Authorization": {"Bearer " + flipFirst}}},
		{"last character differs", "/api/quota/acct-001", http.Header{"Authorization": {"Bearer " + flipLast}}},
		{"too short", "/api/quota/acct-001", http.Header{"Authorization": {"Bearer " + testToken[:10]}}},
		{"too long", "/api/quota/acct-001", http.Header{"Authorization": {"Bearer " + testToken + "0"}}},
		{"missing", "/api/quota/acct-001", http.Header{}},
		{"empty bearer", "/api/quota/acct-001", http.Header{"Authorization": {"Bearer"}}},
		{"bearer and spaces", "/api/quota/acct-001", http.Header{"Authorization": {"Bearer    "}}},
		{"token without scheme", "/api/quota/acct-001", http.Header{"Authorization": {testToken}}},
		{"basic with the token as password", "/api/quota/acct-001", http.Header{"Authorization": {
			"Basic " + base64.StdEncoding.EncodeToString([]byte("admin:"+testToken))}}},
		{"basic with the token as user", "/api/quota/acct-001", http.Header{"Authorization": {
			"Basic " + base64.StdEncoding.EncodeToString([]byte(testToken+":"))}}},
		{"token scheme", "/api/quota/acct-001", http.Header{"Authorization": {"Token " + testToken}}},
		{"query string access_token", "/api/quota/acct-001?access_token=" + url.QueryEscape(testToken), http.Header{}},
		{"query string token", "/api/quota/acct-001?token=" + url.QueryEscape(testToken), http.Header{}},
		{"two Authorization headers", "/api/quota/acct-001", http.Header{"Authorization": {
			"Bearer " + testToken, "Bearer " + testToken}}},
		{"wrong token on the list", "/api/quota", http.Header{"Authorization": {"Bearer " + flipLast}}},
		{"wrong token on an unknown route", "/nope", http.Header{"Authorization": {"Bearer " + flipLast}}},
		{"wrong token on an invalid id", "/api/quota/..", http.Header{"Authorization": {"Bearer " + flipLast}}},
		{"wrong token on the document", "/api/openapi.json", http.Header{"Authorization": {"Bearer " + flipLast}}},
	}

	var first *response
	for _, c := range cases {
		res := f.send(http.MethodGet, c.path, c.header, nil)
		if res.status != http.StatusUnauthorized {
			t.Errorf("%s: status = %d, want 401: %s", c.name, res.status, res.body)
			continue
		}
		if got := res.header.Get("WWW-Authenticate"); !strings.HasPrefix(got, "Bearer") {
			t.Errorf("%s: WWW-Authenticate = %q, want a Bearer challenge", c.name, got)
		}
		if e := res.errorBody(t); e.Error != CodeUnauthorized {
			t.Errorf("%s: error = %q, want %q", c.name, e.Error, CodeUnauthorized)
		}
		res.header.Del("Date")
		if first == nil {
			first = &res
			continue
		}
		if !bytes.Equal(res.body, first.body) {
			t.Errorf("%s: body %s differs from %s", c.name, res.body, first.body)
		}
		if !equalHeaders(res.header, first.header) {
			t.Errorf("%s: headers %v differ from %v", c.name, res.header, first.header)
		}
	}
	if n := f.queries.n.Load(); n != 0 {
		t.Errorf("%d statements ran for unauthenticated requests, want 0", n)
	}

	// The PUT and DELETE of an unauthenticated caller change nothing either.
	f.exec(`INSERT INTO identity_account_quota (account_id, storage_limit_bytes) VALUES ('acct-001', 42)`)
	bad := http.Header{"Authorization": {"Bearer " + flipLast}, "Content-Type": {"application/json"}}
	f.send(http.MethodPut, "/api/quota/acct-001", bad, strings.NewReader(`{"storageLimitBytes": 1}`))
	f.send(http.MethodDelete, "/api/quota/acct-001", bad, nil)
	if row, exists := f.row("acct-001"); !exists || *row.StorageLimitBytes != 42 {
		t.Errorf("row after unauthenticated PUT and DELETE = %+v (exists %t), want storage 42", row, exists)
	}
}

func equalHeaders(a, b http.Header) bool {
	if len(a) != len(b) {
		return false
	}
	for name, values := range a {
		if strings.Join(values, "\n") != strings.Join(b[name], "\n") {
			return false
		}
	}
	return true
}

func TestBearerSchemeIsCaseInsensitive(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOptions{})
	for _, scheme := range []string{"Bearer", "bearer", "BEARER"} {
		res := f.send(http.MethodGet, "/api/quota/acct-001", http.Header{"Authorization": {scheme + " " + testToken}}, nil)
		if res.status != http.StatusOK {
			t.Errorf("scheme %q: status = %d, want 200", scheme, res.status)
		}
	}
}

// TestNoTokenRejectsEverything checks that while the token file is missing or empty every
// request, with any credentials, gets 503 without touching the database, and that the API serves
// once a token is written.
func TestNoTokenRejectsEverything(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOptions{noTokenFile: true})

	requests := []struct {
		method, path string
		header       http.Header
	}{
		{http.MethodGet, "/api/quota/acct-001", http.Header{"Authorization": {"Bearer " + testToken}}},
		{http.MethodGet, "/api/quota/acct-001", http.Header{"Authorization": {"Bearer "}}},
		{http.MethodGet, "/api/quota/acct-001", http.Header{"Authorization": {"Bearer"}}},
		{http.MethodGet, "/api/quota/acct-001", http.Header{}},
		{http.MethodGet, "/api/quota/acct-001", http.Header{"Authorization": {
			"Basic " + base64.StdEncoding.EncodeToString([]byte(":"))}}},
		{http.MethodGet, "/api/quota/acct-001?access_token=", http.Header{}},
		{http.MethodPut, "/api/quota/acct-001", http.Header{"Authorization": {"Bearer " + testToken},
			"Content-Type": {"application/json"}}},
		{http.MethodDelete, "/api/quota/acct-001", http.Header{"Authorization": {"Bearer " + testToken}}},
		{http.MethodGet, "/api/quota", http.Header{"Authorization": {"Bearer " + testToken}}},
		{http.MethodGet, "/api/openapi.json", http.Header{}},
	}
	check := func(state string) {
		t.Helper()
		for _, r := range requests {
			res := f.send(r.method, r.path, r.header, strings.NewReader(`{"storageLimitBytes": 1}`))
			if res.status != http.StatusServiceUnavailable {
				t.Errorf("token file %s: %s %s with %v: status = %d, want 503", state, r.method, r.path,
					r.header, res.status)
				continue
			}
			if e := res.errorBody(t); e.Error != CodeTokenNotConfigured {
				t.Errorf("token file %s: error = %q, want %q", state, e.Error, CodeTokenNotConfigured)
			}
		}
	}

	check("missing")
	for _, empty := range []string{"", "\n", "  \r\n"} {
		f.writeToken(empty)
		f.tokens.Reload()
		check("empty")
	}
	if n := f.queries.n.Load(); n != 0 {
		t.Errorf("%d statements ran without a configured token, want 0", n)
	}
	if _, exists := f.row("acct-001"); exists {
		t.Error("a request without a configured token wrote a row")
	}
	if lines := f.logs.withMessage("Admin API rejects every request"); len(lines) == 0 {
		t.Error("no log line says why the API rejects every request")
	}

	f.writeToken(testToken + "\n")
	f.tokens.Reload()
	if res := f.request(http.MethodGet, "/api/quota/acct-001", ""); res.status != http.StatusOK {
		t.Errorf("after writing a token: status = %d, want 200", res.status)
	}
}
