package resolve

import (
	"context"
	"fmt"
	"strings"
)

// subdomainResolver takes the pod name from the first host label under a base domain:
// alice.pods.example.com/profile/card is in pod alice.
type subdomainResolver struct {
	accounts
	suffix string
}

func newSubdomainResolver(opts Options) *subdomainResolver {
	base := strings.TrimSuffix(strings.ToLower(opts.BaseDomain), ".")
	return &subdomainResolver{accounts: newAccounts(opts), suffix: "." + base}
}

// Resolve treats the base domain itself, deeper subdomains and other hosts as outside every pod.
func (r *subdomainResolver) Resolve(_ context.Context, host, _ string) (Result, error) {
	name, found := strings.CutSuffix(hostWithoutPort(host), r.suffix)
	if !found || name == "" || strings.Contains(name, ".") {
		return Result{Status: OutsidePods}, nil
	}
	return r.forPod(name), nil
}

func (r *subdomainResolver) Locate(_ context.Context, podID string) (Location, error) {
	if podID == "" || strings.ContainsAny(podID, "./:") {
		return Location{}, fmt.Errorf("invalid pod name %q", podID)
	}
	res := r.forPod(podID)
	if res.Status != InPod {
		return Location{}, fmt.Errorf("pod %q is not in the account map", podID)
	}
	return Location{Target: res.Target, Host: podID + r.suffix, Root: "/"}, nil
}
