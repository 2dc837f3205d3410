package controllers

import (
	"context"
	"time"

	"github.com/go-logr/logr"
	"github.com/jackc/pgx/v5/pgxpool"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/log"

	quotav1 "xpod.dev/quota-operator/api/v1alpha1"
	"xpod.dev/quota-operator/internal/database"
)

// cursorOverlap is how far each pass reads back before the newest change seen. A writer's
// updated_at is its transaction's start time, so a transaction that commits after a pass may
// carry an earlier timestamp than rows that pass already read. The overlap picks such rows up,
// and figures that did not change are not reported twice.
const cursorOverlap = 5 * time.Second

// UsageListener receives the figures of every account that a pass read: those whose usage or
// quota rows changed, and on the first pass all of them.
type UsageListener interface {
	UsageChanged(ctx context.Context, changes map[string]AccountFigures)
}

// UsagePoller reads the usage rows changed since its last pass, updates the UsageStore and
// wakes the AccountQuotas whose figures changed. It runs only on the elected leader.
type UsagePoller struct {
	Client   client.Reader
	DB       *pgxpool.Pool
	Store    *UsageStore
	Interval time.Duration
	Wake     chan<- event.TypedGenericEvent[*quotav1.AccountQuota]
	// Listener, when set, receives every pass's changed figures, for alerts and metrics.
	Listener UsageListener

	cursor   time.Time
	lastPass time.Time
	totals   map[string][2]int64 // ingress and egress at the previous pass
}

// NeedLeaderElection makes the poller run only on the leader.
func (p *UsagePoller) NeedLeaderElection() bool { return true }

// Start runs a pass at once and then every Interval until ctx ends.
func (p *UsagePoller) Start(ctx context.Context) error {
	logger := log.FromContext(ctx).WithName("usage-poller")
	p.totals = map[string][2]int64{}
	ticker := time.NewTicker(p.Interval)
	defer ticker.Stop()
	for {
		p.pass(ctx, logger)
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
	}
}

func (p *UsagePoller) pass(ctx context.Context, logger logr.Logger) {
	start := time.Now()
	since := time.Time{}
	if !p.cursor.IsZero() {
		since = p.cursor.Add(-cursorOverlap)
	}
	changes, err := database.ChangedUsage(ctx, p.DB, since)
	if err != nil {
		pollErrors.Inc()
		logger.Error(err, "Failed to read usage; retrying at the next pass")
		return
	}
	rowsChanged.Observe(float64(len(changes)))

	elapsed := start.Sub(p.lastPass).Seconds()
	if p.lastPass.IsZero() {
		elapsed = 0
	}
	p.lastPass = start
	read, changed := p.apply(changes, elapsed)
	p.decayIdleRates(changes, changed)
	if p.Listener != nil && len(read) > 0 {
		p.Listener.UsageChanged(ctx, read)
	}
	var woken int
	if p.Store.Loaded() {
		woken = p.wake(ctx, changed)
	} else {
		// The first pass read every account: wake every AccountQuota, also those without usage
		// rows, whose reconciles so far left the usage figures out.
		p.Store.markLoaded()
		woken = p.wakeAll(ctx)
	}
	passDuration.Observe(time.Since(start).Seconds())
	logger.V(1).Info("Usage pass done", "rows", len(changes), "accountsChanged", len(changed), "woken", woken,
		"duration", time.Since(start))
}

// apply turns the rows read into figures. It returns the figures of every account read and of
// those whose figures changed.
func (p *UsagePoller) apply(changes []database.AccountUsageChange, elapsed float64) (
	read, changed map[string]AccountFigures) {
	read = make(map[string]AccountFigures, len(changes))
	changed = map[string]AccountFigures{}
	for _, c := range changes {
		if c.ChangedAt.After(p.cursor) {
			p.cursor = c.ChangedAt
		}
		f := AccountFigures{StorageBytes: c.StorageBytes, IngressBytes: c.IngressBytes, EgressBytes: c.EgressBytes,
			Pods: largestPods(c.Pods), PodCount: len(c.Pods), UpdatedAt: c.UpdatedAt}
		if prev, ok := p.totals[c.AccountID]; ok && elapsed > 0 {
			f.IngressBytesPerSecond = roundRate(float64(c.IngressBytes-prev[0]) / elapsed)
			f.EgressBytesPerSecond = roundRate(float64(c.EgressBytes-prev[1]) / elapsed)
		}
		p.totals[c.AccountID] = [2]int64{c.IngressBytes, c.EgressBytes}
		read[c.AccountID] = f
		if p.Store.set(c.AccountID, f) {
			changed[c.AccountID] = f
		}
	}
	return read, changed
}

// decayIdleRates sets the rates of accounts that had no row changes in this pass back to zero.
// Accounts in the pass got their rates from apply.
func (p *UsagePoller) decayIdleRates(changes []database.AccountUsageChange, changed map[string]AccountFigures) {
	inPass := make(map[string]bool, len(changes))
	for _, c := range changes {
		inPass[c.AccountID] = true
	}
	for id, f := range p.Store.withRates() {
		if inPass[id] {
			continue
		}
		f.IngressBytesPerSecond, f.EgressBytesPerSecond = 0, 0
		if p.Store.set(id, f) {
			changed[id] = f
		}
	}
}

// wakeAll sends every AccountQuota to the reconciler.
func (p *UsagePoller) wakeAll(ctx context.Context) int {
	var list quotav1.AccountQuotaList
	if err := p.Client.List(ctx, &list); err != nil {
		return 0
	}
	for i := range list.Items {
		select {
		case p.Wake <- event.TypedGenericEvent[*quotav1.AccountQuota]{Object: &list.Items[i]}:
		case <-ctx.Done():
			return i
		}
	}
	return len(list.Items)
}

// wake sends every AccountQuota that names a changed account to the reconciler.
func (p *UsagePoller) wake(ctx context.Context, changed map[string]AccountFigures) int {
	woken := 0
	for id := range changed {
		var list quotav1.AccountQuotaList
		if err := p.Client.List(ctx, &list, client.MatchingFields{accountIDIndex: id}); err != nil {
			continue
		}
		for i := range list.Items {
			select {
			case p.Wake <- event.TypedGenericEvent[*quotav1.AccountQuota]{Object: &list.Items[i]}:
				woken++
			case <-ctx.Done():
				return woken
			}
		}
	}
	return woken
}
