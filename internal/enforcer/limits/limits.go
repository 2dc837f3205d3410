// Package limits caches the storage and bandwidth limits of accounts from identity_account_quota
// and keeps each account's bandwidth buckets at its current limit.
package limits

import (
	"sync"
	"sync/atomic"
	"time"

	"xpod.dev/quota-operator/internal/database"
	"xpod.dev/quota-operator/internal/enforcer/throttle"
)

// Defaults are the limits of accounts whose quota row is missing or leaves a limit NULL.
type Defaults struct {
	StorageBytes int64
	// BandwidthBps is in bytes per second per direction; 0 means not throttled.
	BandwidthBps int64
}

// Limits are the effective limits of one account.
type Limits struct {
	// StorageBytes is the maximum storage; 0 means no new bytes may be written.
	StorageBytes int64
	// BandwidthBps is the rate of uploads and, separately, of downloads in bytes per second;
	// 0 means not throttled.
	BandwidthBps int64
}

func effective(q *database.Quota, d Defaults) Limits {
	l := Limits{StorageBytes: d.StorageBytes, BandwidthBps: d.BandwidthBps}
	if q == nil {
		return l
	}
	if q.StorageLimitBytes != nil {
		l.StorageBytes = *q.StorageLimitBytes
	}
	if q.BandwidthLimitBps != nil {
		l.BandwidthBps = *q.BandwidthLimitBps
	}
	return l
}

// Account is the cached state of one account: its limits and its upload and download buckets,
// which all of the account's connections share.
type Account struct {
	ID       string
	Upload   *throttle.Bucket
	Download *throttle.Bucket

	loadMu   sync.Mutex
	mu       sync.RWMutex
	limits   Limits
	loaded   bool
	retryAt  time.Time
	lastUsed atomic.Int64
}

func newAccount(id string, d Defaults) *Account {
	return &Account{
		ID:       id,
		Upload:   throttle.NewBucket(d.BandwidthBps),
		Download: throttle.NewBucket(d.BandwidthBps),
		limits:   Limits{StorageBytes: d.StorageBytes, BandwidthBps: d.BandwidthBps},
	}
}

// Limits returns the account's current limits.
func (a *Account) Limits() Limits {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return a.limits
}

// Loaded reports whether the limits were read from the database at least once. Until then the
// defaults apply.
func (a *Account) Loaded() bool {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return a.loaded
}

// set stores new limits and reports whether they changed.
func (a *Account) set(l Limits) bool {
	a.mu.Lock()
	changed := a.limits != l || !a.loaded
	a.limits, a.loaded = l, true
	a.mu.Unlock()
	if changed {
		a.Upload.SetRate(l.BandwidthBps)
		a.Download.SetRate(l.BandwidthBps)
	}
	return changed
}
