// Command manager runs the AccountQuota controller, which writes AccountQuotas into the
// identity_account_quota table of the pod server's PostgreSQL database.
package main

import (
	"context"
	"flag"
	"fmt"
	"net/url"
	"os"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	quotav1 "xpod.dev/quota-operator/api/v1alpha1"
	"xpod.dev/quota-operator/controllers"
	"xpod.dev/quota-operator/internal/alerts"
	"xpod.dev/quota-operator/internal/database"
)

type options struct {
	databaseURL           database.URLSource
	resyncPeriod          time.Duration
	statusInterval        time.Duration
	alertWebhookURL       string
	alertSecretFile       string
	kubeAPIQPS            float64
	kubeAPIBurst          int
	concurrentReconciles  int
	admin                 *adminFlags
	defaultStorageLimit   string
	defaultBandwidthLimit string
	metricsAddr           string
	probeAddr             string
	pprofAddr             string
	leaderElection        bool
	leaderElectionID      string
	zap                   zap.Options
}

func parseFlags() *options {
	o := &options{}
	flag.StringVar(&o.databaseURL.Flag, "database-url", "",
		"PostgreSQL connection URL; when empty, the DATABASE_URL environment variable or --database-url-file is used")
	flag.StringVar(&o.databaseURL.File, "database-url-file", "",
		"file that holds the PostgreSQL connection URL, such as a key of a mounted Secret")
	flag.DurationVar(&o.resyncPeriod, "resync-period", time.Minute,
		"how often every managed quota row is compared with its AccountQuota and restored when edited")
	flag.DurationVar(&o.statusInterval, "status-interval", 10*time.Second,
		"how often usage rows are read into AccountQuota status and alert thresholds are checked")
	flag.StringVar(&o.alertWebhookURL, "alert-webhook-url", "",
		"URL that receives a signed JSON POST at each storage threshold crossing; empty disables webhook alerts")
	flag.StringVar(&o.alertSecretFile, "alert-webhook-secret-file", "",
		"file that holds the HMAC-SHA256 key for the X-Quota-Signature header; required with --alert-webhook-url")
	flag.StringVar(&o.defaultStorageLimit, "default-storage-limit", "10Gi",
		"storage limit in bytes (a quantity) for accounts whose quota row leaves it unset")
	flag.StringVar(&o.defaultBandwidthLimit, "default-bandwidth-limit", "10Mi",
		"bandwidth limit in bytes per second (a quantity) for accounts whose quota row leaves it unset; 0 means not throttled")
	// A new AccountQuota costs two writes, the finalizer and the status. These defaults let 10,000
	// of them land within a minute when the API server keeps up (bench/scale.sh).
	flag.Float64Var(&o.kubeAPIQPS, "kube-api-qps", 500, "maximum requests per second to the Kubernetes API server")
	flag.IntVar(&o.kubeAPIBurst, "kube-api-burst", 1000, "maximum burst of requests to the Kubernetes API server")
	flag.IntVar(&o.concurrentReconciles, "max-concurrent-reconciles", 8,
		"number of AccountQuotas reconciled in parallel")
	flag.StringVar(&o.metricsAddr, "metrics-bind-address", ":8080",
		"address the Prometheus metrics endpoint binds to; 0 disables it")
	flag.StringVar(&o.probeAddr, "health-probe-bind-address", ":8081", "address the health probe endpoint binds to")
	flag.StringVar(&o.pprofAddr, "pprof-bind-address", "", "address of Go's /debug/pprof endpoints; empty disables them")
	flag.BoolVar(&o.leaderElection, "leader-elect", false,
		"enable leader election, so that only one of several manager replicas is active")
	flag.StringVar(&o.leaderElectionID, "leader-election-id", "quota-manager.quota.xpod.dev",
		"name of the Lease used for leader election")
	o.admin = bindAdminFlags(flag.CommandLine)
	o.zap.BindFlags(flag.CommandLine)
	flag.Parse()
	return o
}

func main() {
	o := parseFlags()
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&o.zap)))
	if err := run(ctrl.SetupSignalHandler(), o); err != nil {
		ctrl.Log.Error(err, "Manager failed")
		os.Exit(1)
	}
}

