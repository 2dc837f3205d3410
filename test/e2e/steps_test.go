package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"xpod.dev/quota-operator/internal/database"
	"xpod.dev/quota-operator/internal/testutil/kubetest"
)

const waitLong = 30 * time.Second

func (w *world) applySamples() {
	w.kubectl("apply", "-f", filepath.Join(kubetest.RepoRoot(), "config", "samples", "quota_v1alpha1_accountquota.yaml"))
	want := map[string][2]string{
		"alice": {"21474836480", "5242880"},
		"bob":   {"0", "NULL"},
		"carol": {"NULL", "0"},
	}
	for account, limits := range want {
		w.waitFor("row of "+account, waitLong, func() bool {
			q, ok := w.row(account)
			return ok && limitString(q.StorageLimitBytes) == limits[0] && limitString(q.BandwidthLimitBps) == limits[1]
		})
	}
}

func (w *world) trafficGivesUsage() {
	before := w.settledUsage("alice")
	data := randomBytes(w.t, 100<<10)
	if status := w.put("alice", "e2e/a.bin", data); status != http.StatusCreated {
		w.t.Fatalf("PUT a.bin: status %d, want 201", status)
	}
	status, body := w.get("alice", "e2e/a.bin")
	if status != http.StatusOK || !bytes.Equal(body, data) {
		w.t.Fatalf("GET a.bin: status %d, %d bytes; want 200 and the uploaded bytes", status, len(body))
	}
	after := w.settledUsage("alice")
	if got := after.storage - before.storage; got != 100<<10 {
		w.t.Errorf("storage grew by %d, want %d", got, 100<<10)
	}
	if got := after.ingress - before.ingress; got != 100<<10 {
		w.t.Errorf("ingress grew by %d, want %d", got, 100<<10)
	}
	if got := after.egress - before.egress; got != 100<<10 {
		w.t.Errorf("egress grew by %d, want %d", got, 100<<10)
	}
	w.waitFor("usage in alice's status", waitLong, func() bool {
		u := w.quota("alice").Status.Usage
		return u != nil && u.StorageBytes == after.storage && u.IngressBytes == after.ingress
	})
	out := w.kubectl("get", "accountquotas", "-n", "default")
	if !strings.Contains(out, "/20Gi") {
		w.t.Errorf("kubectl get shows no used/limit figure for alice:\n%s", out)
	}
}

func (w *world) lowerLimitRejects() {
	used := w.settledUsage("alice").storage
	limit := used + 50<<10
	w.patchAlice(`{"spec":{"storageLimit":"`+itoa(limit)+`"}}`, func(q database.Quota) bool {
		return limitString(q.StorageLimitBytes) == itoa(limit)
	})
	if status := w.put("alice", "e2e/too-big.bin", randomBytes(w.t, 60<<10)); status != http.StatusRequestEntityTooLarge {
		w.t.Fatalf("PUT over the lowered limit: status %d, want 413", status)
	}
	if status, _ := w.get("alice", "e2e/too-big.bin"); status != http.StatusNotFound {
		w.t.Errorf("rejected resource exists upstream: GET status %d, want 404", status)
	}
	if status := w.put("bob", "e2e/one-byte.txt", []byte("x")); status != http.StatusRequestEntityTooLarge {
		w.t.Errorf("PUT of 1 byte with storage limit 0: status %d, want 413", status)
	}
	w.patchAlice(`{"spec":{"storageLimit":"20Gi"}}`, func(q database.Quota) bool {
		return limitString(q.StorageLimitBytes) == "21474836480"
	})
}

// patchAlice patches alice's AccountQuota and waits until the row satisfies done and the
// enforcer has had time to reload limits (it does every second).
func (w *world) patchAlice(patch string, done func(database.Quota) bool) {
	w.t.Helper()
	w.kubectl("patch", "accountquota", "alice", "--type", "merge", "-p", patch)
	w.waitFor("patched limits in alice's row", waitLong, func() bool {
		q, _ := w.row("alice")
		return done(q)
	})
	time.Sleep(3 * time.Second)
}

func (w *world) bandwidthLimitSlows() {
	data := randomBytes(w.t, 1<<20)
	if status := w.put("alice", "e2e/big.bin", data); status != http.StatusCreated {
		w.t.Fatalf("PUT big.bin: status %d, want 201", status)
	}
	w.patchAlice(`{"spec":{"bandwidthLimit":"256Ki"}}`, func(q database.Quota) bool {
		return limitString(q.BandwidthLimitBps) == "262144"
	})

	start := time.Now()
	status, body := w.get("alice", "e2e/big.bin")
	took := time.Since(start)
	if status != http.StatusOK || sha256.Sum256(body) != sha256.Sum256(data) {
		w.t.Fatalf("GET big.bin: status %d, %d bytes; want 200 and the uploaded bytes", status, len(body))
	}
	// 1 MiB at 256 KiB/s takes 4s; the burst (a tenth of a second) and rounding allow some less.
	if took < 3*time.Second {
		w.t.Errorf("1 MiB download at 256Ki/s took %s, want at least 3s", took)
	}
	w.patchAlice(`{"spec":{"bandwidthLimit":"5Mi"}}`, func(q database.Quota) bool {
		return limitString(q.BandwidthLimitBps) == "5242880"
	})
}

