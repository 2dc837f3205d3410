package controllers

import (
	"fmt"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	quotav1 "xpod.dev/quota-operator/api/v1alpha1"
	"xpod.dev/quota-operator/internal/alerts"
)

// Config is the configuration of Setup besides the manager and the database.
type Config struct {
	Defaults       Defaults
	ResyncPeriod   time.Duration
	StatusInterval time.Duration
	// MaxConcurrentReconciles is the number of parallel reconciles; 0 means 1.
	MaxConcurrentReconciles int
	// AlertWebhookURL, when set, receives a signed POST at each threshold crossing.
	AlertWebhookURL string
	// AlertSecret returns the webhook's HMAC key; required with AlertWebhookURL.
	AlertSecret func() ([]byte, error)
}

// Setup adds the AccountQuota reconciler, the drift resync, the usage poller and the alerts to
// mgr, and returns the usage store they share.
func Setup(mgr ctrl.Manager, pool *pgxpool.Pool, cfg Config) (*UsageStore, error) {
	return setup(mgr, pool, cfg, nil)
}

// setup is Setup with an optional wrapper around the reconciler, which tests use to count calls.
func setup(mgr ctrl.Manager, pool *pgxpool.Pool, cfg Config,
	wrap func(*AccountQuotaReconciler) reconcile.Reconciler) (*UsageStore, error) {
	wake := make(chan event.TypedGenericEvent[*quotav1.AccountQuota])
	store := NewUsageStore()
	recorder := mgr.GetEventRecorder("accountquota-controller")
	reconciler := &AccountQuotaReconciler{Client: mgr.GetClient(), DB: pool, Recorder: recorder,
		Defaults: cfg.Defaults, Usage: store, MaxConcurrentReconciles: cfg.MaxConcurrentReconciles}
	var inner reconcile.Reconciler = reconciler
	if wrap != nil {
		inner = wrap(reconciler)
	}
	if err := reconciler.setupWithManager(mgr, wake, inner); err != nil {
		return nil, fmt.Errorf("set up AccountQuota controller: %w", err)
	}
	runnables := []manager.Runnable{
		&Resync{Client: mgr.GetClient(), DB: pool, Period: cfg.ResyncPeriod, Wake: wake},
		newPoller(mgr, pool, cfg, store, wake, recorder),
	}
	if cfg.AlertWebhookURL != "" {
		runnables = append(runnables, &alerts.Deliverer{DB: pool, URL: cfg.AlertWebhookURL, Secret: cfg.AlertSecret,
			Client: &http.Client{Timeout: 10 * time.Second}, Interval: time.Second})
	}
	for _, r := range runnables {
		if err := mgr.Add(r); err != nil {
			return nil, fmt.Errorf("add %T: %w", r, err)
		}
	}
	return store, nil
}

func newPoller(mgr ctrl.Manager, pool *pgxpool.Pool, cfg Config, store *UsageStore,
	wake chan<- event.TypedGenericEvent[*quotav1.AccountQuota], recorder events.EventRecorder) *UsagePoller {
	engine := &alerts.Engine{DB: pool, DefaultStorageBytes: cfg.Defaults.StorageBytes, Webhook: cfg.AlertWebhookURL != ""}
	return &UsagePoller{
		Client:   mgr.GetClient(),
		DB:       pool,
		Store:    store,
		Interval: cfg.StatusInterval,
		Wake:     wake,
		Listener: NewAlertListener(mgr.GetClient(), recorder, engine),
	}
}
