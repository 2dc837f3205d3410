package controllers

import (
	"context"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	quotav1 "xpod.dev/quota-operator/api/v1alpha1"
	"xpod.dev/quota-operator/internal/database"
)

func TestSyncWritesExactRow(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOptions{})
	f.apply(f.ns(0), "gold", "acct-001", "20Gi", "5Mi")
	aq := f.waitReady(f.ns(0), "gold", metav1.ConditionTrue, quotav1.ReasonSynced)

	row, ok := f.row("acct-001")
	if !ok {
		t.Fatal("no row for acct-001")
	}
	if row.StorageLimitBytes == nil || *row.StorageLimitBytes != 20<<30 {
		t.Errorf("storage_limit_bytes = %v, want %d", row.StorageLimitBytes, int64(20<<30))
	}
	if row.BandwidthLimitBps == nil || *row.BandwidthLimitBps != 5<<20 {
		t.Errorf("bandwidth_limit_bps = %v, want %d", row.BandwidthLimitBps, int64(5<<20))
	}
	want := quotav1.EffectiveLimits{StorageBytes: 20 << 30, Storage: "20Gi", StorageSource: quotav1.LimitSourceCustom,
		BandwidthBytesPerSecond: 5 << 20, Bandwidth: "5Mi", BandwidthSource: quotav1.LimitSourceCustom}
	if aq.Status.Limits == nil || *aq.Status.Limits != want {
		t.Errorf("status.limits = %+v, want %+v", aq.Status.Limits, want)
	}
	if !containsString(aq.Finalizers, quotav1.Finalizer) {
		t.Errorf("finalizers = %v, want %s", aq.Finalizers, quotav1.Finalizer)
	}
}

func TestUnsetLimitsUseDefaults(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOptions{})
	f.apply(f.ns(0), "plain", "acct-002", "", "0")
	aq := f.waitReady(f.ns(0), "plain", metav1.ConditionTrue, quotav1.ReasonSynced)

	row, _ := f.row("acct-002")
	if row.StorageLimitBytes != nil {
		t.Errorf("storage_limit_bytes = %d, want NULL", *row.StorageLimitBytes)
	}
	if row.BandwidthLimitBps == nil || *row.BandwidthLimitBps != 0 {
		t.Errorf("bandwidth_limit_bps = %v, want 0", row.BandwidthLimitBps)
	}
	limits := aq.Status.Limits
	if limits.StorageBytes != testDefaults.StorageBytes || limits.StorageSource != quotav1.LimitSourceDefault {
		t.Errorf("storage limit = %d (%s), want the default %d", limits.StorageBytes, limits.StorageSource,
			testDefaults.StorageBytes)
	}
	if limits.BandwidthBytesPerSecond != 0 || limits.BandwidthSource != quotav1.LimitSourceCustom {
		t.Errorf("bandwidth limit = %d (%s), want custom 0", limits.BandwidthBytesPerSecond, limits.BandwidthSource)
	}
}

func TestMaxInt64RoundTrip(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOptions{})
	f.apply(f.ns(0), "huge", "acct-max", "9223372036854775807", "9223372036854775807")
	aq := f.waitReady(f.ns(0), "huge", metav1.ConditionTrue, quotav1.ReasonSynced)

	const maxInt64 = int64(1<<63 - 1)
	row, _ := f.row("acct-max")
	if row.StorageLimitBytes == nil || *row.StorageLimitBytes != maxInt64 {
		t.Errorf("storage_limit_bytes = %v, want %d", row.StorageLimitBytes, maxInt64)
	}
	if row.BandwidthLimitBps == nil || *row.BandwidthLimitBps != maxInt64 {
		t.Errorf("bandwidth_limit_bps = %v, want %d", row.BandwidthLimitBps, maxInt64)
	}
	if aq.Status.Limits.StorageBytes != maxInt64 {
		t.Errorf("status storageBytes = %d, want %d", aq.Status.Limits.StorageBytes, maxInt64)
	}
	if got := aq.Spec.StorageLimit.String(); got != "9223372036854775807" {
		t.Errorf("spec.storageLimit read back as %q", got)
	}
}

