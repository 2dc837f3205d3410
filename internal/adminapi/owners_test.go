package adminapi

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	quotav1 "xpod.dev/quota-operator/api/v1alpha1"
	"xpod.dev/quota-operator/controllers"
)

// newCachedOwners starts an informer cache over the given namespaces with the account id index,
// as the manager has it, and returns a lookup that reads from it.
func newCachedOwners(t *testing.T, namespaces ...string) IndexedOwnerLookup {
	t.Helper()
	env := startKube(t)
	configs := map[string]cache.Config{}
	for _, ns := range namespaces {
		configs[ns] = cache.Config{}
	}
	c, err := cache.New(env.Config, cache.Options{Scheme: env.Scheme, DefaultNamespaces: configs})
	if err != nil {
		t.Fatalf("create cache: %v", err)
	}
	err = c.IndexField(context.Background(), &quotav1.AccountQuota{}, AccountIDIndex, func(obj client.Object) []string {
		return []string{obj.(*quotav1.AccountQuota).Spec.AccountID}
	})
	if err != nil {
		t.Fatalf("index AccountQuotas: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := c.Start(ctx); err != nil {
			t.Errorf("cache stopped: %v", err)
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	if !c.WaitForCacheSync(ctx) {
		t.Fatal("cache did not sync")
	}
	return IndexedOwnerLookup{Reader: c}
}

func createAccountQuota(t *testing.T, ns, name, accountID, storage string) *quotav1.AccountQuota {
	t.Helper()
	aq := &quotav1.AccountQuota{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       quotav1.AccountQuotaSpec{AccountID: accountID},
	}
	if storage != "" {
		q := resource.MustParse(storage)
		aq.Spec.StorageLimit = &q
	}
	if err := startKube(t).Client.Create(context.Background(), aq); err != nil {
		t.Fatalf("create AccountQuota %s/%s: %v", ns, name, err)
	}
	return aq
}

// waitForOwner polls the lookup until it returns want (nil for no owner).
func waitForOwner(t *testing.T, owners OwnerLookup, accountID string, want *Owner) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, err := owners.Owner(context.Background(), accountID)
		if err != nil {
			t.Fatalf("look up owner of %s: %v", accountID, err)
		}
		if (got == nil && want == nil) || (got != nil && want != nil && *got == *want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("owner of %s = %v, want %v after 10s", accountID, got, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestManagedAccountRejectsChanges checks that PUT and DELETE for an account that an
// AccountQuota names return 409 naming it and leave the row exactly as it was, and that GET
// shows the AccountQuota.
func TestManagedAccountRejectsChanges(t *testing.T) {
	t.Parallel()
	ns := startKube(t).Namespace(t)
	owners := newCachedOwners(t, ns)
	f := newFixture(t, fixtureOptions{owners: owners})
	f.exec(`INSERT INTO identity_account_quota (account_id, storage_limit_bytes, bandwidth_limit_bps)
		VALUES ('acct-managed', 21474836480, NULL)`)
	createAccountQuota(t, ns, "gold", "acct-managed", "20Gi")
	waitForOwner(t, owners, "acct-managed", &Owner{ns, "gold"})
	before, _ := f.row("acct-managed")

	for _, c := range []struct{ method, body string }{
		{http.MethodPut, `{"storageLimitBytes": 1}`},
		{http.MethodPut, `{"bandwidthLimitBps": null}`},
		{http.MethodPut, `{}`},
		{http.MethodDelete, ""},
	} {
		res := f.request(c.method, "/api/quota/acct-managed", c.body)
		if res.status != http.StatusConflict {
			t.Errorf("%s %s: status = %d, want 409: %s", c.method, c.body, res.status, res.body)
			continue
		}
		e := res.errorBody(t)
		if e.Error != CodeManagedByAccountQuota {
			t.Errorf("%s: error = %q, want %q", c.method, e.Error, CodeManagedByAccountQuota)
		}
		if !strings.Contains(e.Message, ns+"/gold") {
			t.Errorf("%s: message %q does not name %s/gold", c.method, e.Message, ns)
		}
	}
	after, exists := f.row("acct-managed")
	if !exists {
		t.Fatal("the quota row is gone after a rejected DELETE")
	}
	if !after.SameLimits(before) || !after.UpdatedAt.Equal(before.UpdatedAt) {
		t.Errorf("row changed from %+v to %+v", before, after)
	}
	if lines := f.logs.withMessage("Rejected admin API change"); len(lines) != 4 {
		t.Errorf("got %d log lines for rejected changes, want 4", len(lines))
	}

	q := f.request(http.MethodGet, "/api/quota/acct-managed", "").quota(t)
	if q.ManagedBy == nil || *q.ManagedBy != (Owner{Namespace: ns, Name: "gold"}) {
		t.Errorf("managedBy = %+v, want %s/gold", q.ManagedBy, ns)
	}
	list := f.request(http.MethodGet, "/api/quota", "")
	if !strings.Contains(string(list.body), `"managedBy":{"namespace":"`+ns+`","name":"gold"}`) {
		t.Errorf("list does not show the managing AccountQuota: %s", list.body)
	}
}

// TestOldestAccountQuotaIsNamed checks that with two AccountQuotas for one account in different
// namespaces the 409 and managedBy name the older one, then the other once the older is deleted,
// and that the API may change the account once both are gone.
func TestOldestAccountQuotaIsNamed(t *testing.T) {
	t.Parallel()
	env := startKube(t)
	nsOld, nsNew := env.Namespace(t), env.Namespace(t)
	owners := newCachedOwners(t, nsOld, nsNew)
	f := newFixture(t, fixtureOptions{owners: owners})

	older := createAccountQuota(t, nsOld, "first", "acct-shared", "")
	// Creation timestamps have a resolution of one second.
	time.Sleep(1100 * time.Millisecond)
	newer := createAccountQuota(t, nsNew, "second", "acct-shared", "")
	waitForOwner(t, owners, "acct-shared", &Owner{nsOld, "first"})
	// Wait until the cache holds both, so that the lookup chose between them.
	deadline := time.Now().Add(10 * time.Second)
	for {
		var list quotav1.AccountQuotaList
		err := owners.Reader.List(context.Background(), &list, client.MatchingFields{AccountIDIndex: "acct-shared"})
		if err == nil && len(list.Items) == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("cache does not list both AccountQuotas: %v, %d items", err, len(list.Items))
		}
		time.Sleep(50 * time.Millisecond)
	}

	res := f.request(http.MethodPut, "/api/quota/acct-shared", `{"storageLimitBytes": 1}`)
	if res.status != http.StatusConflict {
		t.Fatalf("PUT status = %d, want 409: %s", res.status, res.body)
	}
	if e := res.errorBody(t); !strings.Contains(e.Message, nsOld+"/first") {
		t.Errorf("message %q does not name the older %s/first", e.Message, nsOld)
	}
	q := f.request(http.MethodGet, "/api/quota/acct-shared", "").quota(t)
	if q.ManagedBy == nil || *q.ManagedBy != (Owner{nsOld, "first"}) {
		t.Errorf("managedBy = %+v, want %s/first", q.ManagedBy, nsOld)
	}

	deleteAccountQuota(t, older)
	waitForOwner(t, owners, "acct-shared", &Owner{nsNew, "second"})
	res = f.request(http.MethodDelete, "/api/quota/acct-shared", "")
	if res.status != http.StatusConflict {
		t.Fatalf("DELETE status = %d, want 409: %s", res.status, res.body)
	}
	if e := res.errorBody(t); !strings.Contains(e.Message, nsNew+"/second") {
		t.Errorf("message %q does not name %s/second", e.Message, nsNew)
	}

	deleteAccountQuota(t, newer)
	waitForOwner(t, owners, "acct-shared", nil)
	q = f.request(http.MethodPut, "/api/quota/acct-shared", `{"storageLimitBytes": 1}`).quota(t)
	if q.ManagedBy != nil {
		t.Errorf("managedBy = %+v after both AccountQuotas are gone, want null", q.ManagedBy)
	}
}

// deleteAccountQuota deletes aq. No controller runs here, so no finalizer holds it back.
func deleteAccountQuota(t *testing.T, aq *quotav1.AccountQuota) {
	t.Helper()
	if err := startKube(t).Client.Delete(context.Background(), aq); err != nil {
		t.Fatalf("delete AccountQuota %s/%s: %v", aq.Namespace, aq.Name, err)
	}
}

// TestAccountQuotaAdoptsAPIRow runs the real controller and the API on one manager, as the
// manager binary does: an account first set through the API and then claimed by an AccountQuota
// is adopted (the row takes the AccountQuota's limits, with an Adopted Event), and from then on
// the API returns 409 for it.
func TestAccountQuotaAdoptsAPIRow(t *testing.T) {
	t.Parallel()
	env := startKube(t)
	ns := env.Namespace(t)
	// The controller writes to the fixture's database, so the lookup is set once both exist.
	owners := &lateOwners{}
	f := newFixture(t, fixtureOptions{owners: owners})
	owners.lookup = startManagerWithController(t, ns, f.db)

	f.request(http.MethodPut, "/api/quota/acct-adopt", `{"storageLimitBytes": 1000, "bandwidthLimitBps": 2000}`).quota(t)
	createAccountQuota(t, ns, "adopter", "acct-adopt", "5Gi")

	deadline := time.Now().Add(20 * time.Second)
	for {
		row, exists := f.row("acct-adopt")
		if exists && row.StorageLimitBytes != nil && *row.StorageLimitBytes == 5<<30 && row.BandwidthLimitBps == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("row = %+v (exists %t), want the AccountQuota's 5Gi storage and NULL bandwidth", row, exists)
		}
		time.Sleep(100 * time.Millisecond)
	}
	waitForEvent(t, ns, "adopter", "Adopted")

	res := f.request(http.MethodPut, "/api/quota/acct-adopt", `{"storageLimitBytes": 1000}`)
	if res.status != http.StatusConflict {
		t.Errorf("PUT after adoption: status = %d, want 409: %s", res.status, res.body)
	}
	q := f.request(http.MethodGet, "/api/quota/acct-adopt", "").quota(t)
	if q.Quota.StorageLimitBytes != 5<<30 {
		t.Errorf("storageLimitBytes = %d, want %d", q.Quota.StorageLimitBytes, int64(5<<30))
	}
	if q.Sources != (QuotaSources{SourceCustom, SourceDefault}) {
		t.Errorf("sources = %+v, want custom storage and default bandwidth", q.Sources)
	}
	if q.ManagedBy == nil || *q.ManagedBy != (Owner{ns, "adopter"}) {
		t.Errorf("managedBy = %+v, want %s/adopter", q.ManagedBy, ns)
	}
}

// startManagerWithController starts a manager that watches ns, with the AccountQuota controller
// writing to its own test database, and returns the API's lookup on the manager's client.
func startManagerWithController(t *testing.T, ns string, pool *pgxpool.Pool) IndexedOwnerLookup {
	t.Helper()
	env := startKube(t)
	skipNameValidation := true // other tests in the process may start a controller of the same name
	mgr, err := ctrl.NewManager(env.Config, ctrl.Options{
		Scheme:                 env.Scheme,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		Cache:                  cache.Options{DefaultNamespaces: map[string]cache.Config{ns: {}}},
		Controller:             config.Controller{SkipNameValidation: &skipNameValidation},
	})
	if err != nil {
		t.Fatalf("create manager: %v", err)
	}
	cfg := controllers.Config{
		Defaults: controllers.Defaults{StorageBytes: testDefaults.StorageLimitBytes,
			BandwidthBytesPerSecond: testDefaults.BandwidthLimitBps},
		ResyncPeriod:   time.Minute,
		StatusInterval: time.Second,
	}
	if _, err := controllers.Setup(mgr, pool, cfg); err != nil {
		t.Fatalf("set up controller: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := mgr.Start(ctx); err != nil {
			t.Errorf("manager stopped: %v", err)
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	if !mgr.GetCache().WaitForCacheSync(ctx) {
		t.Fatal("manager cache did not sync")
	}
	return IndexedOwnerLookup{Reader: mgr.GetClient()}
}

// lateOwners is an OwnerLookup whose implementation is set after the fixture is built.
type lateOwners struct {
	lookup OwnerLookup
}

func (l *lateOwners) Owner(ctx context.Context, accountID string) (*Owner, error) {
	return l.lookup.Owner(ctx, accountID)
}

func waitForEvent(t *testing.T, ns, name, reason string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var list eventsv1.EventList
		if err := startKube(t).Client.List(context.Background(), &list, client.InNamespace(ns)); err != nil {
			t.Fatalf("list events: %v", err)
		}
		for _, e := range list.Items {
			if e.Regarding.Name == name && e.Reason == reason {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s Event on %s/%s after 20s", reason, ns, name)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
