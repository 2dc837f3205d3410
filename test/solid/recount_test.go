package solid

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"testing"

	"xpod.dev/quota-operator/internal/enforcer/recount"
	"xpod.dev/quota-operator/internal/enforcer/resolve"
	"xpod.dev/quota-operator/internal/testutil/solidtest"
)

// TestRecountMatchesSolidServer writes past the enforcer, recounts the pod with the pod
// server's public host, and checks that storage then equals the documents and ACLs on CSS.
func TestRecountMatchesSolidServer(t *testing.T) {
	e := newEnv(t)
	pod := e.createPod()
	base := e.baseline(pod)
	got := e.do(pod, http.MethodPut, "notes/through.txt", []byte("through the enforcer"), "Content-Type", "text/plain")
	if got.status != http.StatusCreated {
		t.Fatalf("PUT through the enforcer: status %d", got.status)
	}
	e.checkUsage(pod, base)

	// A write straight to CSS, which bypasses the enforcer.
	req, _ := http.NewRequest(http.MethodPut, pod.URL("notes/bypass.bin"), bytes.NewReader(make([]byte, 5000)))
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := pod.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("PUT straight to CSS: status %d", resp.StatusCode)
	}

	resolver, err := resolve.New("path", resolve.Options{ExcludedSegments: []string{"idp"}})
	if err != nil {
		t.Fatal(err)
	}
	loc, err := resolver.Locate(context.Background(), pod.Name)
	if err != nil {
		t.Fatal(err)
	}
	public, _ := url.Parse(e.css.BaseURL)
	loc.Host = public.Host
	upstream, _ := url.Parse("http://" + e.css.Addr)
	walker := &recount.Walker{Transport: http.DefaultTransport, Upstream: upstream, Location: loc}
	result, err := recount.Run(context.Background(), e.pool, walker)
	if err != nil {
		t.Fatalf("recount: %v", err)
	}

	want := pod.Storage(t).Sum(solidtest.Document, solidtest.ACL)
	if result.NewStorageBytes != want {
		t.Errorf("recount set storage to %d, want %d (documents and ACLs on CSS, seeded ones included)",
			result.NewStorageBytes, want)
	}
	if got := e.podUsage(pod.Name).storage; got != want {
		t.Errorf("pod storage_bytes after recount = %d, want %d", got, want)
	}
}
