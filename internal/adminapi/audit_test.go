package adminapi

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// TestAuditLog checks the one log line per successful change: the caller, the account and the
// row before and after, with null for a missing row or an unset limit.
func TestAuditLog(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOptions{})
	f.request(http.MethodPut, "/api/quota/acct-audit", `{"storageLimitBytes": 5}`).quota(t)
	f.request(http.MethodPut, "/api/quota/acct-audit", `{"storageLimitBytes": null, "bandwidthLimitBps": 7}`).quota(t)
	f.request(http.MethodDelete, "/api/quota/acct-audit", "").quota(t)
	f.request(http.MethodDelete, "/api/quota/acct-audit", "").quota(t)
	f.request(http.MethodPut, "/api/quota/acct-audit", `{"storageLimitBytes": -1}`)

	lines := f.logs.withMessage("Admin API ")
	want := []struct {
		action, old, new string
		changed          bool
	}{
		{"update", `null`, `{"bandwidthLimitBps":null,"storageLimitBytes":5}`, true},
		{"update", `{"bandwidthLimitBps":null,"storageLimitBytes":5}`, `{"bandwidthLimitBps":7,"storageLimitBytes":null}`, true},
		{"reset", `{"bandwidthLimitBps":7,"storageLimitBytes":null}`, `null`, true},
		{"reset", `null`, `null`, false},
	}
	if len(lines) != len(want) {
		t.Fatalf("got %d audit lines, want %d: %v", len(lines), len(want), lines)
	}
	for i, w := range want {
		line := lines[i]
		if line["caller"] != CallerAdminToken {
			t.Errorf("line %d: caller = %v, want %s", i, line["caller"], CallerAdminToken)
		}
		if line["accountId"] != "acct-audit" {
			t.Errorf("line %d: accountId = %v, want acct-audit", i, line["accountId"])
		}
		if line["action"] != w.action {
			t.Errorf("line %d: action = %v, want %s", i, line["action"], w.action)
		}
		if line["changed"] != w.changed {
			t.Errorf("line %d: changed = %v, want %t", i, line["changed"], w.changed)
		}
		if got := canonicalJSON(t, line["old"]); got != w.old {
			t.Errorf("line %d: old = %s, want %s", i, got, w.old)
		}
		if got := canonicalJSON(t, line["new"]); got != w.new {
			t.Errorf("line %d: new = %s, want %s", i, got, w.new)
		}
		if strings.Contains(canonicalJSON(t, line), testToken) {
			t.Errorf("line %d contains the token", i)
		}
	}
}

func canonicalJSON(t *testing.T, v any) string {
	t.Helper()
	data, err := json.Marshal(v) // Maps are marshalled with sorted keys.
	if err != nil {
		t.Fatalf("marshal %v: %v", v, err)
	}
	return string(data)
}

// TestRequestMetrics checks that requests are counted per route, method and status on
// controller-runtime's registry. It does not run in parallel, because the counters are shared by
// the whole package.
func TestRequestMetrics(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	putOK := metricRequests.WithLabelValues(routeAccount, "PUT", "200")
	getUnauthorized := metricRequests.WithLabelValues(routeAccount, "GET", "401")
	listOK := metricRequests.WithLabelValues(routeList, "GET", "200")
	other := metricRequests.WithLabelValues(routeOther, "GET", "404")
	before := []float64{counterValue(t, putOK), counterValue(t, getUnauthorized), counterValue(t, listOK),
		counterValue(t, other)}

	f.request(http.MethodPut, "/api/quota/acct-metrics", `{"storageLimitBytes": 1}`)
	f.request(http.MethodPut, "/api/quota/acct-metrics", `{"storageLimitBytes": 2}`)
	f.send(http.MethodGet, "/api/quota/acct-metrics", http.Header{}, nil)
	f.request(http.MethodGet, "/api/quota", "")
	f.request(http.MethodGet, "/no/such/route", "")

	for i, c := range []struct {
		name    string
		counter prometheus.Counter
		delta   float64
	}{
		{"PUT 200 on an account", putOK, 2},
		{"GET 401 on an account", getUnauthorized, 1},
		{"GET 200 on the list", listOK, 1},
		{"GET 404 elsewhere", other, 1},
	} {
		if got := counterValue(t, c.counter) - before[i]; got != c.delta {
			t.Errorf("%s: counter rose by %v, want %v", c.name, got, c.delta)
		}
	}

	families, err := metrics.Registry.Gather()
	if err != nil {
		t.Fatalf("gather metrics: %v", err)
	}
	found := map[string]bool{}
	for _, family := range families {
		found[family.GetName()] = true
	}
	for _, name := range []string{"quota_admin_api_requests_total", "quota_admin_api_request_duration_seconds",
		"quota_admin_api_token_configured"} {
		if !found[name] {
			t.Errorf("metric %s is not on controller-runtime's registry", name)
		}
	}
}

func counterValue(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatalf("read counter: %v", err)
	}
	return m.GetCounter().GetValue()
}
