package enforcer

import (
	"errors"
	"io"
	"net/http"
	"time"

	"xpod.dev/quota-operator/internal/enforcer/throttle"
)

// requestBody counts, throttles and, for writes without Content-Length, limits the body that a
// client uploads. Each read must make progress within the stall timeout.
type requestBody struct {
	ex         *exchange
	body       io.ReadCloser
	controller *http.ResponseController
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
	_ = b.controller.SetReadDeadline(time.Now().Add(ex.srv.cfg.StallTimeout))
	n, err := b.body.Read(p)
	if errors.Is(err, io.EOF) {
		// Clear the deadline, or net/http's background read that watches for a closed
		// connection would time out during a long response and cancel the request.
		_ = b.controller.SetReadDeadline(time.Time{})
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
		waited, werr := ex.account.Upload.Wait(ex.in.Context(), n)
		if waited > 0 {
			ex.uploadWaited(waited)
		}
		if werr != nil && err == nil {
			err = werr
		}
	}
	return n, err
}

func (b *requestBody) Close() error { return b.body.Close() }

// responseWriter counts and throttles the response body and records the status code. Each write
// must make progress within the stall timeout, which frees the connection of a client that
// stopped reading.
type responseWriter struct {
	http.ResponseWriter
	ex         *exchange
	controller *http.ResponseController
	status     int
}

func (w *responseWriter) WriteHeader(code int) {
	if code >= 200 && w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *responseWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	ex := w.ex
	bucket := ex.account.Download
	if !ex.throttle {
		bucket = unthrottled
	}
	setDeadline := func() { _ = w.controller.SetWriteDeadline(time.Now().Add(ex.srv.cfg.StallTimeout)) }
	n, err := throttle.WriteChunks(ex.in.Context(), bucket, p, setDeadline, w.writeAndFlush, ex.downloadWaited)
	if n > 0 {
		ex.addEgress(n)
	}
	return n, err
}

// writeAndFlush sends one chunk to the client at once, so throttled and long transfers flow.
func (w *responseWriter) writeAndFlush(p []byte) (int, error) {
	n, err := w.ResponseWriter.Write(p)
	if err != nil {
		return n, err
	}
	if err := w.controller.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return n, err
	}
	return n, nil
}

// Unwrap lets http.ResponseController reach Flush and Hijack of the server's writer.
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// unthrottled is a bucket without a limit, for requests that are metered but not throttled.
var unthrottled = throttle.NewBucket(0)
