package enforcer

import (
	"bytes"
	"context"
	"fmt"
	"math/rand"
	"net/http"
	"strings"
	"sync"
	"testing"

	"xpod.dev/quota-operator/internal/enforcer/recount"
	"xpod.dev/quota-operator/internal/enforcer/resolve"
)

const (
	kib = 1 << 10
	mib = 1 << 20
)

func TestStorageChunkedUploadCutAtLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.setQuota("pod-a", ptr(mib), nil)

	head := "PUT /pod-a/big HTTP/1.1\r\nHost: " + e.addr() + "\r\nTransfer-Encoding: chunked\r\n\r\n"
	status, body := rawExchange(t, e.addr(), head, chunkedEncoder(5*mib, 16*kib))

	if status != http.StatusRequestEntityTooLarge {
		t.Fatalf("status = %d, want 413 (body %q)", status, body)
	}
	if !strings.Contains(body, "pod-a") || !strings.Contains(body, "1048576") {
		t.Errorf("413 body %q does not name the account and the limit", body)
	}
	if _, ok := e.upstream.Get("/pod-a/big"); ok {
		t.Errorf("the upstream stored the rejected upload")
	}
	storage := e.checkStorage("pod-a")
	if storage > mib {
		t.Errorf("storage_bytes = %d, above the limit %d", storage, mib)
	}
	// The enforcer stops reading one byte past the allowance, plus what a chunk header adds.
	if ingress := e.podUsage("pod-a").ingress; ingress < mib || ingress > mib+64*kib {
		t.Errorf("ingress = %d bytes, want just above the 1 MiB limit, not the 5 MiB sent", ingress)
	}
}

func TestStorageContentLengthChecks(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.setQuota("pod-a", ptr(mib), nil)

	if status, body := e.do("PUT", "/pod-a/one", make([]byte, 900*kib)); status != http.StatusCreated {
		t.Fatalf("PUT 900 KiB: status %d (%s), want 201", status, body)
	}
	head := fmt.Sprintf("PUT /pod-a/huge HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", 10*mib)
	status, body := rawExchange(t, e.addr(), head, bytes.NewReader(make([]byte, 10*mib)))
	if status != http.StatusRequestEntityTooLarge {
		t.Fatalf("PUT 10 MiB: status %d, want 413", status)
	}
	for _, want := range []string{"pod-a", "921600 bytes used", "limit 1048576 bytes"} {
		if !strings.Contains(body, want) {
			t.Errorf("413 body %q lacks %q", body, want)
		}
	}
	for _, r := range e.upstream.Requests() {
		if r.Path == "/pod-a/huge" {
			t.Errorf("the 10 MiB PUT was forwarded to the upstream")
		}
	}
	if status, _ := e.do("PUT", "/pod-a/two", make([]byte, 100*kib)); status != http.StatusCreated {
		t.Fatalf("PUT 100 KiB: status %d, want 201", status)
	}
	if status, _ := e.do("PUT", "/pod-a/three", make([]byte, 200*kib)); status != http.StatusRequestEntityTooLarge {
		t.Fatalf("PUT 200 KiB: status %d, want 413", status)
	}
	if got := e.checkStorage("pod-a"); got != 1024000 {
		t.Errorf("storage_bytes = %d, want 1024000", got)
	}
	if got := e.accountUsage("pod-a").storage; got != 1024000 {
		t.Errorf("account storage_bytes = %d, want 1024000", got)
	}
}

func TestStorageOverwriteCreditsOldSize(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.setQuota("pod-a", ptr(mib), nil)

	if status, _ := e.do("PUT", "/pod-a/doc", make([]byte, 900*kib)); status != http.StatusCreated {
		t.Fatalf("first PUT: status %d, want 201", status)
	}
	if status, body := e.do("PUT", "/pod-a/doc", make([]byte, 1000*kib)); status != http.StatusResetContent {
		t.Fatalf("overwrite: status %d (%s), want 205", status, body)
	}
	if got := e.checkStorage("pod-a"); got != 1000*kib {
		t.Errorf("storage_bytes = %d, want %d", got, 1000*kib)
	}
}