func (w *world) adminRoundTrip() {
	status, body := w.admin(http.MethodGet, "/api/quota/dave", "")
	if status != http.StatusOK || !strings.Contains(body, `"source":"default"`) {
		w.t.Fatalf("GET dave: %d %s; want 200 with the default source", status, body)
	}
	status, body = w.admin(http.MethodPut, "/api/quota/dave", `{"storageLimitBytes": 1048576}`)
	if status != http.StatusOK || !strings.Contains(body, `"storageLimitBytes":1048576`) {
		w.t.Fatalf("PUT dave: %d %s; want 200 with the new limit", status, body)
	}
	if q, ok := w.row("dave"); !ok || limitString(q.StorageLimitBytes) != "1048576" {
		w.t.Fatalf("row of dave = %+v (exists %v), want storage 1048576", q, ok)
	}
	time.Sleep(3 * time.Second)
	if status := w.put("dave", "e2e/two-mib.bin", randomBytes(w.t, 2<<20)); status != http.StatusRequestEntityTooLarge {
		w.t.Errorf("PUT of 2 MiB over dave's 1 MiB: status %d, want 413", status)
	}
	status, body = w.admin(http.MethodPut, "/api/quota/carol", `{"storageLimitBytes": 1}`)
	if status != http.StatusConflict || !strings.Contains(body, "default/carol") {
		w.t.Errorf("PUT carol: %d %s; want 409 naming default/carol", status, body)
	}
	if status, body = w.admin(http.MethodDelete, "/api/quota/dave", ""); status != http.StatusOK {
		w.t.Fatalf("DELETE dave: %d %s", status, body)
	}
	if _, ok := w.row("dave"); ok {
		w.t.Error("row of dave still exists after DELETE")
	}
}

// restartsLoseNoBytes uploads and downloads while the enforcer and the manager restart, and
// checks the counters grew by exactly the bytes of the requests that succeeded.
func (w *world) restartsLoseNoBytes() {
	time.Sleep(3 * time.Second) // dave's default limits are loaded again
	before := w.settledUsage("dave")
	var mu sync.Mutex
	var uploaded, downloaded int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for c := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{Timeout: 30 * time.Second}
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				up, down := transferOnce(client, w.s.Pods["dave"].URL, c, i, randomBytes(w.t, 64<<10))
				mu.Lock()
				uploaded, downloaded = uploaded+up, downloaded+down
				mu.Unlock()
			}
		}()
	}
	time.Sleep(2 * time.Second)
	if err := w.s.RestartEnforcer(context.Background()); err != nil {
		w.t.Fatalf("restart enforcer: %v", err)
	}
	time.Sleep(2 * time.Second)
	if err := w.s.RestartManager(context.Background()); err != nil {
		w.t.Fatalf("restart manager: %v", err)
	}
	time.Sleep(2 * time.Second)
	close(stop)
	wg.Wait()

	after := w.settledUsage("dave")
	if uploaded == 0 || downloaded == 0 {
		w.t.Fatalf("no transfer succeeded: %d up, %d down", uploaded, downloaded)
	}
	if got := after.ingress - before.ingress; got != uploaded {
		w.t.Errorf("ingress grew by %d, want %d (the bytes of the uploads that succeeded)", got, uploaded)
	}
	if got := after.egress - before.egress; got != downloaded {
		w.t.Errorf("egress grew by %d, want %d (the bytes of the downloads that succeeded)", got, downloaded)
	}
	if got := after.storage - before.storage; got != uploaded {
		w.t.Errorf("storage grew by %d, want %d", got, uploaded)
	}
}

// transferOnce uploads one new resource and downloads it, and returns the bytes of each
// transfer that completed.
func transferOnce(client *http.Client, url func(string) string, worker, i int, data []byte) (int64, int64) {
	target := url("e2e/restart/" + itoa(int64(worker)) + "-" + itoa(int64(i)) + ".bin")
	req, _ := http.NewRequest(http.MethodPut, target, bytes.NewReader(data))
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := client.Do(req)
	if err != nil {
		time.Sleep(100 * time.Millisecond) // the enforcer is restarting
		return 0, 0
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		return 0, 0
	}
	up := int64(len(data))
	resp, err = client.Get(target)
	if err != nil {
		return up, 0
	}
	defer func() { _ = resp.Body.Close() }()
	var body bytes.Buffer
	if _, err := body.ReadFrom(resp.Body); err != nil || resp.StatusCode != http.StatusOK {
		return up, 0
	}
	return up, int64(body.Len())
}

func (w *world) deleteRemovesRow() {
	w.kubectl("delete", "accountquota", "alice", "bob", "-n", "default", "--wait=true", "--timeout=60s")
	if _, ok := w.row("alice"); ok {
		w.t.Error("row of alice still exists after deleting its AccountQuota (deletionPolicy Delete)")
	}
	if q, ok := w.row("bob"); !ok || limitString(q.StorageLimitBytes) != "0" {
		w.t.Errorf("row of bob = %+v (exists %v), want it kept (deletionPolicy Orphan)", q, ok)
	}
}

func itoa(v int64) string {
	return strconv.FormatInt(v, 10)
}