func TestAdoptExistingRow(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOptions{})
	storage := int64(5 << 30)
	if _, err := database.UpsertQuota(context.Background(), f.pool,
		database.Quota{AccountID: "acct-003", StorageLimitBytes: &storage}); err != nil {
		t.Fatal(err)
	}
	f.apply(f.ns(0), "adopter", "acct-003", "7Gi", "")
	f.waitReady(f.ns(0), "adopter", metav1.ConditionTrue, quotav1.ReasonSynced)
	f.waitEvent(f.ns(0), "adopter", "Adopted")
	row, _ := f.row("acct-003")
	if *row.StorageLimitBytes != 7<<30 {
		t.Errorf("storage_limit_bytes = %d, want %d", *row.StorageLimitBytes, int64(7<<30))
	}
}

func TestDriftIsReverted(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOptions{resyncPeriod: time.Second})
	f.apply(f.ns(0), "guarded", "acct-004", "1Gi", "1Mi")
	f.waitReady(f.ns(0), "guarded", metav1.ConditionTrue, quotav1.ReasonSynced)

	if _, err := f.pool.Exec(context.Background(),
		`UPDATE identity_account_quota SET storage_limit_bytes = 1 WHERE account_id = 'acct-004'`); err != nil {
		t.Fatal(err)
	}
	f.waitFor("edited row restored", 15*time.Second, func() bool {
		row, ok := f.row("acct-004")
		return ok && *row.StorageLimitBytes == 1<<30
	})
	f.waitEvent(f.ns(0), "guarded", "DriftReverted")

	if _, err := database.DeleteQuota(context.Background(), f.pool, "acct-004"); err != nil {
		t.Fatal(err)
	}
	f.waitFor("deleted row restored", 15*time.Second, func() bool {
		row, ok := f.row("acct-004")
		return ok && *row.StorageLimitBytes == 1<<30 && *row.BandwidthLimitBps == 1<<20
	})
}

func TestDeletionPolicies(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOptions{})
	f.apply(f.ns(0), "removed", "acct-del", "1Gi", "")
	orphan := f.apply(f.ns(0), "kept", "acct-orphan", "2Gi", "")
	f.waitReady(f.ns(0), "removed", metav1.ConditionTrue, quotav1.ReasonSynced)
	f.waitReady(f.ns(0), "kept", metav1.ConditionTrue, quotav1.ReasonSynced)

	patch := client.MergeFrom(orphan.DeepCopy())
	orphan.Spec.DeletionPolicy = quotav1.DeletionPolicyOrphan
	if err := kube.Client.Patch(context.Background(), orphan, patch); err != nil {
		t.Fatal(err)
	}
	f.waitReady(f.ns(0), "kept", metav1.ConditionTrue, quotav1.ReasonSynced)

	f.deleteAndWait(f.ns(0), "removed", 15*time.Second)
	f.deleteAndWait(f.ns(0), "kept", 15*time.Second)
	if _, ok := f.row("acct-del"); ok {
		t.Error("row of acct-del still exists after deleting its AccountQuota with policy Delete")
	}
	if row, ok := f.row("acct-orphan"); !ok || *row.StorageLimitBytes != 2<<30 {
		t.Errorf("row of acct-orphan = %+v (exists %v), want it kept with 2Gi", row, ok)
	}
}

// TestDeleteWhenRowAlreadyGone: a delete that removes zero rows succeeds at once.
func TestDeleteWhenRowAlreadyGone(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOptions{})
	f.apply(f.ns(0), "gone", "acct-gone", "1Gi", "")
	f.waitReady(f.ns(0), "gone", metav1.ConditionTrue, quotav1.ReasonSynced)
	if _, err := database.DeleteQuota(context.Background(), f.pool, "acct-gone"); err != nil {
		t.Fatal(err)
	}
	f.deleteAndWait(f.ns(0), "gone", 10*time.Second)
	if _, ok := f.row("acct-gone"); ok {
		t.Error("row reappeared after the AccountQuota was deleted")
	}
}

