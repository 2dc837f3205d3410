package enforcer

import (
	"errors"
	"io"
	"time"

	"github.com/valyala/fasthttp"

	"xpod.dev/quota-operator/internal/enforcer/throttle"
)

// clientBodyError is a failure to read the client's request body, as opposed to a failure of the
// pod server.
type clientBodyError struct{ err error }

func (e *clientBodyError) Error() string { return "read the request body: " + e.err.Error() }
func (e *clientBodyError) Unwrap() error { return e.err }

// requestBody counts, throttles and, for writes without Content-Length, limits the body that a
// client uploads. Each read must make progress within the stall timeout.
type requestBody struct {
	ex   *exchange
	body io.Reader
}

func (b *requestBody) Read(p []byte) (int, error) {
	ex := b.ex
	if ex.throttle && len(p) > ex.account.Upload.Chunk() {
		p = p[:ex.account.Upload.Chunk()]
	}
	if ex.write != nil {
		var err error
		if p, err = ex.write.limitRead(p); err != nil {
			return 0, err
		}
	}
	_ = ex.ctx.SetReadDeadline(time.Now().Add(ex.srv.cfg.StallTimeout))
	n, err := b.body.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		err = &clientBodyError{err: err}
	}
	if n == 0 {
		return n, err
	}
	ex.addIngress(n)
	if ex.write != nil {
		if gerr := ex.write.admit(n); gerr != nil {
			return n, gerr
		}
	}
	if ex.throttle {
		waited, werr := ex.account.Upload.Wait(workContext, n)
		if waited > 0 {
			ex.uploadWaited(waited)
		}
		if werr != nil && err == nil {
			err = werr
		}
	}
	return n, err
}

// responseBody streams the pod server's response body to the client. For requests into pods it
// counts and throttles each chunk, and each chunk must reach the client within the stall
// timeout, which frees the connection of a client that stopped reading. Closing it returns the
// upstream connection and finishes the exchange.
type responseBody struct {
	ctx   *fasthttp.RequestCtx
	stall time.Duration
	ex    *exchange
	body  io.Reader
	// release returns the upstream connection.
	release func() error
	// watch is set for streams of unknown length, which may wait long for the pod server.
	watch *clientWatch
}

// readUpstream reads from the pod server's body, watched for a client that leaves meanwhile.
func (b *responseBody) readUpstream(p []byte) (int, error) {
	if b.watch == nil {
		return b.body.Read(p)
	}
	b.watch.start()
	defer b.watch.stop()
	return b.body.Read(p)
}

func (b *responseBody) Read(p []byte) (int, error) {
	ex := b.ex
	if ex == nil {
		n, err := b.readUpstream(p)
		if n > 0 {
			_ = b.ctx.SetWriteDeadline(time.Now().Add(b.stall))
		}
		return n, err
	}
	bucket := ex.account.Download
	if !ex.throttle {
		bucket = unthrottled
	}
	if len(p) > bucket.Chunk() {
		p = p[:bucket.Chunk()]
	}
	n, err := b.readUpstream(p)
	if n == 0 {
		return n, err
	}
	waited, werr := bucket.Wait(workContext, n)
	if waited > 0 {
		ex.downloadWaited(waited)
	}
	if werr != nil && err == nil {
		err = werr
	}
	_ = b.ctx.SetWriteDeadline(time.Now().Add(b.stall))
	ex.addEgress(n)
	return n, err
}

func (b *responseBody) Close() error {
	err := b.release()
	if b.ex != nil {
		b.ex.finish()
	}
	return err
}

// stallReader reads a request body outside pods, where each read must make progress within the
// stall timeout as well.
type stallReader struct {
	ctx   *fasthttp.RequestCtx
	stall time.Duration
	body  io.Reader
}

func (r *stallReader) Read(p []byte) (int, error) {
	_ = r.ctx.SetReadDeadline(time.Now().Add(r.stall))
	n, err := r.body.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		err = &clientBodyError{err: err}
	}
	return n, err
}

// unthrottled is a bucket without a limit, for requests that are metered but not throttled.
var unthrottled = throttle.NewBucket(0)