func TestStorageOverQuotaAllowsDeletesAndReads(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.setQuota("pod-a", ptr(mib), nil)
	for path, size := range map[string]int{"/pod-a/c/a": 500 * kib, "/pod-a/c/b": 400 * kib, "/pod-a/d/x": 100 * kib} {
		if status, _ := e.do("PUT", path, make([]byte, size)); status != http.StatusCreated {
			t.Fatalf("PUT %s: status %d", path, status)
		}
	}
	e.setQuota("pod-a", ptr(10*kib), nil)
	if status, _ := e.do("PUT", "/pod-a/d/y", []byte("z")); status != http.StatusRequestEntityTooLarge {
		t.Errorf("PUT over the lowered limit: status %d, want 413", status)
	}

	if status, _ := e.do("DELETE", "/pod-a/c/a", nil); status != http.StatusResetContent {
		t.Fatalf("DELETE a: status %d, want 205", status)
	}
	if got := e.checkStorage("pod-a"); got != 500*kib {
		t.Errorf("storage after deleting 500 KiB = %d, want %d", got, 500*kib)
	}
	if status, _ := e.do("DELETE", "/pod-a/c/b", nil); status != http.StatusResetContent {
		t.Fatalf("DELETE b: status %d, want 205", status)
	}
	if status, _ := e.do("DELETE", "/pod-a/c/", nil); status != http.StatusResetContent {
		t.Fatalf("DELETE emptied container: status %d, want 205", status)
	}
	if status, _ := e.do("GET", "/pod-a/d/x", nil); status != http.StatusOK {
		t.Errorf("GET over quota: status %d, want 200", status)
	}
	if got := e.checkStorage("pod-a"); got != 100*kib {
		t.Errorf("storage after deletes = %d, want %d", got, 100*kib)
	}
}

func TestStorageFailedWritesNotCharged(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	body := make([]byte, 100*kib)

	if status, _ := e.do("PUT", "/pod-forbidden/x", body, "X-Test-Status", "403"); status != http.StatusForbidden {
		t.Fatalf("PUT answered 403 upstream: status %d", status)
	}
	if status, _ := e.do("PUT", "/pod-error/x", body, "X-Test-Status", "500"); status != http.StatusInternalServerError {
		t.Fatalf("PUT answered 500 upstream: status %d", status)
	}
	e.setQuota("pod-full", ptr(10*kib), nil)
	if status, _ := e.do("PUT", "/pod-full/x", body); status != http.StatusRequestEntityTooLarge {
		t.Fatalf("PUT over quota: status %d", status)
	}
	abortHalfway(t, e.addr(), "/pod-aborted/x", 100_000, 50_000)

	eventually(t, 5*1e9, "the aborted upload is settled", func() bool {
		return e.srv.ledger.Storage("pod-aborted").ReservedBytes == 0
	})
	for _, pod := range []string{"pod-forbidden", "pod-error", "pod-full", "pod-aborted"} {
		if got := e.checkStorage(pod); got != 0 {
			t.Errorf("storage of %s = %d, want 0", pod, got)
		}
	}
	if got := e.podUsage("pod-error").ingress; got != int64(len(body)) {
		t.Errorf("ingress of the upload answered 500 = %d, want %d (all bytes were received)", got, len(body))
	}
	if got := e.podUsage("pod-aborted").ingress; got != 50_000 {
		t.Errorf("ingress of the aborted upload = %d, want the 50000 bytes received", got)
	}
	if got := e.podUsage("pod-full").ingress; got != 0 {
		t.Errorf("ingress of the upload rejected with 413 = %d, want 0 (its body is not read)", got)
	}
}

// abortHalfway announces size bytes, sends sent bytes and closes the connection.
func abortHalfway(t *testing.T, addr, path string, size, sent int) {
	t.Helper()
	conn, err := netDial(addr)
	if err != nil {
		t.Fatal(err)
	}
	head := fmt.Sprintf("PUT %s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", path, size)
	_, _ = conn.Write(append([]byte(head), make([]byte, sent)...))
	// Give the enforcer time to read what was sent before the connection goes.
	sleep(300)
	_ = conn.Close()
}

func TestStorageZeroLimitRejectsAnyByte(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.setQuota("pod-a", ptr(0), nil)

	if status, _ := e.do("PUT", "/pod-a/one-byte", []byte("x")); status != http.StatusRequestEntityTooLarge {
		t.Errorf("1-byte PUT with storage limit 0: status %d, want 413", status)
	}
	if status, _ := e.do("PUT", "/pod-a/empty", []byte{}); status != http.StatusCreated {
		t.Errorf("empty PUT with storage limit 0: status %d, want 201 (it adds no bytes)", status)
	}
	if status, _ := e.do("PATCH", "/pod-a/empty", []byte("INSERT DATA { <a> <b> <c> . }"),
		"Content-Type", "application/sparql-update"); status != http.StatusRequestEntityTooLarge {
		t.Errorf("PATCH with storage limit 0: status %d, want 413", status)
	}
	e.checkStorage("pod-a")
}