// TestDeleteDuringDatabaseOutage: the finalizer stays while the row cannot be deleted.
func TestDeleteDuringDatabaseOutage(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOptions{throughProxy: true})
	f.apply(f.ns(0), "outage", "acct-outage", "1Gi", "")
	f.waitReady(f.ns(0), "outage", metav1.ConditionTrue, quotav1.ReasonSynced)

	f.proxy.Down()
	if err := kube.Client.Delete(context.Background(), f.get(f.ns(0), "outage")); err != nil {
		t.Fatal(err)
	}
	aq := f.waitReady(f.ns(0), "outage", metav1.ConditionFalse, quotav1.ReasonDatabaseUnavailable)
	f.waitEvent(f.ns(0), "outage", quotav1.ReasonDatabaseUnavailable)
	if !containsString(aq.Finalizers, quotav1.Finalizer) {
		t.Fatal("finalizer dropped while the row delete has not succeeded")
	}
	time.Sleep(3 * time.Second)
	if !containsString(f.get(f.ns(0), "outage").Finalizers, quotav1.Finalizer) {
		t.Fatal("finalizer dropped during the outage")
	}
	if _, ok := f.row("acct-outage"); !ok {
		t.Fatal("row vanished during the outage")
	}

	f.proxy.Up()
	f.waitGone(f.ns(0), "outage", 30*time.Second)
	if _, ok := f.row("acct-outage"); ok {
		t.Error("row still exists after the database came back")
	}
}

// TestConflictOldestWins: of two AccountQuotas for one account, the older one owns the row.
func TestConflictOldestWins(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOptions{namespaces: 2, resyncPeriod: time.Second})
	f.apply(f.ns(0), "first", "acct-shared", "1Gi", "")
	f.waitReady(f.ns(0), "first", metav1.ConditionTrue, quotav1.ReasonSynced)
	before, _ := f.row("acct-shared")
	// Creation timestamps have one-second resolution; wait so that the second one is younger.
	time.Sleep(1100 * time.Millisecond)
	f.apply(f.ns(1), "second", "acct-shared", "3Gi", "")

	loser := f.waitReady(f.ns(1), "second", metav1.ConditionFalse, quotav1.ReasonConflict)
	ready := meta.FindStatusCondition(loser.Status.Conditions, quotav1.ConditionReady)
	if !strings.Contains(ready.Message, f.ns(0)+"/first") {
		t.Errorf("conflict message %q does not name the owner %s/first", ready.Message, f.ns(0))
	}
	f.waitEvent(f.ns(1), "second", quotav1.ReasonConflict)

	// Sample the row for a few resync periods: it must keep the first value and never flap.
	for range 30 {
		row, ok := f.row("acct-shared")
		if !ok || *row.StorageLimitBytes != 1<<30 {
			t.Fatalf("row = %+v (exists %v), want the first AccountQuota's 1Gi", row, ok)
		}
		if !row.UpdatedAt.Equal(before.UpdatedAt) {
			t.Fatalf("updated_at moved from %s to %s", before.UpdatedAt, row.UpdatedAt)
		}
		time.Sleep(100 * time.Millisecond)
	}

	f.deleteAndWait(f.ns(1), "second", 10*time.Second)
	row, ok := f.row("acct-shared")
	if !ok || *row.StorageLimitBytes != 1<<30 || !row.UpdatedAt.Equal(before.UpdatedAt) {
		t.Errorf("deleting the conflicting AccountQuota changed the row: %+v (exists %v)", row, ok)
	}
}

// TestConflictLoserTakesOver: when the owner goes, the next oldest AccountQuota writes the row.
func TestConflictLoserTakesOver(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOptions{namespaces: 2})
	f.apply(f.ns(0), "first", "acct-next", "1Gi", "")
	f.waitReady(f.ns(0), "first", metav1.ConditionTrue, quotav1.ReasonSynced)
	time.Sleep(1100 * time.Millisecond)
	f.apply(f.ns(1), "second", "acct-next", "3Gi", "")
	f.waitReady(f.ns(1), "second", metav1.ConditionFalse, quotav1.ReasonConflict)

	f.deleteAndWait(f.ns(0), "first", 10*time.Second)
	f.waitReady(f.ns(1), "second", metav1.ConditionTrue, quotav1.ReasonSynced)
	row, ok := f.row("acct-next")
	if !ok || *row.StorageLimitBytes != 3<<30 {
		t.Errorf("row = %+v (exists %v), want 3Gi from the remaining AccountQuota", row, ok)
	}
}