func run(ctx context.Context, o *options) error {
	defaults, err := parseDefaults(o)
	if err != nil {
		return err
	}
	if err := validateOptions(o); err != nil {
		return err
	}
	url, err := database.ResolveURL(o.databaseURL)
	if err != nil {
		return err
	}
	pool, err := database.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer pool.Close()
	err = database.EnsureSchemaWithRetry(ctx, pool, func(err error, wait time.Duration) {
		ctrl.Log.Info("Database unavailable at start-up; retrying", "error", err.Error(), "retryIn", wait)
	})
	if err != nil {
		return err
	}

	restConfig := ctrl.GetConfigOrDie()
	restConfig.QPS, restConfig.Burst = float32(o.kubeAPIQPS), o.kubeAPIBurst
	mgr, err := ctrl.NewManager(restConfig, ctrl.Options{
		Scheme: newScheme(),
		// The controller never reads managedFields, which make up a large part of each cached
		// AccountQuota.
		Cache:                  cache.Options{DefaultTransform: cache.TransformStripManagedFields()},
		Metrics:                metricsserver.Options{BindAddress: o.metricsAddr},
		HealthProbeBindAddress: o.probeAddr,
		PprofBindAddress:       o.pprofAddr,
		LeaderElection:         o.leaderElection,
		LeaderElectionID:       o.leaderElectionID,
	})
	if err != nil {
		return fmt.Errorf("create manager: %w", err)
	}
	cfg := controllers.Config{Defaults: defaults, ResyncPeriod: o.resyncPeriod, StatusInterval: o.statusInterval,
		AlertWebhookURL: o.alertWebhookURL, MaxConcurrentReconciles: o.concurrentReconciles}
	if o.alertSecretFile != "" {
		cfg.AlertSecret = alerts.FileSecret(o.alertSecretFile)
	}
	if _, err := controllers.Setup(mgr, pool, cfg); err != nil {
		return err
	}
	// The admin API reads the AccountQuota index that controllers.Setup registers.
	if err := setupAdminAPI(mgr, pool, defaults, o.admin); err != nil {
		return err
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return fmt.Errorf("add health check: %w", err)
	}
	if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
		return fmt.Errorf("add readiness check: %w", err)
	}
	ctrl.Log.Info("Starting manager", "resyncPeriod", o.resyncPeriod,
		"defaultStorageBytes", defaults.StorageBytes, "defaultBandwidthBytesPerSecond", defaults.BandwidthBytesPerSecond)
	return mgr.Start(ctx)
}

func newScheme() *runtime.Scheme {
	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(quotav1.AddToScheme(scheme))
	return scheme
}

func parseDefaults(o *options) (controllers.Defaults, error) {
	storage, err := parseBytesFlag("default-storage-limit", o.defaultStorageLimit)
	if err != nil {
		return controllers.Defaults{}, err
	}
	bandwidth, err := parseBytesFlag("default-bandwidth-limit", o.defaultBandwidthLimit)
	if err != nil {
		return controllers.Defaults{}, err
	}
	return controllers.Defaults{StorageBytes: storage, BandwidthBytesPerSecond: bandwidth}, nil
}

func parseBytesFlag(name, value string) (int64, error) {
	q, err := resource.ParseQuantity(value)
	if err != nil {
		return 0, fmt.Errorf("invalid --%s %q: use a quantity of bytes such as 10Gi", name, value)
	}
	n, ok := quotav1.QuantityBytes(&q)
	if !ok {
		return 0, fmt.Errorf("invalid --%s %q: use a whole number of bytes from 0 to 2^63-1", name, value)
	}
	return *n, nil
}

func validateOptions(o *options) error {
	if o.resyncPeriod <= 0 {
		return fmt.Errorf("invalid --resync-period %s: use a positive duration such as 1m", o.resyncPeriod)
	}
	if o.concurrentReconciles < 1 {
		return fmt.Errorf("invalid --max-concurrent-reconciles %d: use 1 or more", o.concurrentReconciles)
	}
	if o.statusInterval <= 0 {
		return fmt.Errorf("invalid --status-interval %s: use a positive duration such as 10s", o.statusInterval)
	}
	if o.alertWebhookURL == "" {
		return nil
	}
	u, err := url.Parse(o.alertWebhookURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("invalid --alert-webhook-url %q: use an http:// or https:// URL", o.alertWebhookURL)
	}
	if o.alertSecretFile == "" {
		return fmt.Errorf("--alert-webhook-url needs --alert-webhook-secret-file, the file with the HMAC key")
	}
	if _, err := alerts.FileSecret(o.alertSecretFile)(); err != nil {
		return err
	}
	return nil
}
