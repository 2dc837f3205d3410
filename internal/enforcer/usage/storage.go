package usage

import (
	"context"
	"fmt"
	"strings"
	"time"

	"xpod.dev/quota-operator/internal/database"
)

// StorageView is an account's storage at one moment.
type StorageView struct {
	UsedBytes     int64
	ReservedBytes int64
	// Loaded is false when the account's storage could not be read from the database yet, so
	// UsedBytes only counts this process's changes.
	Loaded bool
}

func (l *Ledger) account(id string) *accountStorage {
	a, ok := l.accounts[id]
	if !ok {
		a = &accountStorage{}
		l.accounts[id] = a
	}
	a.lastUsed = time.Now()
	return a
}

// LoadAccount reads the account's storage from the database unless it was read before.
func (l *Ledger) LoadAccount(ctx context.Context, accountID string) error {
	l.mu.Lock()
	loaded := l.account(accountID).loaded
	l.mu.Unlock()
	if loaded {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, l.timeout)
	defer cancel()
	base, err := database.GetAccountStorage(ctx, l.pool, accountID)
	l.noteDatabaseResult(err)
	if err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if a := l.account(accountID); !a.loaded {
		a.base, a.loaded = base, true
	}
	return nil
}

// Storage returns the account's current storage.
func (l *Ledger) Storage(accountID string) StorageView {
	l.mu.Lock()
	defer l.mu.Unlock()
	a := l.account(accountID)
	return StorageView{UsedBytes: a.base + a.pending, ReservedBytes: a.reserved, Loaded: a.loaded}
}

// Reserve holds n more bytes for an upload of the account when used, reserved and n together
// stay within limit. It returns the storage before the reservation and whether it was made.
// A reservation of zero or fewer bytes always succeeds.
func (l *Ledger) Reserve(accountID string, n, limit int64) (StorageView, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	a := l.account(accountID)
	view := StorageView{UsedBytes: a.base + a.pending, ReservedBytes: a.reserved, Loaded: a.loaded}
	if n <= 0 {
		return view, true
	}
	if view.UsedBytes+view.ReservedBytes+n > limit {
		return view, false
	}
	a.reserved += n
	return view, true
}

// Release returns reserved bytes of an upload that ended without a charge.
func (l *Ledger) Release(accountID string, n int64) {
	if n <= 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.account(accountID).reserved -= n
}

// RecordWrite charges a successful write. The resource at path now has size bytes, and oldSize
// is its recorded size before the write. The upload's reserved bytes are released. The
// database computes the exact change from its own record when the change is flushed.
func (l *Ledger) RecordWrite(podID, accountID, path string, size, oldSize, reserved int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	a := l.account(accountID)
	a.reserved -= max(reserved, 0)
	a.pending += size - oldSize
	l.estimates[accountID] += size - oldSize
	l.seq++
	l.overrides[resourceKey{podID, path}] = override{size: size, seq: l.seq}
	l.sizes = append(l.sizes, database.SizeChange{PodID: podID, AccountID: accountID, Path: path, SizeBytes: size})
}

// RecordDelete charges a successful delete. Every recorded resource whose path is in paths (the
// deleted resource and its auxiliary resources) or starts with prefix (below a deleted container)
// is removed. removed maps the resources recorded as going with it to their sizes.
func (l *Ledger) RecordDelete(podID, accountID string, paths []string, prefix string, removed map[string]int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var total int64
	l.seq++
	for p, size := range removed {
		total += size
		l.overrides[resourceKey{podID, p}] = override{size: 0, seq: l.seq}
	}
	a := l.account(accountID)
	a.pending -= total
	l.estimates[accountID] -= total
	l.sizes = append(l.sizes, database.SizeChange{PodID: podID, AccountID: accountID, Path: paths[0], Removed: true,
		Paths: paths, Prefix: prefix})
}

// ResourceSizes returns the recorded sizes of paths and, when prefix is set, of every resource
// below it. Sizes not yet flushed take precedence over the database's record. A path
// without a known size is absent.
func (l *Ledger) ResourceSizes(ctx context.Context, podID string, paths []string, prefix string) (
	map[string]int64, error) {
	ctx, cancel := context.WithTimeout(ctx, l.timeout)
	defer cancel()
	sizes, err := database.GetResourceSizes(ctx, l.pool, podID, paths, prefix)
	l.noteDatabaseResult(err)
	if err != nil {
		return nil, fmt.Errorf("read recorded sizes: %w", err)
	}

	l.mu.Lock()
	defer l.mu.Unlock()
	for _, p := range paths {
		if o, ok := l.overrides[resourceKey{podID, p}]; ok {
			sizes[p] = o.size
		}
	}
	if prefix != "" {
		for k, o := range l.overrides {
			if k.pod == podID && strings.HasPrefix(k.path, prefix) {
				sizes[k.path] = o.size
			}
		}
	}
	return sizes, nil
}

// KnownSize returns a size recorded in memory and not yet flushed, for use when the database
// cannot be read.
func (l *Ledger) KnownSize(podID, path string) (int64, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	o, ok := l.overrides[resourceKey{podID, path}]
	return o.size, ok
}
