package throttle

import (
	"context"
	"io"
	"time"
)

// Reader throttles reads from R through Bucket. Each Read returns at most one chunk, so a
// slow account does not hold a large buffer.
type Reader struct {
	Ctx    context.Context
	R      io.Reader
	Bucket *Bucket
	// Waited is called with the time each throttled read waited.
	Waited func(time.Duration)
}

func (r *Reader) Read(p []byte) (int, error) {
	if len(p) > r.Bucket.Chunk() {
		p = p[:r.Bucket.Chunk()]
	}
	n, err := r.R.Read(p)
	if n > 0 {
		waited, werr := r.Bucket.Wait(r.Ctx, n)
		r.report(waited)
		if werr != nil && err == nil {
			err = werr
		}
	}
	return n, err
}

func (r *Reader) report(d time.Duration) {
	if d > 0 && r.Waited != nil {
		r.Waited(d)
	}
}

// WriteChunks writes p through write in chunks of at most the bucket's chunk size, waiting for
// tokens before each. before runs before each chunk is written, after the wait.
func WriteChunks(ctx context.Context, b *Bucket, p []byte, before func(), write func([]byte) (int, error),
	waited func(time.Duration)) (int, error) {
	written := 0
	for len(p) > 0 {
		step := min(len(p), b.Chunk())
		d, err := b.Wait(ctx, step)
		if d > 0 && waited != nil {
			waited(d)
		}
		if err != nil {
			return written, err
		}
		if before != nil {
			before()
		}
		n, err := write(p[:step])
		written += n
		if err != nil {
			return written, err
		}
		p = p[step:]
	}
	return written, nil
}
