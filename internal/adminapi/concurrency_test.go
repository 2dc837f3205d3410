package adminapi

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
)

// TestConcurrentChangesAllApply runs PUTs of different fields and DELETEs of one account at the
// same time. Every request succeeds, and after PUTs of both fields alone, both limits are set,
// so no PUT overwrote a field that it did not name.
func TestConcurrentChangesAllApply(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOptions{})
	const workers = 8
	const rounds = 10

	statuses := make(chan int, workers*rounds)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range rounds {
				var res response
				switch w % 3 {
				case 0:
					res = f.request(http.MethodPut, "/api/quota/acct-race", fmt.Sprintf(`{"storageLimitBytes": %d}`, i+1))
				case 1:
					res = f.request(http.MethodPut, "/api/quota/acct-race", fmt.Sprintf(`{"bandwidthLimitBps": %d}`, i+1))
				default:
					res = f.request(http.MethodDelete, "/api/quota/acct-race", "")
				}
				statuses <- res.status
			}
		}()
	}
	wg.Wait()
	close(statuses)
	for status := range statuses {
		if status != http.StatusOK {
			t.Errorf("a concurrent request got status %d, want 200", status)
		}
	}

	// With the DELETEs done, one PUT of each field must leave both set.
	var both sync.WaitGroup
	for _, body := range []string{`{"storageLimitBytes": 111}`, `{"bandwidthLimitBps": 222}`} {
		both.Add(1)
		go func() {
			defer both.Done()
			if res := f.request(http.MethodPut, "/api/quota/acct-race", body); res.status != http.StatusOK {
				t.Errorf("PUT %s: status %d", body, res.status)
			}
		}()
	}
	both.Wait()
	row, exists := f.row("acct-race")
	if !exists {
		t.Fatal("no row after the last PUTs")
	}
	if formatLimit(row.StorageLimitBytes) != "111" {
		t.Errorf("storage_limit_bytes = %s, want 111", formatLimit(row.StorageLimitBytes))
	}
	if formatLimit(row.BandwidthLimitBps) != "222" {
		t.Errorf("bandwidth_limit_bps = %s, want 222", formatLimit(row.BandwidthLimitBps))
	}
}
