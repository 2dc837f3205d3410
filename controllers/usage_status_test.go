package controllers

import (
	"context"
	"fmt"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	quotav1 "xpod.dev/quota-operator/api/v1alpha1"
)

// setUsage writes the usage rows of one account: the account row and one row per pod.
func (f *fixture) setUsage(account string, pods map[string][3]int64) {
	f.t.Helper()
	ctx := context.Background()
	var storage, ingress, egress int64
	for pod, v := range pods {
		storage, ingress, egress = storage+v[0], ingress+v[1], egress+v[2]
		_, err := f.pool.Exec(ctx, `INSERT INTO identity_pod_usage AS u (pod_id, account_id, storage_bytes, ingress_bytes,
			egress_bytes, updated_at) VALUES ($1, $2, $3, $4, $5, NOW())
			ON CONFLICT (pod_id) DO UPDATE SET storage_bytes = $3, ingress_bytes = $4, egress_bytes = $5, updated_at = NOW()`,
			pod, account, v[0], v[1], v[2])
		if err != nil {
			f.t.Fatalf("write pod usage: %v", err)
		}
	}
	_, err := f.pool.Exec(ctx, `INSERT INTO identity_account_usage AS u (account_id, storage_bytes, ingress_bytes,
		egress_bytes, updated_at) VALUES ($1, $2, $3, $4, NOW())
		ON CONFLICT (account_id) DO UPDATE SET storage_bytes = $2, ingress_bytes = $3, egress_bytes = $4, updated_at = NOW()`,
		account, storage, ingress, egress)
	if err != nil {
		f.t.Fatalf("write account usage: %v", err)
	}
}

func TestUsageReachesStatus(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOptions{statusInterval: 2 * time.Second})
	pods := map[string][3]int64{}
	for i := range 12 {
		pods[fmt.Sprintf("pod-%02d", i)] = [3]int64{int64(i+1) << 20, 1000, 2000}
	}
	pods["pod-tie"] = [3]int64{12 << 20, 0, 0} // same storage as pod-11: ordered by id after it
	f.setUsage("acct-use", pods)
	f.apply(f.ns(0), "use", "acct-use", "1Gi", "")

	var aq *quotav1.AccountQuota
	f.waitFor("usage in status", 20*time.Second, func() bool {
		aq = f.get(f.ns(0), "use")
		return aq.Status.Usage != nil && aq.Status.Usage.PodCount == 13
	})
	u := aq.Status.Usage
	wantStorage := int64(78+12) << 20
	if u.StorageBytes != wantStorage || u.IngressBytes != 12000 || u.EgressBytes != 24000 {
		t.Errorf("usage = %d/%d/%d, want %d/12000/24000", u.StorageBytes, u.IngressBytes, u.EgressBytes, wantStorage)
	}
	if u.StoragePercent != 8 || aq.Status.Summary != "90Mi/1Gi" {
		t.Errorf("percent %d and summary %q, want 8 and 90Mi/1Gi", u.StoragePercent, aq.Status.Summary)
	}
	wantOrder := []string{"pod-11", "pod-tie", "pod-10", "pod-09", "pod-08", "pod-07", "pod-06", "pod-05", "pod-04", "pod-03"}
	if len(u.Pods) != len(wantOrder) {
		t.Fatalf("%d pods in status, want %d", len(u.Pods), len(wantOrder))
	}
	for i, id := range wantOrder {
		if u.Pods[i].PodID != id {
			t.Errorf("pods[%d] = %s, want %s", i, u.Pods[i].PodID, id)
		}
	}

	// A changed row reaches status within two poll intervals.
	pods["pod-00"] = [3]int64{500 << 20, 1000, 2000}
	changedAt := time.Now()
	f.setUsage("acct-use", pods)
	f.waitFor("changed usage in status", 10*time.Second, func() bool {
		return f.get(f.ns(0), "use").Status.Usage.StorageBytes == wantStorage+499<<20
	})
	if took := time.Since(changedAt); took > 2*2*time.Second+time.Second {
		t.Errorf("changed usage took %s to reach status, more than two 2s intervals", took)
	}
}

