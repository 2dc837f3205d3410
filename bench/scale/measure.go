package main

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	quotav1 "xpod.dev/quota-operator/api/v1alpha1"
)

// measureApply creates the AccountQuotas and times the rows and the Ready conditions.
func measureApply(ctx context.Context, env *environment, o options, r *report) error {
	start := time.Now()
	if err := createQuotas(ctx, env, o); err != nil {
		return err
	}
	lastApply := time.Now()
	r.applyDuration = lastApply.Sub(start)

	if err := waitFor(ctx, 10*time.Minute, func() (bool, error) {
		var n int
		err := env.pool.QueryRow(ctx, "SELECT count(*) FROM identity_account_quota").Scan(&n)
		return n >= o.count, err
	}); err != nil {
		return fmt.Errorf("wait for rows: %w", err)
	}
	r.rowsAfterLastApply = time.Since(lastApply)

	if err := waitFor(ctx, 10*time.Minute, func() (bool, error) {
		ready, err := countReady(ctx, env)
		return ready >= o.count, err
	}); err != nil {
		return fmt.Errorf("wait for Ready: %w", err)
	}
	r.readyAfterLastApply = time.Since(lastApply)
	return nil
}

func createQuotas(ctx context.Context, env *environment, o options) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, o.applyWorkers)
	limit := resource.MustParse("10Mi")
	for range o.applyWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1); i <= int64(o.count); i = next.Add(1) {
				aq := &quotav1.AccountQuota{
					ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: fmt.Sprintf("aq-%d", i)},
					Spec:       quotav1.AccountQuotaSpec{AccountID: fmt.Sprintf("acct-%d", i), StorageLimit: &limit},
				}
				if err := env.client.Create(ctx, aq); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

func countReady(ctx context.Context, env *environment) (int, error) {
	var list quotav1.AccountQuotaList
	if err := env.client.List(ctx, &list); err != nil {
		return 0, err
	}
	ready := 0
	for _, aq := range list.Items {
		if meta.IsStatusConditionTrue(aq.Status.Conditions, quotav1.ConditionReady) && aq.Status.Usage != nil {
			ready++
		}
	}
	return ready, nil
}

// measureChangedPass changes 1% of the usage rows and checks which AccountQuotas were rewritten.
func measureChangedPass(ctx context.Context, env *environment, mgr *managerProcess, o options, r *report) error {
	time.Sleep(2 * o.statusInterval) // let the passes after the initial burst settle
	before, err := resourceVersions(ctx, env)
	if err != nil {
		return err
	}
	sumBefore, _ := mgr.metric(ctx, "xpod_quota_usage_poll_duration_seconds_sum")
	countBefore, _ := mgr.metric(ctx, "xpod_quota_usage_poll_duration_seconds_count")

	changed := o.count / 100
	for _, table := range []string{"identity_pod_usage", "identity_account_usage"} {
		_, err = env.pool.Exec(ctx, `UPDATE `+table+` SET storage_bytes = storage_bytes + 4096, updated_at = NOW()
			WHERE account_id IN (SELECT 'acct-' || i FROM generate_series(1, $1) AS i)`, changed)
		if err != nil {
			return fmt.Errorf("change usage rows: %w", err)
		}
	}
	time.Sleep(3 * o.statusInterval)

	after, err := resourceVersions(ctx, env)
	if err != nil {
		return err
	}
	for name, rv := range after {
		var i int
		_, _ = fmt.Sscanf(name, "aq-%d", &i)
		switch {
		case i <= changed && rv != before[name]:
			r.changedWrites++
		case i > changed && rv != before[name]:
			r.unchangedWrites++
		}
	}
	r.changedRows = changed
	sumAfter, _ := mgr.metric(ctx, "xpod_quota_usage_poll_duration_seconds_sum")
	countAfter, _ := mgr.metric(ctx, "xpod_quota_usage_poll_duration_seconds_count")
	if countAfter > countBefore {
		r.passesMeasured = int(countAfter - countBefore)
		r.meanPass = time.Duration((sumAfter - sumBefore) / (countAfter - countBefore) * float64(time.Second))
	}
	return r.measureQuery(ctx, env, changed)
}

func resourceVersions(ctx context.Context, env *environment) (map[string]string, error) {
	var list quotav1.AccountQuotaList
	if err := env.client.List(ctx, &list); err != nil {
		return nil, err
	}
	out := make(map[string]string, len(list.Items))
	for _, aq := range list.Items {
		out[aq.Name] = aq.ResourceVersion
	}
	return out, nil
}

func waitFor(ctx context.Context, timeout time.Duration, cond func() (bool, error)) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		ok, err := cond()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("timed out after %s", timeout)
}