func TestStoragePatchMeasuresResult(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	doc := []byte("<a> <b> <c> .\n")
	if status, _ := e.do("PUT", "/pod-a/card", doc, "Content-Type", "text/turtle"); status != http.StatusCreated {
		t.Fatalf("PUT: status %d", status)
	}
	steps := []struct {
		contentType, patch string
	}{
		{"application/sparql-update", "INSERT DATA { <d> <e> <f> . }"},
		{"text/n3", "@prefix solid: <http://www.w3.org/ns/solid/terms#>. _:p a solid:InsertDeletePatch; " +
			"solid:inserts { <g> <h> <i> . }."},
		{"application/sparql-update", "DELETE DATA { <a> <b> <c> . }"},
		{"text/n3", "_:p solid:deletes { <d> <e> <f> . }."},
	}
	for i, step := range steps {
		status, body := e.do("PATCH", "/pod-a/card", []byte(step.patch), "Content-Type", step.contentType)
		if status != http.StatusResetContent {
			t.Fatalf("patch %d: status %d (%s), want 205", i, status, body)
		}
		e.checkStorage("pod-a")
	}
	if status, _ := e.do("PATCH", "/pod-a/new", []byte("INSERT DATA { <x> <y> <z> . }"),
		"Content-Type", "application/sparql-update"); status != http.StatusCreated {
		t.Fatalf("PATCH creating a resource: status %d, want 201", status)
	}
	if got := e.checkStorage("pod-a"); got != int64(len("<g> <h> <i> .\n")+len("<x> <y> <z> .\n")) {
		t.Errorf("storage after patches = %d", got)
	}
}

func TestStoragePostAndAuxiliaryResources(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	req, _ := http.NewRequest("POST", e.front.URL+"/pod-a/inbox/", bytes.NewReader(make([]byte, 3000)))
	req.Header.Set("Slug", "note")
	resp, err := e.front.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusCreated || !strings.HasSuffix(resp.Header.Get("Location"), "/pod-a/inbox/note") {
		t.Fatalf("POST: status %d, Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if got := e.checkStorage("pod-a"); got != 3000 {
		t.Errorf("storage after POST = %d, want 3000", got)
	}

	for path, size := range map[string]int{"/pod-a/inbox/note.acl": 200, "/pod-a/inbox/note.meta": 50,
		"/pod-a/inbox/.acl": 70} {
		if status, _ := e.do("PUT", path, make([]byte, size)); status != http.StatusCreated {
			t.Fatalf("PUT %s: status %d", path, status)
		}
	}
	if got := e.checkStorage("pod-a"); got != 3320 {
		t.Errorf("storage with auxiliary resources = %d, want 3320", got)
	}
	if status, _ := e.do("DELETE", "/pod-a/inbox/note", nil); status != http.StatusResetContent {
		t.Fatalf("DELETE note: status %d", status)
	}
	if got := e.checkStorage("pod-a"); got != 70 {
		t.Errorf("storage after deleting the note with its .acl and .meta = %d, want 70", got)
	}
	if status, _ := e.do("DELETE", "/pod-a/inbox/", nil); status != http.StatusResetContent {
		t.Fatalf("DELETE container: status %d", status)
	}
	if got := e.checkStorage("pod-a"); got != 0 {
		t.Errorf("storage after deleting the container with its .acl = %d, want 0", got)
	}
}

func TestStorageConcurrentReservations(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.setQuota("pod-a", ptr(mib), nil)

	var wg sync.WaitGroup
	var mu sync.Mutex
	created := 0
	for i := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			path := fmt.Sprintf("/pod-a/file-%d", i)
			status, _ := e.do("PUT", path, make([]byte, 200*kib))
			if status == http.StatusCreated {
				mu.Lock()
				created++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if created != 5 {
		t.Errorf("%d of 10 concurrent 200 KiB uploads succeeded under a 1 MiB limit, want 5", created)
	}
	if got := e.checkStorage("pod-a"); got != int64(created)*200*kib {
		t.Errorf("storage = %d, want %d", got, created*200*kib)
	}
}

func TestStorageConcurrentChunkedUploads(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.setQuota("pod-a", ptr(mib), nil)

	var wg sync.WaitGroup
	for i := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			head := fmt.Sprintf("PUT /pod-a/chunked-%d HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", i)
			rawExchange(t, e.addr(), head, chunkedEncoder(200*kib, 8*kib))
		}()
	}
	wg.Wait()
	got := e.checkStorage("pod-a")
	if got > mib {
		t.Errorf("storage = %d, above the 1 MiB limit", got)
	}
	if got < 4*200*kib {
		t.Errorf("storage = %d: fewer uploads succeeded than the limit allows", got)
	}
}

