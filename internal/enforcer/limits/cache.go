package limits

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"xpod.dev/quota-operator/internal/database"
)

// loadRetryDelay is how long an account whose first load failed keeps the defaults before a
// request tries to load it again.
const loadRetryDelay = 2 * time.Second

// Cache holds the limits of the accounts that recently sent requests. Refresh reloads them all
// in one query, so a changed quota row takes effect within one refresh interval.
type Cache struct {
	db       database.Querier
	defaults Defaults
	// timeout bounds the first load of an account, which a request waits for.
	timeout time.Duration
	// idleAfter is how long an account stays cached without requests.
	idleAfter time.Duration
	log       *slog.Logger

	mu       sync.Mutex
	accounts map[string]*Account
}

// NewCache returns an empty cache.
func NewCache(db database.Querier, defaults Defaults, timeout time.Duration, log *slog.Logger) *Cache {
	return &Cache{db: db, defaults: defaults, timeout: timeout, idleAfter: 15 * time.Minute, log: log,
		accounts: map[string]*Account{}}
}

// Defaults returns the default limits.
func (c *Cache) Defaults() Defaults { return c.defaults }

// Get returns the cached account, reading its quota row first when it was never read. When the
// database cannot be read, the account keeps the default limits and Loaded reports false.
func (c *Cache) Get(ctx context.Context, id string) *Account {
	a := c.entry(id)
	a.lastUsed.Store(time.Now().UnixNano())
	if !a.Loaded() {
		c.load(ctx, a)
	}
	return a
}

func (c *Cache) entry(id string) *Account {
	c.mu.Lock()
	defer c.mu.Unlock()
	a, ok := c.accounts[id]
	if !ok {
		a = newAccount(id, c.defaults)
		c.accounts[id] = a
	}
	return a
}

func (c *Cache) load(ctx context.Context, a *Account) {
	a.loadMu.Lock()
	defer a.loadMu.Unlock()
	if a.Loaded() || time.Now().Before(a.retryAt) {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	q, err := database.GetQuota(ctx, c.db, a.ID)
	switch {
	case errors.Is(err, database.ErrNotFound):
		a.set(effective(nil, c.defaults))
	case err != nil:
		a.retryAt = time.Now().Add(loadRetryDelay)
		c.log.Warn("Reading account limits failed; the default limits apply until the next try",
			"account", a.ID, "error", err)
	default:
		a.set(effective(&q, c.defaults))
	}
}

// Refresh reloads the limits of every cached account and drops accounts idle for longer than
// the idle period.
func (c *Cache) Refresh(ctx context.Context) error {
	ids := c.activeIDs()
	if len(ids) == 0 {
		return nil
	}
	quotas, err := database.GetQuotas(ctx, c.db, ids)
	if err != nil {
		return err
	}
	for _, id := range ids {
		a := c.entry(id)
		var q *database.Quota
		if row, ok := quotas[id]; ok {
			q = &row
		}
		if l := effective(q, c.defaults); a.set(l) {
			c.log.Info("Account limits changed", "account", id, "storageLimitBytes", l.StorageBytes,
				"bandwidthLimitBps", l.BandwidthBps)
		}
	}
	return nil
}

func (c *Cache) activeIDs() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	cutoff := time.Now().Add(-c.idleAfter).UnixNano()
	ids := make([]string, 0, len(c.accounts))
	for id, a := range c.accounts {
		if a.lastUsed.Load() < cutoff {
			delete(c.accounts, id)
			continue
		}
		ids = append(ids, id)
	}
	return ids
}

// Run refreshes the cache every interval until ctx ends. A failed refresh keeps the cached
// limits and is logged once until a refresh succeeds again.
func (c *Cache) Run(ctx context.Context, interval time.Duration, onResult func(error)) {
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		refreshCtx, cancel := context.WithTimeout(ctx, max(interval, c.timeout))
		err := c.Refresh(refreshCtx)
		cancel()
		if onResult != nil {
			onResult(err)
		}
		switch {
		case err != nil && !failing:
			c.log.Warn("Refreshing account limits failed; the cached limits stay in force", "error", err)
		case err == nil && failing:
			c.log.Info("Refreshing account limits works again")
		}
		failing = err != nil
	}
}
