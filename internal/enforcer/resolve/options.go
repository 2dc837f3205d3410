package resolve

import (
	"context"
	"time"

	"xpod.dev/quota-operator/internal/database"
)

// Options configures the resolvers. Each resolver reads only the fields it needs.
type Options struct {
	// Accounts maps pod names to account ids for the path and subdomain resolvers. A pod that it
	// does not list belongs to the account named like the pod, unless RejectUnmapped is set.
	Accounts map[string]string
	// RejectUnmapped makes a pod missing from a non-empty Accounts map resolve as UnknownPod.
	RejectUnmapped bool
	// ExcludedSegments are first path segments that are not pods in path mode, such as idp.
	// Segments that start with a dot (.well-known, .account, .oidc, .notifications) never are.
	ExcludedSegments []string
	// BaseDomain is the domain under which each pod has a subdomain, such as pods.example.com.
	BaseDomain string
	// LoadPods reads Xpod's pod table for the xpod resolver.
	LoadPods func(ctx context.Context) ([]database.XpodPod, error)
	// RefreshInterval is how often the xpod resolver reloads the pod table.
	RefreshInterval time.Duration
	// MissRefreshInterval is the minimum time between reloads that a request for an unknown
	// URL triggers, so new pods are found quickly without a reload per request.
	MissRefreshInterval time.Duration
}
