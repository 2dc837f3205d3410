package adminapi

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/go-logr/logr"
	"sigs.k8s.io/controller-runtime/pkg/certwatcher"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
)

// Timeouts of the HTTP server. They bound slow clients, while Options.RequestTimeout bounds a
// request's own work.
const (
	readHeaderTimeout      = 10 * time.Second
	readTimeout            = 30 * time.Second
	writeTimeout           = 30 * time.Second
	idleTimeout            = 120 * time.Second
	maxHeaderBytes         = 64 << 10
	DefaultShutdownTimeout = 10 * time.Second
)

// Server serves the API as a controller-runtime Runnable. It runs on every manager replica, not
// only on the leader, because it only uses PostgreSQL and the replica's own informer cache.
type Server struct {
	// Addr is the TCP address to listen on, such as :8443.
	Addr string
	// CertFile and KeyFile are the PEM files of the TLS certificate and key. When both are set, the
	// server speaks HTTPS and reloads them when they change. When both are empty, it speaks plain
	// HTTP.
	CertFile string
	KeyFile  string
	// Handler is the API's handler, from NewHandler.
	Handler http.Handler
	// Tokens is re-read on its interval while the server runs.
	Tokens *TokenFile
	// Logger receives start, stop and server errors. The zero value means controller-runtime's
	// logger, named admin-api.
	Logger logr.Logger
	// ShutdownTimeout bounds the wait for requests in flight at shutdown. Zero means
	// DefaultShutdownTimeout.
	ShutdownTimeout time.Duration

	// listening, when set, receives the bound address once the server accepts connections.
	listening chan<- net.Addr
}

// NeedLeaderElection returns false, so every replica serves the API.
func (s *Server) NeedLeaderElection() bool { return false }

// Start listens on Addr and serves until ctx ends, then waits up to ShutdownTimeout for requests
// in flight.
func (s *Server) Start(ctx context.Context) error {
	if s.Handler == nil || s.Tokens == nil {
		return errors.New("admin API server needs a Handler and Tokens")
	}
	if (s.CertFile == "") != (s.KeyFile == "") {
		return errors.New("admin API TLS needs both a certificate file and a key file")
	}
	logger := s.Logger
	if logger.GetSink() == nil {
		logger = ctrllog.Log.WithName("admin-api")
	}
	srv := s.newHTTPServer(logger)

	listener, err := net.Listen("tcp", s.Addr)
	if err != nil {
		return fmt.Errorf("listen for the admin API on %s: %w", s.Addr, err)
	}
	if s.CertFile != "" {
		watcher, err := certwatcher.New(s.CertFile, s.KeyFile)
		if err != nil {
			_ = listener.Close()
			return fmt.Errorf("load admin API TLS certificate %s and key %s: %w", s.CertFile, s.KeyFile, err)
		}
		go func() {
			if err := watcher.Start(ctx); err != nil {
				logger.Error(err, "Admin API certificate watcher stopped")
			}
		}()
		srv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: watcher.GetCertificate}
		listener = tls.NewListener(listener, srv.TLSConfig)
	}

	go s.Tokens.Run(ctx)
	shutdownDone := make(chan struct{})
	go func() {
		defer close(shutdownDone)
		<-ctx.Done()
		s.shutdown(srv, logger)
	}()

	logger.Info("Starting admin API", "address", listener.Addr().String(), "tls", s.CertFile != "",
		"tokenConfigured", s.Tokens.Configured())
	if s.listening != nil {
		s.listening <- listener.Addr()
	}
	if err := srv.Serve(listener); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve the admin API on %s: %w", s.Addr, err)
	}
	<-shutdownDone
	logger.Info("Stopped admin API")
	return nil
}

// newHTTPServer returns an HTTP/1.1 server. HTTP/2 stays off because an admin API gains nothing
// from it and HTTP/2 servers are exposed to stream reset floods such as Rapid Reset (CVE-2023-44487).
func (s *Server) newHTTPServer(logger logr.Logger) *http.Server {
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	return &http.Server{
		Handler:           s.Handler,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		Protocols:         &protocols,
		ErrorLog:          log.New(serverLogWriter{logger: logger}, "", 0),
	}
}

func (s *Server) shutdown(srv *http.Server, logger logr.Logger) {
	timeout := s.ShutdownTimeout
	if timeout <= 0 {
		timeout = DefaultShutdownTimeout
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		logger.Error(err, "Admin API did not finish its requests in flight before the shutdown timeout",
			"timeout", timeout)
		_ = srv.Close()
	}
}

// serverLogWriter passes net/http's own messages, such as TLS handshake errors, to the logger at
// V(1), because clients can trigger them at will.
type serverLogWriter struct {
	logger logr.Logger
}

func (w serverLogWriter) Write(p []byte) (int, error) {
	w.logger.V(1).Info("HTTP server message", "message", strings.TrimSpace(string(p)))
	return len(p), nil
}
