package solid

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"xpod.dev/quota-operator/internal/testutil/solidtest"
)

const binaryType = "application/octet-stream"

// TestQuotaRejectsWritesOverLimit fills a 4096-byte storage limit on CSS, checks that writes over
// it get 413 and leave nothing behind, then lowers the limit below the usage and checks that
// reads and deletes still pass.
func TestQuotaRejectsWritesOverLimit(t *testing.T) {
	e := newEnv(t)
	pod := e.createPod()
	base := e.baseline(pod)
	e.setQuota(pod.Name, ptr(4096), nil)

	resp := e.do(pod, http.MethodPut, "box/item.bin", pattern(1000), "Content-Type", binaryType)
	checkStatus(t, "PUT box/item.bin of 1000 bytes", resp, http.StatusCreated)
	resp = e.do(pod, http.MethodPut, "a.bin", pattern(2000), "Content-Type", binaryType)
	checkStatus(t, "PUT a.bin of 2000 bytes", resp, http.StatusCreated)
	checkStorage(t, "under the limit", e.checkUsage(pod, base), 3000)

	resp = e.putRejected(pod, "b.bin", pattern(2000))
	checkBody(t, "413 for a Content-Length over the limit", resp, pod.Name, "3000 bytes used",
		"needs 2000 more bytes", "limit 4096 bytes")
	checkStorage(t, "after a PUT whose Content-Length exceeds the limit", e.checkUsage(pod, base), 3000)

	// 1096 bytes are left, so the enforcer reads 1097 bytes of the chunked upload and stops.
	resp = e.putChunked(pod, "c.bin", 64*kib)
	checkStatus(t, "chunked PUT of 64 KiB with 1096 bytes left", resp, http.StatusRequestEntityTooLarge)
	checkBody(t, "413 for a chunked upload over the limit", resp, pod.Name, "needs 1097 more bytes", "limit 4096 bytes")
	e.count(pod, 1097, 0)
	e.checkAbsent(pod, "c.bin")
	checkStorage(t, "after a chunked PUT over the limit", e.checkUsage(pod, base), 3000)

	resp = e.do(pod, http.MethodPut, "d.bin", pattern(1096), "Content-Type", binaryType)
	checkStatus(t, "PUT d.bin of the 1096 bytes left", resp, http.StatusCreated)
	checkStorage(t, "at the limit", e.checkUsage(pod, base), 4096)
	resp = e.putRejected(pod, "e.bin", []byte("x"))
	checkBody(t, "413 for 1 byte at the limit", resp, "4096 bytes used", "limit 4096 bytes")

	// Over quota: reads and deletes pass.
	e.setQuota(pod.Name, ptr(1024), nil)
	e.waitForLimit(pod, "limit 1024 bytes")
	resp = e.do(pod, http.MethodGet, "a.bin", nil)
	checkStatus(t, "GET a.bin over quota", resp, http.StatusOK)
	if !bytes.Equal(resp.body, pattern(2000)) {
		t.Errorf("GET a.bin over quota returned %d bytes that differ from the 2000 bytes written", len(resp.body))
	}
	resp = e.do(pod, http.MethodDelete, "box/item.bin", nil)
	checkStatus(t, "DELETE box/item.bin over quota", resp, http.StatusResetContent)
	resp = e.do(pod, http.MethodDelete, "box/", nil)
	checkStatus(t, "DELETE of the emptied box/ over quota", resp, http.StatusResetContent)
	checkStorage(t, "after deleting box/ over quota", e.checkUsage(pod, base), 3096)
	resp = e.do(pod, http.MethodDelete, "a.bin", nil)
	checkStatus(t, "DELETE a.bin over quota", resp, http.StatusResetContent)
	checkStorage(t, "after deleting a.bin over quota", e.checkUsage(pod, base), 1096)

	resp = e.putRejected(pod, "e.bin", []byte("x"))
	checkBody(t, "413 for 1 byte while still over the lowered limit", resp, "1096 bytes used", "limit 1024 bytes")
	checkStorage(t, "at the end", e.checkUsage(pod, base), 1096)
	e.checkNoNegativeCounters()
}

// TestQuotaZeroRejectsAnyByte checks that a storage limit of 0 makes the account read-only.
func TestQuotaZeroRejectsAnyByte(t *testing.T) {
	e := newEnv(t)
	pod := e.createPod()
	base := e.baseline(pod)
	e.setQuota(pod.Name, ptr(0), nil)

	resp := e.putRejected(pod, "one.bin", []byte("x"))
	checkBody(t, "413 for 1 byte with limit 0", resp, pod.Name, "needs 1 more bytes", "limit 0 bytes")

	// An empty document adds no bytes, so it passes.
	resp = e.do(pod, http.MethodPut, "empty.bin", []byte{}, "Content-Type", binaryType)
	checkStatus(t, "PUT of an empty document with limit 0", resp, http.StatusCreated)
	checkStorage(t, "with limit 0", e.checkUsage(pod, base), 0)
}

// putRejected sends a PUT with Content-Length that the enforcer must reject with 413 before it
// reads the body, and checks that CSS stores nothing.
func (e *env) putRejected(pod solidtest.Pod, ref string, body []byte) response {
	e.t.Helper()
	resp := e.do(pod, http.MethodPut, ref, body, "Content-Type", binaryType)
	checkStatus(e.t, "PUT "+ref+" over the limit", resp, http.StatusRequestEntityTooLarge)
	e.count(pod, -int64(len(body)), 0)
	e.checkAbsent(pod, ref)
	return resp
}

// putChunked uploads size bytes without Content-Length, so the client sends the body chunked.
// The caller accounts for the request body, because the enforcer may stop reading it early.
func (e *env) putChunked(pod solidtest.Pod, ref string, size int) response {
	e.t.Helper()
	body := io.MultiReader(bytes.NewReader(pattern(size))) // hides the length from net/http
	req, err := http.NewRequestWithContext(e.t.Context(), http.MethodPut, pod.URL(ref), body)
	if err != nil {
		e.t.Fatalf("build chunked PUT %s: %v", ref, err)
	}
	req.Header.Set("Content-Type", binaryType)
	resp, err := e.send(pod, req)
	if err != nil {
		e.t.Fatalf("chunked PUT %s failed: %v", pod.URL(ref), err)
	}
	return resp
}

// waitForLimit waits until the enforcer applies a changed limit. Each probe is a 1-byte PUT that
// the account's usage already puts over the limit, so the 413 body shows the limit in force.
func (e *env) waitForLimit(pod solidtest.Pod, want string) {
	e.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp := e.putRejected(pod, "probe.bin", []byte("x"))
		if strings.Contains(string(resp.body), want) {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("the enforcer did not apply the changed limit within 5 s: the last 413 says %q, expected %q",
				resp.body, want)
		}
		time.Sleep(refreshInterval)
	}
}

func checkBody(t *testing.T, check string, resp response, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(string(resp.body), w) {
			t.Errorf("%s: body %q lacks %q", check, resp.body, w)
		}
	}
}
