package controllers

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	quotav1 "xpod.dev/quota-operator/api/v1alpha1"
	"xpod.dev/quota-operator/internal/alerts"
	"xpod.dev/quota-operator/internal/database"
)

// receiver is a webhook endpoint that checks signatures and records what arrives.
type receiver struct {
	t *testing.T
	*httptest.Server
	mu        sync.Mutex
	accepted  []alerts.Payload
	attempts  map[string]int // per delivery id
	failFirst int            // respond 500 to this many attempts of each delivery
}

func newReceiver(t *testing.T, failFirst int) *receiver {
	r := &receiver{t: t, attempts: map[string]int{}, failFirst: failFirst}
	r.Server = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	if got, want := req.Header.Get("X-Quota-Signature"), alerts.Signature([]byte(testWebhookSecret), body); got != want {
		r.t.Errorf("signature %q, want %q", got, want)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	var p alerts.Payload
	if err := json.Unmarshal(body, &p); err != nil {
		r.t.Errorf("invalid payload %s: %v", body, err)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	if req.Header.Get("X-Quota-Delivery") != p.DeliveryID {
		r.t.Errorf("X-Quota-Delivery %q differs from deliveryId %q", req.Header.Get("X-Quota-Delivery"), p.DeliveryID)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.attempts[p.DeliveryID]++
	if r.attempts[p.DeliveryID] <= r.failFirst {
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	r.accepted = append(r.accepted, p)
	w.WriteHeader(http.StatusNoContent)
}

func (r *receiver) thresholds(account string) []int32 {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []int32
	for _, p := range r.accepted {
		if p.Account == account {
			out = append(out, p.Threshold)
		}
	}
	return out
}

func (r *receiver) waitThresholds(f *fixture, account string, want []int32) {
	f.t.Helper()
	f.waitFor("webhook deliveries", 20*time.Second, func() bool { return equalInt32(r.thresholds(account), want) })
}

func equalInt32(a, b []int32) bool {
	if len(a) != len(b) {
		return false
	}
	seen := map[int32]int{}
	for _, v := range a {
		seen[v]++
	}
	for _, v := range b {
		seen[v]--
	}
	for _, n := range seen {
		if n != 0 {
			return false
		}
	}
	return true
}

// TestAlertsForUnmanagedAccount: an account without an AccountQuota alerts once per crossing,
// re-arms below the hysteresis, and a restarted manager sends nothing twice.
func TestAlertsForUnmanagedAccount(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t, 0)
	f := newFixture(t, fixtureOptions{webhookURL: rcv.URL})
	limit := int64(1000)
	if _, err := database.UpsertQuota(context.Background(), f.pool,
		database.Quota{AccountID: "acct-free", StorageLimitBytes: &limit}); err != nil {
		t.Fatal(err)
	}

	f.setUsage("acct-free", map[string][3]int64{"pod-free": {850, 0, 0}})
	rcv.waitThresholds(f, "acct-free", []int32{80})
	f.setUsage("acct-free", map[string][3]int64{"pod-free": {950, 0, 0}})
	rcv.waitThresholds(f, "acct-free", []int32{80, 90})
	time.Sleep(3 * time.Second) // several passes at the same level
	if got := rcv.thresholds("acct-free"); !equalInt32(got, []int32{80, 90}) {
		t.Fatalf("deliveries %v after staying at 95%%, want [80 90]", got)
	}

	// 86% is within the hysteresis of 90: no re-arm, so 95% again sends nothing.
	f.setUsage("acct-free", map[string][3]int64{"pod-free": {860, 0, 0}})
	time.Sleep(2500 * time.Millisecond)
	f.setUsage("acct-free", map[string][3]int64{"pod-free": {950, 0, 0}})
	time.Sleep(2500 * time.Millisecond)
	if got := rcv.thresholds("acct-free"); !equalInt32(got, []int32{80, 90}) {
		t.Fatalf("deliveries %v after a dip within the hysteresis, want [80 90]", got)
	}

	// 80% re-arms 90 (80 < 90-5); rising to 91% fires 90 again.
	f.setUsage("acct-free", map[string][3]int64{"pod-free": {800, 0, 0}})
	time.Sleep(2500 * time.Millisecond)
	f.setUsage("acct-free", map[string][3]int64{"pod-free": {910, 0, 0}})
	rcv.waitThresholds(f, "acct-free", []int32{80, 90, 90})

	// A new manager on the same database reads every row on its first pass and sends nothing new.
	f.stopManager()
	f.startManager(f.managerURL, f.opts)
	time.Sleep(4 * time.Second)
	if got := rcv.thresholds("acct-free"); !equalInt32(got, []int32{80, 90, 90}) {
		t.Fatalf("deliveries %v after a restart, want [80 90 90]", got)
	}
}

// TestAlertRetriesKeepDeliveryID: a failing receiver gets the same delivery again until it
// accepts it, and an AccountQuota with its own thresholds gets an Event.
func TestAlertRetriesKeepDeliveryID(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t, 2)
	f := newFixture(t, fixtureOptions{webhookURL: rcv.URL})
	aq := f.apply(f.ns(0), "custom", "acct-custom", "1000", "")
	f.waitReady(f.ns(0), "custom", metav1.ConditionTrue, quotav1.ReasonSynced)
	patch := client.MergeFrom(aq.DeepCopy())
	aq.Spec.AlertThresholds = []int32{50}
	if err := kube.Client.Patch(context.Background(), aq, patch); err != nil {
		t.Fatal(err)
	}
	f.waitReady(f.ns(0), "custom", metav1.ConditionTrue, quotav1.ReasonSynced)

	f.setUsage("acct-custom", map[string][3]int64{"pod-custom": {600, 0, 0}})
	f.waitEvent(f.ns(0), "custom", "StorageThresholdCrossed")
	rcv.waitThresholds(f, "acct-custom", []int32{50})

	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	p := rcv.accepted[0]
	if rcv.attempts[p.DeliveryID] != 3 {
		t.Errorf("delivery %s took %d attempts, want 3 (two failures, then success)", p.DeliveryID, rcv.attempts[p.DeliveryID])
	}
	if p.Used != 600 || p.Limit != 1000 || p.Percent != 60 || p.Resource != "storage" || p.Time == "" {
		t.Errorf("payload = %+v, want used 600, limit 1000, percent 60, resource storage and a time", p)
	}
}

// TestAlertOnLoweredLimit: lowering a limit without any new usage fires the thresholds crossed.
func TestAlertOnLoweredLimit(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t, 0)
	f := newFixture(t, fixtureOptions{webhookURL: rcv.URL})
	limit := int64(1000)
	if _, err := database.UpsertQuota(context.Background(), f.pool,
		database.Quota{AccountID: "acct-lowered", StorageLimitBytes: &limit}); err != nil {
		t.Fatal(err)
	}
	f.setUsage("acct-lowered", map[string][3]int64{"pod-lowered": {500, 0, 0}})
	time.Sleep(3 * time.Second)
	if got := rcv.thresholds("acct-lowered"); len(got) != 0 {
		t.Fatalf("deliveries %v at 50%%, want none", got)
	}

	limit = 550
	if _, err := database.UpsertQuota(context.Background(), f.pool,
		database.Quota{AccountID: "acct-lowered", StorageLimitBytes: &limit}); err != nil {
		t.Fatal(err)
	}
	rcv.waitThresholds(f, "acct-lowered", []int32{80, 90})
}
