package throttle

import (
	"context"
	"testing"
	"time"
)

func TestBucketSplitsRequestsAboveBurst(t *testing.T) {
	b := NewBucket(100 << 10) // burst 10 KiB
	start := time.Now()
	waited, err := b.Wait(context.Background(), 30<<10)
	if err != nil {
		t.Fatalf("Wait for three bursts: %v", err)
	}
	// The full bucket covers 10 KiB, so the other 20 KiB take about 0.2 s.
	if elapsed := time.Since(start); elapsed < 150*time.Millisecond || waited < 150*time.Millisecond {
		t.Errorf("Wait returned after %s (reported %s), want about 200ms", elapsed, waited)
	}
}

func TestBucketZeroRateNeverWaits(t *testing.T) {
	b := NewBucket(0)
	if !b.Unthrottled() {
		t.Fatalf("rate 0 is throttled")
	}
	if waited, err := b.Wait(context.Background(), 1<<30); err != nil || waited != 0 {
		t.Errorf("Wait(1 GiB) at rate 0 = %s, %v; want no wait", waited, err)
	}
	b.SetRate(1 << 20)
	if b.Unthrottled() || b.Chunk() != (1<<20)/10 {
		t.Errorf("after SetRate(1 MiB/s): unthrottled %v, chunk %d", b.Unthrottled(), b.Chunk())
	}
	b.SetRate(0)
	if !b.Unthrottled() {
		t.Errorf("SetRate(0) left the bucket throttled")
	}
}

func TestBucketWaitEndsWithContext(t *testing.T) {
	b := NewBucket(4 << 10)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := b.Wait(ctx, 1<<20); err == nil {
		t.Errorf("Wait for 256 s of tokens returned without error after the context ended")
	}
}
