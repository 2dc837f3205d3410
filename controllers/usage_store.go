package controllers

import (
	"sort"
	"sync"
	"time"

	"xpod.dev/quota-operator/internal/database"
)

// maxPodsInStatus is the number of pods listed in an AccountQuota's status.
const maxPodsInStatus = 10

// AccountFigures are the usage figures of one account as shown in status: totals, rounded rates
// and the largest pods.
type AccountFigures struct {
	StorageBytes          int64
	IngressBytes          int64
	EgressBytes           int64
	IngressBytesPerSecond int64
	EgressBytesPerSecond  int64
	Pods                  []database.PodUsageRow
	PodCount              int
	UpdatedAt             time.Time
}

// equal reports whether two figures would render the same status.
func (f AccountFigures) equal(o AccountFigures) bool {
	if f.StorageBytes != o.StorageBytes || f.IngressBytes != o.IngressBytes || f.EgressBytes != o.EgressBytes ||
		f.IngressBytesPerSecond != o.IngressBytesPerSecond || f.EgressBytesPerSecond != o.EgressBytesPerSecond ||
		f.PodCount != o.PodCount || !f.UpdatedAt.Equal(o.UpdatedAt) || len(f.Pods) != len(o.Pods) {
		return false
	}
	for i := range f.Pods {
		a, b := f.Pods[i], o.Pods[i]
		if a.PodID != b.PodID || a.StorageBytes != b.StorageBytes || a.IngressBytes != b.IngressBytes ||
			a.EgressBytes != b.EgressBytes {
			return false
		}
	}
	return true
}

// UsageStore holds the latest figures of every account with usage rows. The usage poller
// writes it and the reconciler reads it.
type UsageStore struct {
	mu       sync.RWMutex
	accounts map[string]AccountFigures
	loaded   bool
}

// Loaded reports whether a pass has read every account since the manager started. Until then a
// missing account may just not have been read yet.
func (s *UsageStore) Loaded() bool {
	if s == nil {
		return false
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.loaded
}

func (s *UsageStore) markLoaded() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.loaded = true
}

// NewUsageStore returns an empty store.
func NewUsageStore() *UsageStore {
	return &UsageStore{accounts: map[string]AccountFigures{}}
}

// Get returns the figures of one account.
func (s *UsageStore) Get(accountID string) (AccountFigures, bool) {
	if s == nil {
		return AccountFigures{}, false
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	f, ok := s.accounts[accountID]
	return f, ok
}

// set stores figures and reports whether they differ from the stored ones.
func (s *UsageStore) set(accountID string, f AccountFigures) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.accounts[accountID]
	if ok && old.equal(f) {
		return false
	}
	s.accounts[accountID] = f
	return true
}

// withRates lists the accounts whose stored rates are not zero.
func (s *UsageStore) withRates() map[string]AccountFigures {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := map[string]AccountFigures{}
	for id, f := range s.accounts {
		if f.IngressBytesPerSecond != 0 || f.EgressBytesPerSecond != 0 {
			out[id] = f
		}
	}
	return out
}

// largestPods sorts pods by storage, largest first, then by pod id, and keeps at most
// maxPodsInStatus of them.
func largestPods(pods []database.PodUsageRow) []database.PodUsageRow {
	sorted := append([]database.PodUsageRow(nil), pods...)
	sort.Slice(sorted, func(i, j int) bool {
		if sorted[i].StorageBytes != sorted[j].StorageBytes {
			return sorted[i].StorageBytes > sorted[j].StorageBytes
		}
		return sorted[i].PodID < sorted[j].PodID
	})
	if len(sorted) > maxPodsInStatus {
		sorted = sorted[:maxPodsInStatus]
	}
	return sorted
}
