package enforcer

import (
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"xpod.dev/quota-operator/internal/database"
	"xpod.dev/quota-operator/internal/enforcer/resolve"
)

func subdomainEnv(t *testing.T, opts resolve.Options) *testEnv {
	t.Helper()
	opts.BaseDomain = "pods.example.test"
	res, err := resolve.New("subdomain", opts)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, func(c *Config) {
		c.Resolver = res
		c.Defaults.StorageBytes = mib
		c.Defaults.BandwidthBps = 256 * kib
	})
	e.upstream.HostScoped = true
	return e
}

func (e *testEnv) doHost(method, host, path string, body []byte) int {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.front.URL+path, nil)
	if body != nil {
		req, _ = http.NewRequest(method, e.front.URL+path, bytesReader(body))
	}
	req.Host = host
	resp, err := e.front.Client().Do(req)
	if err != nil {
		e.t.Fatalf("%s %s%s: %v", method, host, path, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode
}

func TestSubdomainHostForms(t *testing.T) {
	t.Parallel()
	e := subdomainEnv(t, resolve.Options{})
	if status := e.doHost("PUT", "POD-A.pods.example.test.", "/x", make([]byte, 1000)); status != http.StatusCreated {
		t.Fatalf("PUT with upper case and trailing dot: status %d", status)
	}
	if status := e.doHost("PUT", "pod-a.pods.example.test", "/y", make([]byte, 500)); status != http.StatusCreated {
		t.Fatalf("PUT with the canonical host: status %d", status)
	}
	e.flush()
	if got, want := e.podUsage("pod-a").storage, e.upstream.StoredBytes("pod-a.pods.example.test/"); got != 1500 || want != 1500 {
		t.Errorf("storage of pod-a = %d, upstream holds %d; want both 1500 under one pod", got, want)
	}
	if rows := e.podUsage("POD-A").ingress + e.podUsage("pod-a.").ingress; rows != 0 {
		t.Errorf("host variants created usage rows of their own")
	}
}

func TestUnknownPodGetsDefaultLimits(t *testing.T) {
	t.Parallel()
	e := subdomainEnv(t, resolve.Options{})

	// A pod the pod server does not know still belongs to an account, with the default limits.
	if status := e.doHost("PUT", "ghost.pods.example.test", "/big", make([]byte, 2*mib)); status != http.StatusRequestEntityTooLarge {
		t.Errorf("2 MiB PUT under the 1 MiB default storage limit: status %d, want 413", status)
	}
	e.upstream.Put("pod-b.pods.example.test/file", make([]byte, 512*kib))
	if status := e.doHost("GET", "pod-b.pods.example.test", "/file", nil); status != http.StatusOK {
		t.Fatalf("GET: status %d", status)
	}
	if waited := testutil.ToFloat64(e.srv.metrics.throttledSeconds.WithLabelValues("download")); waited < 1 {
		t.Errorf("a 512 KiB download under the 256 KiB/s default limit waited %.2f s, want about 2 s", waited)
	}

	// The base domain itself is outside every pod: passed, unmetered and counted.
	if status := e.doHost("GET", "pods.example.test", "/.well-known/openid-configuration", nil); status != http.StatusNotFound {
		t.Errorf("request outside pods: status %d, want the upstream's 404", status)
	}
	if n := testutil.ToFloat64(e.srv.metrics.unresolved.WithLabelValues("outside_pods", "passed")); n != 1 {
		t.Errorf("unresolved outside_pods passed = %v, want 1", n)
	}
}

func TestUnmappedPodRejected(t *testing.T) {
	t.Parallel()
	e := subdomainEnv(t, resolve.Options{Accounts: map[string]string{"pod-a": "acct-001"}, RejectUnmapped: true})
	if status := e.doHost("PUT", "ghost.pods.example.test", "/x", []byte("data")); status != http.StatusNotFound {
		t.Errorf("PUT into an unmapped pod: status %d, want 404", status)
	}
	if n := testutil.ToFloat64(e.srv.metrics.unresolved.WithLabelValues("unknown_pod", "rejected")); n != 1 {
		t.Errorf("unresolved unknown_pod rejected = %v, want 1", n)
	}
	if len(e.upstream.Requests()) != 0 {
		t.Errorf("the request for an unmapped pod reached the upstream")
	}
	if status := e.doHost("PUT", "pod-a.pods.example.test", "/x", []byte("data")); status != http.StatusCreated {
		t.Fatalf("PUT into a mapped pod: status %d", status)
	}
	e.flush()
	if got := e.accountUsage("acct-001").storage; got != 4 {
		t.Errorf("storage of acct-001 = %d, want 4", got)
	}
}

func TestLimitChangeTakesEffectQuickly(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.LimitsRefreshInterval = time.Second })
	ctx := context.Background()
	if _, err := database.UpsertQuota(ctx, e.pool, database.Quota{AccountID: "pod-a", StorageLimitBytes: ptr(1000)}); err != nil {
		t.Fatal(err)
	}
	if status, _ := e.do("PUT", "/pod-a/x", make([]byte, 2000)); status != http.StatusRequestEntityTooLarge {
		t.Fatalf("PUT over the 1000-byte limit: status %d, want 413", status)
	}

	if _, err := database.UpsertQuota(ctx, e.pool, database.Quota{AccountID: "pod-a", StorageLimitBytes: ptr(mib)}); err != nil {
		t.Fatal(err)
	}
	changed := time.Now()
	eventually(t, 2*time.Second, "the raised limit admits the PUT", func() bool {
		status, _ := e.do("PUT", "/pod-a/x", make([]byte, 2000))
		return status == http.StatusCreated
	})
	t.Logf("raised limit took effect after %s", time.Since(changed))

	if _, err := database.DeleteQuota(ctx, e.pool, "pod-a"); err != nil {
		t.Fatal(err)
	}
	eventually(t, 2*time.Second, "the default applies again after the row is deleted", func() bool {
		return e.srv.limits.Get(ctx, "pod-a").Limits().StorageBytes == 10<<30
	})
}
