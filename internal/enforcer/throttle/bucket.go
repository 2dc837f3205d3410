// Package throttle limits transfer rates with token buckets from golang.org/x/time/rate.
package throttle

import (
	"context"
	"time"

	"golang.org/x/time/rate"
)

// Burst bounds in bytes. The burst is a tenth of a second at the limit, so a transfer can exceed
// its limit by at most that much over any period, and never waits in chunks smaller than 4 KiB.
const (
	minBurst = 4 << 10
	maxBurst = 4 << 20
	// unthrottledChunk is the chunk size when no limit applies.
	unthrottledChunk = 64 << 10
)

// Bucket is a token bucket of bytes per second. A rate of 0 means not throttled. It is safe for
// concurrent use, so every connection of an account can share one.
type Bucket struct {
	limiter *rate.Limiter
}

// NewBucket returns a full bucket for a rate in bytes per second.
func NewBucket(bytesPerSecond int64) *Bucket {
	b := &Bucket{limiter: rate.NewLimiter(rate.Inf, unthrottledChunk)}
	b.SetRate(bytesPerSecond)
	return b
}

// SetRate changes the rate in bytes per second. Transfers in progress follow the new rate from
// their next chunk.
func (b *Bucket) SetRate(bytesPerSecond int64) {
	if bytesPerSecond <= 0 {
		b.limiter.SetLimit(rate.Inf)
		b.limiter.SetBurst(unthrottledChunk)
		return
	}
	b.limiter.SetBurst(burstFor(bytesPerSecond))
	b.limiter.SetLimit(rate.Limit(bytesPerSecond))
}

// Unthrottled reports whether the bucket lets every byte through at once.
func (b *Bucket) Unthrottled() bool {
	return b.limiter.Limit() == rate.Inf
}

// Chunk returns the maximum number of bytes to move per Wait call.
func (b *Bucket) Chunk() int {
	return b.limiter.Burst()
}

// Wait blocks until n bytes may pass and returns the time it waited. n larger than the burst is
// split, because rate.Limiter.WaitN fails for more than its burst.
func (b *Bucket) Wait(ctx context.Context, n int) (time.Duration, error) {
	if b.Unthrottled() || n <= 0 {
		return 0, nil
	}
	var waited time.Duration
	for n > 0 {
		step := min(n, b.limiter.Burst())
		// Tokens at hand pass without a timer, and without counting as throttled time.
		if b.limiter.AllowN(time.Now(), step) {
			n -= step
			continue
		}
		start := time.Now()
		err := b.limiter.WaitN(ctx, step)
		waited += time.Since(start)
		if err != nil {
			return waited, err
		}
		n -= step
	}
	return waited, nil
}

func burstFor(bytesPerSecond int64) int {
	return int(min(max(bytesPerSecond/10, minBurst), maxBurst))
}
