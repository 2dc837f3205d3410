package resolve

import (
	"context"
	"fmt"
	"strings"
)

// pathResolver takes the pod name from the first path segment, as Community Solid Server lays
// out pods by default: /alice/profile/card is in pod alice.
type pathResolver struct {
	accounts
	excluded map[string]bool
}

func newPathResolver(opts Options) *pathResolver {
	excluded := map[string]bool{}
	for _, s := range opts.ExcludedSegments {
		excluded[s] = true
	}
	return &pathResolver{accounts: newAccounts(opts), excluded: excluded}
}

// Resolve treats a path as inside a pod when it has a first segment followed by a slash. The
// server root, single-segment paths such as /favicon.ico, excluded segments and segments that
// start with a dot are outside every pod.
func (r *pathResolver) Resolve(_ context.Context, _, path string) (Result, error) {
	rest := strings.TrimPrefix(path, "/")
	name, _, found := strings.Cut(rest, "/")
	if !found || name == "" || strings.HasPrefix(name, ".") || r.excluded[name] {
		return Result{Status: OutsidePods}, nil
	}
	return r.forPod(name), nil
}

func (r *pathResolver) Locate(_ context.Context, podID string) (Location, error) {
	if podID == "" || strings.Contains(podID, "/") || strings.HasPrefix(podID, ".") {
		return Location{}, fmt.Errorf("invalid pod name %q", podID)
	}
	res := r.forPod(podID)
	if res.Status != InPod {
		return Location{}, fmt.Errorf("pod %q is not in the account map", podID)
	}
	return Location{Target: res.Target, Root: "/" + podID + "/"}, nil
}

// accounts maps pod names to accounts for the path and subdomain resolvers.
type accounts struct {
	byPod          map[string]string
	rejectUnmapped bool
}

func newAccounts(opts Options) accounts {
	return accounts{byPod: opts.Accounts, rejectUnmapped: opts.RejectUnmapped && len(opts.Accounts) > 0}
}

func (a accounts) forPod(name string) Result {
	if account, ok := a.byPod[name]; ok {
		return Result{Status: InPod, Target: Target{PodID: name, AccountID: account}}
	}
	if a.rejectUnmapped {
		return Result{Status: UnknownPod, PodName: name}
	}
	return Result{Status: InPod, Target: Target{PodID: name, AccountID: name}}
}