func TestThresholdConditions(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOptions{})
	f.apply(f.ns(0), "limit", "acct-cond", "1000", "")
	f.waitReady(f.ns(0), "limit", metav1.ConditionTrue, quotav1.ReasonSynced)

	steps := []struct {
		storage    int64
		exceeded   metav1.ConditionStatus
		nearReason string
		summary    string
		percent    int64
	}{
		{storage: 500, exceeded: metav1.ConditionFalse, nearReason: "BelowThresholds", summary: "500/1000", percent: 50},
		{storage: 950, exceeded: metav1.ConditionFalse, nearReason: "Above90Percent", summary: "950/1000", percent: 95},
		{storage: 1000, exceeded: metav1.ConditionTrue, nearReason: "Above100Percent", summary: "1000/1000", percent: 100},
	}
	for _, step := range steps {
		f.setUsage("acct-cond", map[string][3]int64{"pod-cond": {step.storage, 0, 0}})
		f.waitFor(fmt.Sprintf("storage %d in status", step.storage), 15*time.Second, func() bool {
			u := f.get(f.ns(0), "limit").Status.Usage
			return u != nil && u.StorageBytes == step.storage
		})
		aq := f.get(f.ns(0), "limit")
		exceeded := meta.FindStatusCondition(aq.Status.Conditions, ConditionStorageExceeded)
		near := meta.FindStatusCondition(aq.Status.Conditions, ConditionNearLimit)
		if exceeded == nil || exceeded.Status != step.exceeded {
			t.Errorf("storage %d: StorageExceeded = %v, want %s", step.storage, exceeded, step.exceeded)
		}
		if near == nil || near.Reason != step.nearReason {
			t.Errorf("storage %d: NearLimit = %v, want reason %s", step.storage, near, step.nearReason)
		}
		if aq.Status.Summary != step.summary || aq.Status.Usage.StoragePercent != step.percent {
			t.Errorf("storage %d: summary %q, percent %d; want %q, %d", step.storage, aq.Status.Summary,
				aq.Status.Usage.StoragePercent, step.summary, step.percent)
		}
	}
}

func TestRatesRiseAndDecay(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOptions{statusInterval: time.Second})
	f.apply(f.ns(0), "busy", "acct-rate", "", "")
	f.waitReady(f.ns(0), "busy", metav1.ConditionTrue, quotav1.ReasonSynced)

	// 4 MiB in and 1 MiB out every 250ms: 16 MiB/s and 4 MiB/s.
	stop := time.Now().Add(5 * time.Second)
	var in, out int64
	sawRate := false
	for time.Now().Before(stop) {
		in, out = in+4<<20, out+1<<20
		f.setUsage("acct-rate", map[string][3]int64{"pod-rate": {0, in, out}})
		u := f.get(f.ns(0), "busy").Status.Usage
		if u != nil && u.IngressBytesPerSecond >= 12<<20 && u.IngressBytesPerSecond <= 20<<20 &&
			u.EgressBytesPerSecond >= 3<<20 && u.EgressBytesPerSecond <= 5<<20 {
			sawRate = true
		}
		time.Sleep(250 * time.Millisecond)
	}
	if !sawRate {
		t.Errorf("status never showed about 16Mi/s in and 4Mi/s out; last usage %+v", f.get(f.ns(0), "busy").Status.Usage)
	}
	f.waitFor("rates back to zero", 10*time.Second, func() bool {
		u := f.get(f.ns(0), "busy").Status.Usage
		return u.IngressBytesPerSecond == 0 && u.EgressBytesPerSecond == 0 && u.IngressRate == "0"
	})
}

// TestIdleUsageNotRewritten: with usage rows present and no traffic, two minutes of one-second
// passes leave the AccountQuota untouched.
func TestIdleUsageNotRewritten(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOptions{statusInterval: time.Second, resyncPeriod: 5 * time.Second})
	f.setUsage("acct-quiet", map[string][3]int64{"pod-q1": {300, 10, 20}, "pod-q2": {300, 5, 5}})
	f.apply(f.ns(0), "quiet", "acct-quiet", "1Ki", "")
	f.waitFor("usage in status", 15*time.Second, func() bool {
		u := f.get(f.ns(0), "quiet").Status.Usage
		return u != nil && u.StorageBytes == 600
	})
	time.Sleep(3 * time.Second)
	before := f.get(f.ns(0), "quiet")
	reconciles := f.reconciles.count.Load()

	time.Sleep(2 * time.Minute)
	after := f.get(f.ns(0), "quiet")
	if after.ResourceVersion != before.ResourceVersion {
		t.Errorf("resourceVersion moved from %s to %s", before.ResourceVersion, after.ResourceVersion)
	}
	for _, c := range before.Status.Conditions {
		a := meta.FindStatusCondition(after.Status.Conditions, c.Type)
		if a == nil || !a.LastTransitionTime.Equal(&c.LastTransitionTime) {
			t.Errorf("condition %s transition time moved", c.Type)
		}
	}
	if got := f.reconciles.count.Load(); got != reconciles {
		t.Errorf("reconciles grew from %d to %d while idle", reconciles, got)
	}
}