func TestStorageConcurrentMixKeepsInvariant(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var wg sync.WaitGroup
	for worker := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewSource(int64(worker)))
			for range 40 {
				path := fmt.Sprintf("/pod-a/dir-%d/file-%d", rng.Intn(3), rng.Intn(8))
				switch rng.Intn(8) {
				case 0, 1:
					e.do("PUT", path, make([]byte, rng.Intn(20*kib)))
				case 2:
					e.do("PATCH", path, []byte(fmt.Sprintf("INSERT DATA { <s%d> <p> <o> . }", rng.Intn(100))),
						"Content-Type", "application/sparql-update")
				case 3:
					e.do("DELETE", path, nil)
				case 4:
					e.do("POST", fmt.Sprintf("/pod-a/dir-%d/", rng.Intn(3)), make([]byte, rng.Intn(5*kib)))
				case 5:
					e.do("PUT", path+[]string{".acl", ".meta"}[rng.Intn(2)], make([]byte, rng.Intn(500)))
				case 6:
					e.do("PUT", fmt.Sprintf("/pod-a/dir-%d/.acl", rng.Intn(3)), make([]byte, rng.Intn(300)))
				default:
					// Succeeds only while the container is empty.
					e.do("DELETE", fmt.Sprintf("/pod-a/dir-%d/", rng.Intn(3)), nil)
				}
			}
		}()
	}
	wg.Wait()
	pod := e.checkStorage("pod-a")
	if account := e.accountUsage("pod-a").storage; account != pod {
		t.Errorf("account storage %d differs from its only pod's storage %d", account, pod)
	}
}

func TestRecountRepairsBypassedWrites(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for path, size := range map[string]int{"/pod-a/a": 1000, "/pod-a/sub/b": 2000, "/pod-a/sub/b.acl": 30} {
		if status, _ := e.do("PUT", path, make([]byte, size)); status != http.StatusCreated {
			t.Fatalf("PUT %s: status %d", path, status)
		}
	}
	e.flush()
	// Writes straight to the pod server, which the enforcer never saw.
	e.upstream.Put("/pod-a/sub/deeper/c", make([]byte, 4000))
	e.upstream.Put("/pod-a/sub/.meta", make([]byte, 40))
	e.upstream.Put("/pod-b/other", make([]byte, 99))

	res, _ := resolve.New("path", resolve.Options{})
	loc, err := res.Locate(context.Background(), "pod-a")
	if err != nil {
		t.Fatal(err)
	}
	walker := &recount.Walker{Transport: http.DefaultTransport, Upstream: e.srv.cfg.Upstream, Location: loc,
		CountDescriptions: true}
	result, err := recount.Run(context.Background(), e.pool, walker)
	if err != nil {
		t.Fatalf("recount: %v", err)
	}
	if result.OldStorageBytes != 3030 || result.NewStorageBytes != 7070 {
		t.Errorf("recount moved storage from %d to %d, want 3030 to 7070", result.OldStorageBytes, result.NewStorageBytes)
	}
	e.checkStorage("pod-a")
	if got := e.accountUsage("pod-a").storage; got != 7070 {
		t.Errorf("account storage after recount = %d, want 7070", got)
	}

	// Charges after the recount build on the repaired figures.
	if status, _ := e.do("DELETE", "/pod-a/sub/deeper/c", nil); status != http.StatusResetContent {
		t.Fatalf("DELETE: status %d", status)
	}
	if got := e.checkStorage("pod-a"); got != 3070 {
		t.Errorf("storage after deleting the bypassed resource = %d, want 3070", got)
	}
}

func TestStorageRejectionReachesUploadingClient(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.setQuota("pod-a", ptr(mib), nil)
	body := bytes.Repeat([]byte("u"), 8*mib)
	for i := range 5 {
		// The client keeps sending its body while the 413 comes back, so the rejection must
		// not be lost to a connection reset.
		req, err := http.NewRequest("PUT", fmt.Sprintf("%s/pod-a/too-big-%d", e.front.URL, i), bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := e.front.Client().Do(req)
		if err != nil {
			t.Fatalf("PUT %d of 8 MiB over a 1 MiB limit: %v, want a 413 response", i, err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("PUT %d: status %d, want 413", i, resp.StatusCode)
		}
	}
}
