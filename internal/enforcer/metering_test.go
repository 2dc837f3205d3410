package enforcer

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestMeteringHeadAndNotModifiedCountZero(t *testing.T) {
	t.Parallel()
	upstream := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("If-None-Match") != "" {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("Content-Length", strconv.Itoa(mib))
		w.Header().Set("ETag", `"v1"`)
		if r.Method == http.MethodGet {
			_, _ = w.Write(make([]byte, mib))
		}
	})
	e := newEnvWith(t, envOptions{upstream: upstream})

	if status, _ := e.do("HEAD", "/pod-a/file", nil); status != http.StatusOK {
		t.Fatalf("HEAD: status %d", status)
	}
	if status, _ := e.do("GET", "/pod-a/file", nil, "If-None-Match", `"v1"`); status != http.StatusNotModified {
		t.Fatalf("conditional GET: status %d, want 304", status)
	}
	e.flush()
	if u := e.podUsage("pod-a"); u.ingress != 0 || u.egress != 0 {
		t.Errorf("usage after HEAD and 304 = %+v, want no bytes", u)
	}

	if status, _ := e.do("GET", "/pod-a/file", nil); status != http.StatusOK {
		t.Fatalf("GET: status %d", status)
	}
	e.flush()
	if u := e.podUsage("pod-a"); u.egress != mib {
		t.Errorf("egress after a full GET = %d, want %d", u.egress, mib)
	}
	if u := e.accountUsage("pod-a"); u.egress != mib {
		t.Errorf("account egress = %d, want %d", u.egress, mib)
	}
}

func TestEnforceFalseMetersOnly(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.Enforce = false })
	e.setQuota("pod-a", ptr(0), ptr(4*kib))
	e.upstream.Put("/pod-a/file", make([]byte, mib))

	if status, _ := e.do("PUT", "/pod-a/x", make([]byte, 10*kib)); status != http.StatusCreated {
		t.Errorf("PUT over the storage limit with enforcement off: status %d, want 201", status)
	}
	start := time.Now()
	if status, _ := e.do("GET", "/pod-a/file", nil); status != http.StatusOK {
		t.Fatalf("GET: status %d", status)
	}
	// At the 4 KiB/s limit this download would take over 4 minutes.
	if elapsed := time.Since(start); elapsed > 30*time.Second {
		t.Errorf("download took %s with enforcement off", elapsed)
	}
	e.flush()
	if u := e.podUsage("pod-a"); u.storage != 10*kib || u.ingress != 10*kib || u.egress != mib {
		t.Errorf("usage = %+v, want storage and ingress %d, egress %d", u, 10*kib, mib)
	}
}

func TestMetricsExposition(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.setQuota("pod-a", ptr(0), nil)
	e.do("PUT", "/pod-a/x", []byte("x"))
	e.do("GET", "/.well-known/solid", nil)
	e.flush()

	rec := httptest.NewRecorder()
	e.srv.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	for _, want := range []string{
		`enforcer_requests_total{code="413",method="PUT",scope="in_pod"} 1`,
		`enforcer_storage_quota_rejections_total{check="content_length"} 1`,
		`enforcer_unresolved_requests_total{action="passed",reason="outside_pods"} 1`,
		`enforcer_flush_duration_seconds_count`,
		`enforcer_pending_usage_records 0`,
		`enforcer_database_available 1`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}
