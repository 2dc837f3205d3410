package solid

import (
	"bytes"
	"crypto/sha256"
	"math/rand/v2"
	"net/http"
	"testing"
	"time"
)

// TestBandwidthThrottlesDownload downloads 1 MiB through the enforcer at a limit of 256 KiB/s.
// The bucket starts full, so only the bytes beyond its burst (a tenth of a second at the limit)
// wait for tokens.
func TestBandwidthThrottlesDownload(t *testing.T) {
	const (
		size  = mib
		limit = 256 * kib
		burst = limit / 10
	)
	e := newEnv(t)
	pod := e.createPod()
	e.setQuota(pod.Name, nil, ptr(limit))

	// The document is seeded straight on CSS, so the upload is neither throttled nor metered.
	content := make([]byte, size)
	random := rand.New(rand.NewPCG(1, 2))
	for i := range content {
		content[i] = byte(random.Uint32())
	}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPut, pod.URL("large.bin"), bytes.NewReader(content))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", binaryType)
	seeded, err := pod.Client().Do(req)
	if err != nil {
		t.Fatalf("seed large.bin on CSS: %v", err)
	}
	_ = seeded.Body.Close()
	if seeded.StatusCode != http.StatusCreated {
		t.Fatalf("seeding large.bin on CSS returned %s, expected 201 Created", seeded.Status)
	}

	// The seeded document is not metered, so the baseline includes it.
	base := e.baseline(pod)

	start := time.Now()
	resp := e.do(pod, http.MethodGet, "large.bin", nil)
	elapsed := time.Since(start)
	checkStatus(t, "GET large.bin", resp, http.StatusOK)
	if len(resp.body) != size {
		t.Fatalf("GET large.bin returned %d bytes, expected %d", len(resp.body), size)
	}
	if got, want := sha256.Sum256(resp.body), sha256.Sum256(content); got != want {
		t.Errorf("GET large.bin returned content with sha256 %x, expected %x", got, want)
	}

	// The bound allows 10% for timer slack. There is no upper bound, because a slow machine
	// may take longer.
	minimum := time.Duration(size-burst) * time.Second / limit * 9 / 10
	t.Logf("1 MiB at a limit of 256 KiB/s took %s (lower bound %s)", elapsed.Round(time.Millisecond), minimum)
	if elapsed < minimum {
		t.Errorf("1 MiB at a limit of 256 KiB/s took %s, expected at least %s", elapsed, minimum)
	}
	// The usage rows show no storage change and an egress of exactly 1 MiB.
	e.checkUsage(pod, base)
}
