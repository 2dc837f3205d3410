// Package resolve maps a request's host and path to the pod and the account it belongs to.
package resolve

import (
	"context"
	"fmt"
)

// Status classifies a request by where it points.
type Status int

const (
	// InPod means the request targets a resource of a known pod.
	InPod Status = iota
	// OutsidePods means the request targets no pod: the server root, account pages, .well-known
	// and other server paths.
	OutsidePods
	// UnknownPod means the request names a pod that the account map does not list.
	UnknownPod
)

// String returns the status as a metric label value.
func (s Status) String() string {
	switch s {
	case InPod:
		return "in_pod"
	case OutsidePods:
		return "outside_pods"
	default:
		return "unknown_pod"
	}
}

// Target is the pod and account of a request.
type Target struct {
	PodID     string
	AccountID string
}

// Result is the outcome of resolving one request.
type Result struct {
	Status Status
	Target Target
	// PodName is the pod name taken from the URL when Status is UnknownPod.
	PodName string
}

// Location is the place of a pod's resources on the pod server.
type Location struct {
	Target
	// Host is the Host header to send, or empty for the upstream's own host.
	Host string
	// Root is the path of the pod's root container, ending in a slash.
	Root string
}

// Resolver finds the pod of a request. Host must be normalised with NormalizeHost and path
// with NormalizePath.
type Resolver interface {
	Resolve(ctx context.Context, host, path string) (Result, error)
	// Locate returns where the resources of a pod live, for a recount.
	Locate(ctx context.Context, podID string) (Location, error)
}

// New returns the resolver for a mode: path, subdomain or xpod.
func New(mode string, opts Options) (Resolver, error) {
	switch mode {
	case "path":
		return newPathResolver(opts), nil
	case "subdomain":
		if opts.BaseDomain == "" {
			return nil, fmt.Errorf("the subdomain resolver needs a base domain: set --base-domain, such as pods.example.com")
		}
		return newSubdomainResolver(opts), nil
	case "xpod":
		if opts.LoadPods == nil {
			return nil, fmt.Errorf("the xpod resolver needs a database connection")
		}
		return newXpodResolver(opts), nil
	default:
		return nil, fmt.Errorf("invalid pod resolver %q: use path, subdomain or xpod", mode)
	}
}
