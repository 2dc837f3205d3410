// Package usage keeps the enforcer's usage figures in memory and writes them to PostgreSQL in
// batches: ingress and egress bytes per pod, resource sizes after writes, and the storage each
// account uses, reserves and may still use.
package usage

import (
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"xpod.dev/quota-operator/internal/database"
)

// Ledger is the in-memory usage of one enforcer process. It is safe for concurrent use.
type Ledger struct {
	pool       *pgxpool.Pool
	enforcerID string
	// timeout bounds each database call that a request waits for.
	timeout time.Duration
	log     *slog.Logger

	flushMu sync.Mutex // serialises flushes
	// inflight is the batch being written, kept with its ID until it is known to be applied.
	inflight *batch
	cleanAt  time.Time

	mu       sync.Mutex
	pods     map[podKey]*PodCounters
	accounts map[string]*accountStorage
	// TODO: sizes keeps one entry per write until a flush succeeds, so a long database outage
	// under heavy writes grows it without bound. Entries of one resource could be merged.
	sizes     []database.SizeChange
	estimates map[string]int64 // account -> estimated storage change of sizes
	overrides map[resourceKey]override
	seq       uint64
	healthy   atomic.Bool
}

type podKey struct{ pod, account string }

type resourceKey struct{ pod, path string }

// override is a resource size recorded in memory and not yet known to be committed.
type override struct {
	size int64
	seq  uint64
}

// accountStorage is an account's storage as this enforcer process records it. used = base + pending.
type accountStorage struct {
	// base is storage_bytes from the database after the last flush or load.
	base   int64
	loaded bool
	// pending is the estimated change of resource writes and deletes not yet committed.
	pending int64
	// reserved is the bytes held by uploads in progress.
	reserved int64
	lastUsed time.Time
}

// PodCounters are the ingress and egress bytes of one pod since the last flush.
type PodCounters struct {
	ingress atomic.Int64
	egress  atomic.Int64
	// refs counts the requests that hold the counters, so idle ones can be dropped.
	refs atomic.Int64
}

// AddIngress counts body bytes read from a client.
func (c *PodCounters) AddIngress(n int64) { c.ingress.Add(n) }

// AddEgress counts body bytes written to a client.
func (c *PodCounters) AddEgress(n int64) { c.egress.Add(n) }

// Release marks the end of the request that acquired the counters.
func (c *PodCounters) Release() { c.refs.Add(-1) }

// NewLedger returns an empty ledger. enforcerID names this process in quota_flush_log.
func NewLedger(pool *pgxpool.Pool, enforcerID string, timeout time.Duration, log *slog.Logger) *Ledger {
	l := &Ledger{
		pool:       pool,
		enforcerID: enforcerID,
		timeout:    timeout,
		log:        log,
		pods:       map[podKey]*PodCounters{},
		accounts:   map[string]*accountStorage{},
		estimates:  map[string]int64{},
		overrides:  map[resourceKey]override{},
	}
	l.healthy.Store(true)
	return l
}

// Pod returns the counters of a pod for one request; call Release when the request ends.
func (l *Ledger) Pod(podID, accountID string) *PodCounters {
	l.mu.Lock()
	defer l.mu.Unlock()
	k := podKey{podID, accountID}
	c, ok := l.pods[k]
	if !ok {
		c = &PodCounters{}
		l.pods[k] = c
	}
	c.refs.Add(1)
	return c
}

// Healthy reports whether the last database call succeeded.
func (l *Ledger) Healthy() bool { return l.healthy.Load() }

// Pending returns the number of records and the ingress and egress bytes not yet written to the
// database, including a batch whose write is being retried.
func (l *Ledger) Pending() (records int, bytes int64) {
	l.mu.Lock()
	records = len(l.sizes)
	for _, c := range l.pods {
		in, out := c.ingress.Load(), c.egress.Load()
		if in != 0 || out != 0 {
			records++
			bytes += in + out
		}
	}
	l.mu.Unlock()

	l.flushMu.Lock()
	defer l.flushMu.Unlock()
	if b := l.inflight; b != nil {
		records += len(b.flush.Pods) + len(b.flush.Sizes)
		for _, p := range b.flush.Pods {
			bytes += p.IngressBytes + p.EgressBytes
		}
	}
	return records, bytes
}
