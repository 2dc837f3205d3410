package enforcer

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"time"

	"github.com/valyala/fasthttp"
)

// A client whose upload is rejected may still be sending its body. Closing the connection at
// once with unread bytes makes the kernel send a reset, which can destroy the rejection before
// the client reads it. The connection is therefore kept open a little while the rest of the body
// is read and dropped.
const (
	lingerTimeout = 2 * time.Second
	lingerBytes   = 64 << 20
)

// lingerAfterRejection sends the response with Connection: close, then reads and drops what the
// client still sends until it stops, or lingerTimeout or lingerBytes run out, and closes the
// connection. It does nothing for requests without a body and for requests that wait for 100
// Continue, which have not sent their body.
func lingerAfterRejection(ctx *fasthttp.RequestCtx) {
	if requestBodyLength(ctx) == 0 || (ctx.Request.MayContinue() && !continueSent(ctx)) {
		return
	}
	// The server closes a connection whose response has Connection: close before it hands the
	// connection over, so the response is written here instead.
	ctx.Response.SetConnectionClose()
	var head bytes.Buffer
	w := bufio.NewWriter(&head)
	if err := ctx.Response.Write(w); err != nil || w.Flush() != nil {
		return
	}
	ctx.Response.Header.ResetConnectionClose()
	ctx.HijackSetNoResponse(true)
	response := head.Bytes()
	ctx.Hijack(func(c net.Conn) {
		_ = c.SetDeadline(time.Now().Add(lingerTimeout))
		if _, err := c.Write(response); err == nil {
			_, _ = io.CopyN(io.Discard, c, lingerBytes)
		}
		_ = c.Close()
	})
}

type continueSentKey struct{}

// continueSent reports whether the request passed Expect and got 100 Continue.
func continueSent(ctx *fasthttp.RequestCtx) bool {
	return ctx.UserValue(continueSentKey{}) != nil
}
