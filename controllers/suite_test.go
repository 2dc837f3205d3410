package controllers

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	quotav1 "xpod.dev/quota-operator/api/v1alpha1"
	"xpod.dev/quota-operator/internal/database"
	"xpod.dev/quota-operator/internal/testutil/kubetest"
	"xpod.dev/quota-operator/internal/testutil/pgtest"
	"xpod.dev/quota-operator/internal/testutil/tcpproxy"
)

var kube *kubetest.Env

func TestMain(m *testing.M) {
	ctrl.SetLogger(zap.New(zap.UseDevMode(true), zap.WriteTo(os.Stderr)))
	env, err := kubetest.Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	kube = env
	code := m.Run()
	_ = env.Stop()
	os.Exit(code)
}

var testDefaults = Defaults{StorageBytes: 10 << 30, BandwidthBytesPerSecond: 10 << 20}

const testWebhookSecret = "test-webhook-secret"

// fixture is one test's world: its namespaces, its database and a manager that watches only them.
type fixture struct {
	t          *testing.T
	namespaces []string
	pool       *pgxpool.Pool // direct pool for assertions
	proxy      *tcpproxy.Proxy
	reconciles *countingReconciler
	managerURL string
	opts       fixtureOptions
	// stopManager stops the running manager; startManager starts a new one on the same database.
	stopManager func()
}

type fixtureOptions struct {
	namespaces     int
	resyncPeriod   time.Duration
	statusInterval time.Duration
	webhookURL     string
	// throughProxy routes the manager's database connections through a proxy that the test can cut.
	throughProxy bool
}

func newFixture(t *testing.T, opts fixtureOptions) *fixture {
	t.Helper()
	if opts.namespaces == 0 {
		opts.namespaces = 1
	}
	if opts.resyncPeriod == 0 {
		opts.resyncPeriod = time.Minute
	}
	if opts.statusInterval == 0 {
		opts.statusInterval = time.Second
	}
	pool, dbURL := pgtest.NewPool(t)
	f := &fixture{t: t, pool: pool}
	for range opts.namespaces {
		f.namespaces = append(f.namespaces, kube.Namespace(t))
	}
	managerURL := dbURL
	if opts.throughProxy {
		u, _ := url.Parse(dbURL)
		f.proxy = tcpproxy.Start(t, u.Host)
		u.Host = f.proxy.Addr()
		managerURL = u.String()
	}
	f.managerURL, f.opts = managerURL, opts
	f.startManager(managerURL, opts)
	return f
}

func (f *fixture) startManager(dbURL string, opts fixtureOptions) {
	t := f.t
	ctx, cancel := context.WithCancel(context.Background())
	managerPool, err := database.Connect(ctx, dbURL)
	if err != nil {
		t.Fatalf("connect manager pool: %v", err)
	}
	namespaces := map[string]cache.Config{}
	for _, ns := range f.namespaces {
		namespaces[ns] = cache.Config{}
	}
	skipNameValidation := true // every test runs its own manager with the same controller name
	mgr, err := ctrl.NewManager(kube.Config, ctrl.Options{
		Scheme:     kube.Scheme,
		Metrics:    metricsserver.Options{BindAddress: "0"},
		Cache:      cache.Options{DefaultNamespaces: namespaces},
		Controller: config.Controller{SkipNameValidation: &skipNameValidation},
	})
	if err != nil {
		t.Fatalf("create manager: %v", err)
	}
	f.reconciles = setupCounted(t, mgr, managerPool, Config{Defaults: testDefaults, ResyncPeriod: opts.resyncPeriod,
		StatusInterval: opts.statusInterval, AlertWebhookURL: opts.webhookURL,
		AlertSecret: func() ([]byte, error) { return []byte(testWebhookSecret), nil }})
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := mgr.Start(ctx); err != nil {
			t.Errorf("manager stopped: %v", err)
		}
	}()
	var once sync.Once
	f.stopManager = func() {
		once.Do(func() {
			cancel()
			<-done
			managerPool.Close()
		})
	}
	t.Cleanup(f.stopManager)
}

