package enforcer

import (
	"time"

	"github.com/valyala/fasthttp"
)

// headTimeout bounds reading a request head; bodies have the stall timeout per read instead.
const headTimeout = 30 * time.Second

// NewHTTPServer returns the HTTP server that runs a Server's Handle and Expect, or functions
// that call them, with the enforcer's protocol settings: streamed request bodies, Expect:
// 100-continue decided by the enforcer's checks, and no headers of the server's own.
func NewHTTPServer(handle fasthttp.RequestHandler, expect func(*fasthttp.RequestCtx) int,
	idleTimeout time.Duration) *fasthttp.Server {
	return &fasthttp.Server{
		Handler:                      handle,
		ExpectHandler:                expect,
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
