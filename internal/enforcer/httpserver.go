package enforcer

import (
	"time"

	"github.com/valyala/fasthttp"
)

// headTimeout bounds reading a request head. Bodies have the stall timeout per read instead.
const headTimeout = 30 * time.Second

// Handlers are the functions the HTTP server calls. Server implements them, and a test server
// can implement them by calling a Server.
type Handlers interface {
	Handle(ctx *fasthttp.RequestCtx)
	Expect(ctx *fasthttp.RequestCtx) int
	RejectMalformed(ctx *fasthttp.RequestCtx, err error)
}

// NewHTTPServer returns the HTTP server of the enforcer's proxy: request bodies are streamed,
// Expect: 100-continue is decided by the enforcer's checks before the body is read, and the
// server adds no headers of its own.
func NewHTTPServer(h Handlers, idleTimeout time.Duration) *fasthttp.Server {
	return &fasthttp.Server{
		Handler:                      h.Handle,
		ExpectHandler:                h.Expect,
		ErrorHandler:                 h.RejectMalformed,
		Name:                         "",
		StreamRequestBody:            true,
		DisablePreParseMultipartForm: true,
		NoDefaultServerHeader:        true,
		NoDefaultContentType:         true,
		NoDefaultDate:                true,
		ReadBufferSize:               readBufferSize,
		WriteBufferSize:              writeBufferSize,
		ReadTimeout:                  headTimeout,
		IdleTimeout:                  idleTimeout,
		// Request bodies are streamed, so this bounds only what is read ahead of the handler.
		MaxRequestBodySize:    readBufferSize,
		CloseOnShutdown:       true,
		SecureErrorLogMessage: true,
		Logger:                discardLogger{},
	}
}

// discardLogger drops the HTTP server's own messages about broken client connections, which
// the enforcer's metrics and logs already cover.
type discardLogger struct{}

func (discardLogger) Printf(string, ...any) {}