func (f *fixture) ns(i int) string { return f.namespaces[i] }

// apply creates an AccountQuota.
func (f *fixture) apply(ns, name, accountID, storage, bandwidth string) *quotav1.AccountQuota {
	f.t.Helper()
	aq := &quotav1.AccountQuota{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       quotav1.AccountQuotaSpec{AccountID: accountID},
	}
	if storage != "" {
		q := resource.MustParse(storage)
		aq.Spec.StorageLimit = &q
	}
	if bandwidth != "" {
		q := resource.MustParse(bandwidth)
		aq.Spec.BandwidthLimit = &q
	}
	if err := kube.Client.Create(context.Background(), aq); err != nil {
		f.t.Fatalf("create AccountQuota %s/%s: %v", ns, name, err)
	}
	return aq
}

func (f *fixture) get(ns, name string) *quotav1.AccountQuota {
	f.t.Helper()
	var aq quotav1.AccountQuota
	if err := kube.Client.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: name}, &aq); err != nil {
		f.t.Fatalf("get AccountQuota %s/%s: %v", ns, name, err)
	}
	return &aq
}

// waitFor polls cond until it returns true or the timeout passes.
func (f *fixture) waitFor(what string, timeout time.Duration, cond func() bool) {
	f.t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	f.t.Fatalf("timed out after %s waiting for %s", timeout, what)
}

// waitReady waits until the Ready condition has the given status and reason.
func (f *fixture) waitReady(ns, name string, status metav1.ConditionStatus, reason string) *quotav1.AccountQuota {
	f.t.Helper()
	var aq *quotav1.AccountQuota
	f.waitFor(fmt.Sprintf("%s/%s Ready=%s reason %s", ns, name, status, reason), 20*time.Second, func() bool {
		aq = f.get(ns, name)
		c := meta.FindStatusCondition(aq.Status.Conditions, quotav1.ConditionReady)
		return c != nil && c.Status == status && c.Reason == reason && aq.Status.ObservedGeneration == aq.Generation
	})
	return aq
}

func (f *fixture) row(accountID string) (database.Quota, bool) {
	f.t.Helper()
	q, err := database.GetQuota(context.Background(), f.pool, accountID)
	if err == database.ErrNotFound {
		return q, false
	}
	if err != nil {
		f.t.Fatalf("read row: %v", err)
	}
	return q, true
}

// eventReasons lists the reasons of the Events about one AccountQuota.
func (f *fixture) eventReasons(ns, name string) []string {
	f.t.Helper()
	var list eventsv1.EventList
	if err := kube.Client.List(context.Background(), &list, client.InNamespace(ns)); err != nil {
		f.t.Fatalf("list events: %v", err)
	}
	var reasons []string
	for _, e := range list.Items {
		if e.Regarding.Name == name {
			reasons = append(reasons, e.Reason)
		}
	}
	return reasons
}

func (f *fixture) waitEvent(ns, name, reason string) {
	f.t.Helper()
	f.waitFor(fmt.Sprintf("Event %s on %s/%s", reason, ns, name), 20*time.Second, func() bool {
		for _, r := range f.eventReasons(ns, name) {
			if r == reason {
				return true
			}
		}
		return false
	})
}

func ptr(v int64) *int64 { return &v }

// countingReconciler counts the reconciles of the wrapped reconciler.
type countingReconciler struct {
	inner *AccountQuotaReconciler
	count atomic.Int64
}

func (c *countingReconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	c.count.Add(1)
	return c.inner.Reconcile(ctx, req)
}

// setupCounted wires everything as Setup does, with a reconcile counter.
func setupCounted(t *testing.T, mgr ctrl.Manager, pool *pgxpool.Pool, cfg Config) *countingReconciler {
	t.Helper()
	counter := &countingReconciler{}
	_, err := setup(mgr, pool, cfg, func(r *AccountQuotaReconciler) reconcile.Reconciler {
		counter.inner = r
		return counter
	})
	if err != nil {
		t.Fatalf("set up controllers: %v", err)
	}
	return counter
}
