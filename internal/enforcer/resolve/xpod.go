package resolve

import (
	"context"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"xpod.dev/quota-operator/internal/database"
)

// xpodResolver maps a request to the pod whose baseUrl (from Xpod's identity_pod table) is the
// longest prefix of the request's host and path. The table is cached and reloaded in the
// background every RefreshInterval, and at most every MissRefreshInterval when a request matches
// no pod, so a pod created a moment ago is found.
type xpodResolver struct {
	load            func(ctx context.Context) ([]database.XpodPod, error)
	refreshInterval time.Duration
	missInterval    time.Duration
	group           singleflight.Group

	mu       sync.RWMutex
	byHost   map[string][]xpodEntry
	byID     map[string]xpodEntry
	loadedAt time.Time
	missAt   time.Time
}

type xpodEntry struct {
	target Target
	host   string
	root   string
}

func newXpodResolver(opts Options) *xpodResolver {
	r := &xpodResolver{load: opts.LoadPods, refreshInterval: opts.RefreshInterval, missInterval: opts.MissRefreshInterval}
	if r.refreshInterval <= 0 {
		r.refreshInterval = 30 * time.Second
	}
	if r.missInterval <= 0 {
		r.missInterval = time.Second
	}
	return r
}

func (r *xpodResolver) Resolve(ctx context.Context, host, path string) (Result, error) {
	if err := r.ensureFresh(ctx); err != nil {
		return Result{}, err
	}
	if e, ok := r.match(host, path); ok {
		return Result{Status: InPod, Target: e.target}, nil
	}
	if !r.claimMissRefresh() {
		return Result{Status: OutsidePods}, nil
	}
	if err := r.reload(ctx); err != nil {
		return Result{Status: OutsidePods}, nil // The cached table still applies.
	}
	if e, ok := r.match(host, path); ok {
		return Result{Status: InPod, Target: e.target}, nil
	}
	return Result{Status: OutsidePods}, nil
}

func (r *xpodResolver) Locate(ctx context.Context, podID string) (Location, error) {
	if err := r.reload(ctx); err != nil {
		return Location{}, err
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	e, ok := r.byID[podID]
	if !ok {
		return Location{}, fmt.Errorf("pod %q not found in identity_pod", podID)
	}
	return Location{Target: e.target, Host: e.host, Root: e.root}, nil
}

// ensureFresh loads the table on first use and reloads it in the background when it is stale.
func (r *xpodResolver) ensureFresh(ctx context.Context) error {
	r.mu.RLock()
	loadedAt := r.loadedAt
	r.mu.RUnlock()
	if loadedAt.IsZero() {
		return r.reload(ctx)
	}
	if time.Since(loadedAt) > r.refreshInterval {
		go func() { _ = r.reload(context.WithoutCancel(ctx)) }()
	}
	return nil
}

func (r *xpodResolver) claimMissRefresh() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if time.Since(r.missAt) < r.missInterval {
		return false
	}
	r.missAt = time.Now()
	return true
}

func (r *xpodResolver) reload(ctx context.Context) error {
	_, err, _ := r.group.Do("load", func() (any, error) {
		loadCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		pods, err := r.load(loadCtx)
		if err != nil {
			return nil, err
		}
		r.replace(pods)
		return nil, nil
	})
	return err
}

func (r *xpodResolver) replace(pods []database.XpodPod) {
	byHost := map[string][]xpodEntry{}
	byID := map[string]xpodEntry{}
	for _, p := range pods {
		e, ok := parseBaseURL(p)
		if !ok {
			continue
		}
		byHost[e.host] = append(byHost[e.host], e)
		byID[p.ID] = e
	}
	for _, entries := range byHost {
		sort.Slice(entries, func(i, j int) bool { return len(entries[i].root) > len(entries[j].root) })
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.byHost, r.byID, r.loadedAt = byHost, byID, time.Now()
}

// parseBaseURL turns a pod's baseUrl into a normalised host and a root path that ends in a slash.
func parseBaseURL(p database.XpodPod) (xpodEntry, bool) {
	u, err := url.Parse(p.BaseURL)
	if err != nil || u.Host == "" {
		return xpodEntry{}, false
	}
	root := u.Path
	if !strings.HasSuffix(root, "/") {
		root += "/"
	}
	account := p.AccountID
	if account == "" {
		account = p.ID
	}
	return xpodEntry{target: Target{PodID: p.ID, AccountID: account}, host: NormalizeHost(u.Host), root: root}, true
}

func (r *xpodResolver) match(host, path string) (xpodEntry, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, e := range r.byHost[host] {
		if strings.HasPrefix(path, e.root) || path+"/" == e.root {
			return e, true
		}
	}
	return xpodEntry{}, false
}
