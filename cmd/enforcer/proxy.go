package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"time"

	"xpod.dev/quota-operator/internal/database"
	"xpod.dev/quota-operator/internal/enforcer"
	"xpod.dev/quota-operator/internal/enforcer/resolve"
)

type proxyFlags struct {
	commonFlags
	serve                 enforcer.ServeOptions
	defaultStorageLimit   string
	defaultBandwidthLimit string
	flushInterval         time.Duration
	limitsRefresh         time.Duration
	databaseTimeout       time.Duration
	stallTimeout          time.Duration
	upstreamIdleTimeout   time.Duration
	enforce               bool
	writeFailureMode      string
	rejectOutsideWrites   bool
	trustForwarded        bool
}

func parseProxyFlags(args []string) (*proxyFlags, error) {
	f := &proxyFlags{}
	fs := flag.NewFlagSet("enforcer", flag.ContinueOnError)
	f.bind(fs)
	fs.StringVar(&f.serve.Listen, "listen", ":8000", "address the proxy listens on (plain HTTP; terminate TLS in front)")
	fs.StringVar(&f.serve.MetricsAddr, "metrics-bind-address", ":8080", "address of the Prometheus metrics endpoint; 0 disables it")
	fs.StringVar(&f.serve.ProbeAddr, "health-probe-bind-address", ":8081", "address of /healthz and /readyz; 0 disables it")
	fs.IntVar(&f.serve.MaxConnections, "max-connections", 0, "maximum client connections open at once; 0 means no maximum")
	fs.DurationVar(&f.serve.ShutdownTimeout, "shutdown-timeout", 25*time.Second,
		"time after SIGTERM for draining requests and writing the remaining usage; keep it below the pod's "+
			"terminationGracePeriodSeconds")
	fs.DurationVar(&f.serve.IdleTimeout, "idle-timeout", 120*time.Second, "how long an idle keep-alive connection stays open")

	fs.StringVar(&f.defaultStorageLimit, "default-storage-limit", "10Gi",
		"storage limit in bytes (a quantity) for accounts whose quota row leaves it unset")
	fs.StringVar(&f.defaultBandwidthLimit, "default-bandwidth-limit", "10Mi",
		"bandwidth limit in bytes per second per direction (a quantity) for accounts whose quota row leaves it "+
			"unset; 0 means not throttled")

	fs.DurationVar(&f.flushInterval, "flush-interval", time.Second, "how often metered usage is written to the database")
	fs.DurationVar(&f.limitsRefresh, "limits-refresh-interval", time.Second,
		"how often the limits of active accounts are reloaded from identity_account_quota")
	fs.DurationVar(&f.databaseTimeout, "database-timeout", time.Second,
		"maximum time a request waits for a database call, such as reading an account's limits the first time")
	fs.DurationVar(&f.upstreamIdleTimeout, "upstream-idle-timeout", 4*time.Second,
		"how long an idle connection to the pod server is kept for reuse; keep it below the pod server's "+
			"keep-alive timeout (5s in Node.js, which Community Solid Server uses)")
	fs.DurationVar(&f.stallTimeout, "stall-timeout", 60*time.Second,
		"how long a client may neither send nor read body bytes before its connection is closed; "+
			"time spent throttled does not count")

	fs.BoolVar(&f.enforce, "enforce", true, "reject writes over the storage limit and throttle bandwidth; "+
		"false only meters")
	fs.StringVar(&f.writeFailureMode, "write-failure-mode", "open",
		"writes into pods while the database is unavailable: open checks them against the cached limits and "+
			"usage, closed rejects them with 503 (deletes and reads always pass)")
	fs.BoolVar(&f.rejectOutsideWrites, "reject-writes-outside-pods", false,
		"reject PUT, PATCH and DELETE requests that target no pod with 403")
	fs.BoolVar(&f.trustForwarded, "trust-forwarded-headers", false,
		"keep the client's X-Forwarded-For chain, X-Forwarded-Host and X-Forwarded-Proto (behind a trusted ingress)")

	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if f.writeFailureMode != "open" && f.writeFailureMode != "closed" {
		return nil, fmt.Errorf("invalid --write-failure-mode %q: use open or closed", f.writeFailureMode)
	}
	return f, nil
}

func runProxy(ctx context.Context, args []string, logger *slog.Logger) error {
	f, err := parseProxyFlags(args)
	if err != nil {
		return err
	}
	level, err := parseLevel(f.logLevel)
	if err != nil {
		return err
	}
	logger = slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	cfg, err := f.config()
	if err != nil {
		return err
	}
	pool, err := connect(ctx, &f.commonFlags, logger)
	if err != nil {
		return err
	}
	defer pool.Close()
	cfg.Resolver, err = newResolver(&f.commonFlags, pool)
	if err != nil {
		return err
	}
	srv, err := enforcer.New(cfg, pool, logger)
	if err != nil {
		return err
	}
	return srv.Serve(ctx, f.serve)
}

func (f *proxyFlags) config() (enforcer.Config, error) {
	upstream, err := f.upstreamURL()
	if err != nil {
		return enforcer.Config{}, err
	}
	defaults, err := parseDefaults(f.defaultStorageLimit, f.defaultBandwidthLimit)
	if err != nil {
		return enforcer.Config{}, err
	}
	header, err := readHeaderFile(f.measureHeader)
	if err != nil {
		return enforcer.Config{}, err
	}
	host, _ := os.Hostname()
	return enforcer.Config{
		Upstream:                upstream,
		Defaults:                defaults,
		EnforcerID:              host,
		FlushInterval:           f.flushInterval,
		LimitsRefreshInterval:   f.limitsRefresh,
		DatabaseTimeout:         f.databaseTimeout,
		StallTimeout:            f.stallTimeout,
		UpstreamIdleTimeout:     f.upstreamIdleTimeout,
		Enforce:                 f.enforce,
		FailClosed:              f.writeFailureMode == "closed",
		RejectWritesOutsidePods: f.rejectOutsideWrites,
		TrustForwardedHeaders:   f.trustForwarded,
		MeasureHeader:           header,
	}, nil
}

func newResolver(c *commonFlags, db database.Querier) (resolve.Resolver, error) {
	opts, err := c.resolverOptions()
	if err != nil {
		return nil, err
	}
	opts.LoadPods = func(ctx context.Context) ([]database.XpodPod, error) { return database.ListXpodPods(ctx, db) }
	return resolve.New(c.resolver, opts)
}
