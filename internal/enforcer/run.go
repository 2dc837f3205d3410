package enforcer

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
	"golang.org/x/net/netutil"
)

// ServeOptions are the listeners and timeouts of a running enforcer.
type ServeOptions struct {
	// Listen is the proxy's address.
	Listen string
	// MetricsAddr is the Prometheus endpoint's address; "" or "0" disables it.
	MetricsAddr string
	// ProbeAddr serves /healthz and /readyz; "" or "0" disables it.
	ProbeAddr string
	// MaxConnections caps the client connections open at once; 0 means no cap.
	MaxConnections int
	// ShutdownTimeout bounds draining requests and the final flush together after ctx ends.
	ShutdownTimeout time.Duration
	// IdleTimeout closes keep-alive connections without a request for this long.
	IdleTimeout time.Duration
}

// Serve runs the proxy until ctx ends, then stops accepting requests, waits for the requests in
// flight and writes the remaining usage, all within ShutdownTimeout.
func (s *Server) Serve(ctx context.Context, o ServeOptions) error {
	ln, err := net.Listen("tcp", o.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", o.Listen, err)
	}
	proxy := NewHTTPServer(s, o.IdleTimeout)
	if o.MaxConnections > 0 {
		// The limit's connections hide their sockets, which the check for clients that left
		// a silent stream needs, so the sockets are kept aside while the connections are open.
		ln = netutil.LimitListener(socketListener{ln}, o.MaxConnections)
		proxy.ConnState = forgetClosedSocket
	}

	var ready atomic.Bool
	side, err := s.startSideServers(o, &ready)
	if err != nil {
		_ = ln.Close()
		return err
	}
	loopCtx, stopLoops := context.WithCancel(context.WithoutCancel(ctx))
	defer stopLoops()
	s.Start(loopCtx)

	serveErr := make(chan error, 1)
	go func() { serveErr <- proxy.Serve(ln) }()
	ready.Store(true)
	s.log.Info("Enforcer started", "listen", ln.Addr().String(), "upstream", s.cfg.Upstream.String(),
		"enforce", s.cfg.Enforce, "failClosed", s.cfg.FailClosed)

	select {
	case <-ctx.Done():
	case err := <-serveErr:
		return fmt.Errorf("serve proxy: %w", err)
	}
	ready.Store(false)
	return s.shutdown(proxy, side, stopLoops, o.ShutdownTimeout)
}

func (s *Server) shutdown(proxy *fasthttp.Server, side []*http.Server, stopLoops func(), timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	s.log.Info("Shutting down: draining requests, then flushing usage", "timeout", timeout)

	// Draining may use two thirds of the time; the rest is kept for the final flush.
	drainCtx, cancel := context.WithDeadline(context.Background(), time.Now().Add(timeout*2/3))
	defer cancel()
	s.closeUpgraded()
	if err := proxy.ShutdownWithContext(drainCtx); err != nil {
		s.log.Warn("Requests still in flight at the drain deadline are cut off when the process exits",
			"error", err)
	}
	stopLoops()

	flushCtx, cancelFlush := context.WithDeadline(context.Background(), deadline)
	defer cancelFlush()
	err := s.FlushUntilDone(flushCtx)
	for _, srv := range side {
		_ = srv.Close()
	}
	if err != nil {
		s.log.Error("Final usage flush failed", "error", err)
		return err
	}
	s.log.Info("Enforcer stopped; all usage written")
	return nil
}

func (s *Server) startSideServers(o ServeOptions, ready *atomic.Bool) ([]*http.Server, error) {
	var servers []*http.Server
	if o.MetricsAddr != "" && o.MetricsAddr != "0" {
		mux := http.NewServeMux()
		mux.Handle("/metrics", s.MetricsHandler())
		srv, err := startServer(o.MetricsAddr, mux)
		if err != nil {
			return nil, err
		}
		servers = append(servers, srv)
	}
	if o.ProbeAddr != "" && o.ProbeAddr != "0" {
		srv, err := startServer(o.ProbeAddr, probeHandler(ready))
		if err != nil {
			for _, s := range servers {
				_ = s.Close()
			}
			return nil, err
		}
		servers = append(servers, srv)
	}
	return servers, nil
}

func startServer(addr string, h http.Handler) (*http.Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			_ = ln.Close()
		}
	}()
	return srv, nil
}

// probeHandler serves /healthz, which succeeds while the process runs, and /readyz, which
// succeeds while the proxy accepts requests. Neither depends on the database, because the proxy
// keeps serving with cached limits while the database is unavailable.
func probeHandler(ready *atomic.Bool) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !ready.Load() {
			http.Error(w, "not ready: the proxy is starting or shutting down", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	})
	return mux
}
