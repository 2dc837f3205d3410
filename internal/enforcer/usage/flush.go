package usage

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"xpod.dev/quota-operator/internal/database"
)

// flushLogRetentionHours bounds how long quota_flush_log keeps a flush id. A batch whose commit
// outcome is unknown must be retried within this time or it may be applied twice.
const flushLogRetentionHours = 7 * 24

// batch is one flush with what the ledger needs to settle once it is applied.
type batch struct {
	flush     database.UsageFlush
	estimates map[string]int64
	maxSeq    uint64
}

func (b *batch) empty() bool { return len(b.flush.Pods) == 0 && len(b.flush.Sizes) == 0 }

// FlushStats describes one successful flush.
type FlushStats struct {
	Pods, Sizes int
	Duplicate   bool
}

// Flush writes the pending usage in one transaction and reloads the storage of the cached
// accounts. A batch that fails stays pending under the same id and is sent again by the next
// call before anything newer, so a commit whose reply was lost is not applied twice.
func (l *Ledger) Flush(ctx context.Context) (FlushStats, error) {
	l.flushMu.Lock()
	defer l.flushMu.Unlock()
	if l.inflight == nil {
		l.inflight = l.takeBatch()
	}
	b := l.inflight
	accounts := l.accountIDs()
	if b.empty() && len(accounts) == 0 {
		l.inflight = nil
		return FlushStats{}, nil
	}

	res, err := database.ApplyUsageFlush(ctx, l.pool, b.flush, accounts)
	l.noteDatabaseResult(err)
	if err != nil {
		return FlushStats{}, err
	}
	l.settle(b, res, accounts)
	l.inflight = nil
	l.cleanFlushLog(ctx)
	return FlushStats{Pods: len(b.flush.Pods), Sizes: len(b.flush.Sizes), Duplicate: res.Duplicate}, nil
}

// takeBatch moves everything pending into a new batch and drops idle entries.
func (l *Ledger) takeBatch() *batch {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := &batch{
		flush:     database.UsageFlush{ID: uuid.NewString(), EnforcerID: l.enforcerID, Sizes: l.sizes},
		estimates: l.estimates,
		maxSeq:    l.seq,
	}
	l.sizes, l.estimates = nil, map[string]int64{}
	for k, c := range l.pods {
		in, out := c.ingress.Swap(0), c.egress.Swap(0)
		if in != 0 || out != 0 {
			b.flush.Pods = append(b.flush.Pods, database.PodDelta{PodID: k.pod, AccountID: k.account,
				IngressBytes: in, EgressBytes: out})
		} else if c.refs.Load() == 0 {
			delete(l.pods, k)
		}
	}
	return b
}

// accountIDs returns the accounts whose storage the next flush reloads, dropping the ones idle
// for a while that hold nothing in memory.
func (l *Ledger) accountIDs() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	cutoff := time.Now().Add(-15 * time.Minute)
	ids := make([]string, 0, len(l.accounts))
	for id, a := range l.accounts {
		if a.lastUsed.Before(cutoff) && a.pending == 0 && a.reserved == 0 && l.estimates[id] == 0 {
			delete(l.accounts, id)
			continue
		}
		ids = append(ids, id)
	}
	return ids
}

// settle applies a committed batch to the in-memory figures: its estimates leave pending, the
// database's storage becomes the base, and sizes it recorded leave the overrides.
func (l *Ledger) settle(b *batch, res database.FlushResult, reloaded []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for id, est := range b.estimates {
		if a, ok := l.accounts[id]; ok {
			a.pending -= est
		}
	}
	for _, id := range reloaded {
		if a, ok := l.accounts[id]; ok {
			a.base, a.loaded = res.StorageBytes[id], true
		}
	}
	for k, o := range l.overrides {
		if o.seq <= b.maxSeq {
			delete(l.overrides, k)
		}
	}
}

func (l *Ledger) cleanFlushLog(ctx context.Context) {
	if time.Since(l.cleanAt) < time.Hour {
		return
	}
	l.cleanAt = time.Now()
	if _, err := database.DeleteOldFlushRecords(ctx, l.pool, flushLogRetentionHours); err != nil {
		l.log.Warn("Deleting old flush records failed", "error", err)
	}
}

func (l *Ledger) noteDatabaseResult(err error) {
	switch {
	case err == nil:
		l.healthy.Store(true)
	case database.IsUnavailable(err) || errors.Is(err, context.DeadlineExceeded):
		l.healthy.Store(false)
	}
}

// FlushUntilDone flushes until nothing is pending, retrying failures with backoff, or until
// ctx ends. It is the last flush before the process exits.
func (l *Ledger) FlushUntilDone(ctx context.Context, observe func(time.Duration, error)) error {
	backoff := 100 * time.Millisecond
	for {
		start := time.Now()
		_, err := l.Flush(ctx)
		if observe != nil {
			observe(time.Since(start), err)
		}
		if err == nil {
			if records, _ := l.Pending(); records == 0 {
				return nil
			}
			continue
		}
		l.log.Warn("Final usage flush failed; retrying", "error", err, "retryIn", backoff)
		select {
		case <-ctx.Done():
			records, bytes := l.Pending()
			return fmt.Errorf("final usage flush did not finish before the shutdown deadline, %d records "+
				"(%d transfer bytes) are lost: %w", records, bytes, err)
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 2*time.Second)
	}
}

// Run flushes every interval until ctx ends. After a failure it waits with exponential backoff
// up to maxBackoff. observe receives each flush's duration and error.
func (l *Ledger) Run(ctx context.Context, interval, maxBackoff time.Duration, observe func(time.Duration, error)) {
	wait := interval
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		start := time.Now()
		flushCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
		stats, err := l.Flush(flushCtx)
		cancel()
		if observe != nil {
			observe(time.Since(start), err)
		}
		if err != nil {
			wait = min(max(wait*2, interval), maxBackoff)
			l.logFlushFailure(err, failing, wait)
			failing = true
			continue
		}
		if failing {
			l.log.Info("Usage flush works again")
		}
		if stats.Duplicate {
			l.log.Info("Usage flush was already applied before its reply was lost; not applied again")
		}
		wait, failing = interval, false
	}
}

func (l *Ledger) logFlushFailure(err error, failing bool, wait time.Duration) {
	records, bytes := l.Pending()
	if failing {
		l.log.Debug("Usage flush failed again", "error", err, "pendingRecords", records, "retryIn", wait)
		return
	}
	l.log.Error("Usage flush failed; the usage stays in memory and is retried", "error", err,
		"pendingRecords", records, "pendingTransferBytes", bytes, "retryIn", wait)
}
