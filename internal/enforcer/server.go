package enforcer

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/valyala/fasthttp"

	"xpod.dev/quota-operator/internal/enforcer/limits"
	"xpod.dev/quota-operator/internal/enforcer/usage"
)

// Server is the enforcer's HTTP handler with its caches and background loops.
type Server struct {
	cfg     Config
	log     *slog.Logger
	limits  *limits.Cache
	ledger  *usage.Ledger
	metrics *metrics
	locks   *resourceLocks
	// client forwards requests to the pod server.
	client *fasthttp.HostClient
	// transport measures written resources on the pod server.
	transport http.RoundTripper

	upgradedMu sync.Mutex
	upgraded   map[*upgradedConn]struct{}
}

// New returns a server for cfg that keeps its figures in pool.
func New(cfg Config, pool *pgxpool.Pool, log *slog.Logger) (*Server, error) {
	if cfg.Upstream == nil || cfg.Upstream.Host == "" {
		return nil, errors.New("missing upstream: set --upstream to the pod server's URL, such as http://css:3000")
	}
	if cfg.Resolver == nil {
		return nil, errors.New("missing pod resolver")
	}
	cfg = cfg.withDefaults()
	s := &Server{
		cfg:      cfg,
		log:      log,
		limits:   limits.NewCache(pool, cfg.Defaults, cfg.DatabaseTimeout, log),
		ledger:   usage.NewLedger(pool, cfg.EnforcerID, cfg.DatabaseTimeout, log),
		metrics:  newMetrics(),
		locks:    newResourceLocks(),
		upgraded: map[*upgradedConn]struct{}{},
	}
	s.metrics.registerPending(s.ledger.Pending, s.ledger.Healthy)
	s.transport = newTransport()
	s.client = newUpstreamClient(cfg.Upstream, cfg.UpstreamIdleTimeout)
	return s, nil
}

// newTransport returns the client of the size measurements after writes.
func newTransport() *http.Transport {
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy:               nil,
		DialContext:         dialer.DialContext,
		MaxIdleConns:        64,
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
}

// Registry returns the registry of the enforcer's metrics.
func (s *Server) Registry() *prometheus.Registry { return s.metrics.registry }

// MetricsHandler serves the metrics in the Prometheus text format.
func (s *Server) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(s.metrics.registry, promhttp.HandlerOpts{})
}

// Ledger returns the in-memory usage, for flushing at shutdown.
func (s *Server) Ledger() *usage.Ledger { return s.ledger }

// Start runs the flush loop and the limits refresh until ctx ends.
func (s *Server) Start(ctx context.Context) {
	go s.ledger.Run(ctx, s.cfg.FlushInterval, s.cfg.MaxFlushBackoff, s.observeFlush)
	go s.limits.Run(ctx, s.cfg.LimitsRefreshInterval, nil)
}

// FlushUntilDone writes every pending figure, retrying until ctx ends.
func (s *Server) FlushUntilDone(ctx context.Context) error {
	return s.ledger.FlushUntilDone(ctx, s.observeFlush)
}

func (s *Server) observeFlush(d time.Duration, err error) {
	s.metrics.flushDuration.Observe(d.Seconds())
	if err != nil {
		s.metrics.flushErrors.Inc()
	}
}