// TestObservedGenerationFollowsSpec: a spec change reaches the row and observedGeneration, and a
// hand-written status is overwritten.
func TestObservedGenerationFollowsSpec(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOptions{})
	aq := f.apply(f.ns(0), "growing", "acct-gen", "1Gi", "")
	aq = f.waitReady(f.ns(0), "growing", metav1.ConditionTrue, quotav1.ReasonSynced)

	patch := client.MergeFrom(aq.DeepCopy())
	bigger := resource.MustParse("2Gi")
	aq.Spec.StorageLimit = &bigger
	if err := kube.Client.Patch(context.Background(), aq, patch); err != nil {
		t.Fatal(err)
	}
	aq = f.waitReady(f.ns(0), "growing", metav1.ConditionTrue, quotav1.ReasonSynced)
	if aq.Status.ObservedGeneration != aq.Generation || aq.Generation < 2 {
		t.Errorf("observedGeneration = %d, generation = %d", aq.Status.ObservedGeneration, aq.Generation)
	}
	ready := meta.FindStatusCondition(aq.Status.Conditions, quotav1.ConditionReady)
	if ready.ObservedGeneration != aq.Generation {
		t.Errorf("Ready observedGeneration = %d, want %d", ready.ObservedGeneration, aq.Generation)
	}
	if row, _ := f.row("acct-gen"); *row.StorageLimitBytes != 2<<30 {
		t.Errorf("storage_limit_bytes = %d, want %d", *row.StorageLimitBytes, int64(2<<30))
	}
	f.waitEvent(f.ns(0), "growing", "Updated")

	statusPatch := client.MergeFrom(aq.DeepCopy())
	aq.Status.Limits.StorageBytes = 42
	aq.Status.Limits.Storage = "42"
	if err := kube.Client.Status().Patch(context.Background(), aq, statusPatch); err != nil {
		t.Fatal(err)
	}
	f.waitFor("hand-written status overwritten", 10*time.Second, func() bool {
		return f.get(f.ns(0), "growing").Status.Limits.StorageBytes == 2<<30
	})
}

// TestIdleQuotaNotRewritten: with no changes, neither the object nor the row is written again,
// and resync passes cause no reconciles.
func TestIdleQuotaNotRewritten(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOptions{resyncPeriod: 500 * time.Millisecond})
	f.apply(f.ns(0), "idle", "acct-idle", "1Gi", "1Mi")
	aq := f.waitReady(f.ns(0), "idle", metav1.ConditionTrue, quotav1.ReasonSynced)
	time.Sleep(time.Second) // let the reconciles caused by the status write settle
	aq = f.get(f.ns(0), "idle")
	row, _ := f.row("acct-idle")
	reconciles := f.reconciles.count.Load()
	ready := meta.FindStatusCondition(aq.Status.Conditions, quotav1.ConditionReady)

	// NOTE: 20 seconds is 40 resync periods here; the two minutes of a production check would
	// only repeat the same passes.
	time.Sleep(20 * time.Second)
	after := f.get(f.ns(0), "idle")
	if after.ResourceVersion != aq.ResourceVersion {
		t.Errorf("resourceVersion moved from %s to %s", aq.ResourceVersion, after.ResourceVersion)
	}
	afterReady := meta.FindStatusCondition(after.Status.Conditions, quotav1.ConditionReady)
	if !afterReady.LastTransitionTime.Equal(&ready.LastTransitionTime) {
		t.Errorf("Ready transition time moved from %s to %s", ready.LastTransitionTime, afterReady.LastTransitionTime)
	}
	if got := f.reconciles.count.Load(); got != reconciles {
		t.Errorf("reconciles grew from %d to %d while idle", reconciles, got)
	}
	if rowAfter, _ := f.row("acct-idle"); !rowAfter.UpdatedAt.Equal(row.UpdatedAt) {
		t.Errorf("updated_at moved from %s to %s", row.UpdatedAt, rowAfter.UpdatedAt)
	}
}

func (f *fixture) deleteAndWait(ns, name string, timeout time.Duration) {
	f.t.Helper()
	if err := kube.Client.Delete(context.Background(), f.get(ns, name)); err != nil {
		f.t.Fatalf("delete %s/%s: %v", ns, name, err)
	}
	f.waitGone(ns, name, timeout)
}

func (f *fixture) waitGone(ns, name string, timeout time.Duration) {
	f.t.Helper()
	f.waitFor(ns+"/"+name+" to disappear", timeout, func() bool {
		var aq quotav1.AccountQuota
		err := kube.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, &aq)
		return err != nil && client.IgnoreNotFound(err) == nil
	})
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
