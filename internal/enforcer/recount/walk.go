package recount

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"

	"xpod.dev/quota-operator/internal/database"
	"xpod.dev/quota-operator/internal/enforcer/resolve"
)

// Suffixes of the auxiliary resources Community Solid Server keeps beside a resource or inside a
// container (its ACL and its description), which container listings leave out.
const (
	aclSuffix         = ".acl"
	descriptionSuffix = ".meta"
)

// maxListingBytes bounds a container listing that the walk reads.
const maxListingBytes = 64 << 20

// Walker measures every resource of one pod on the pod server.
type Walker struct {
	Transport http.RoundTripper
	Upstream  *url.URL
	Location  resolve.Location
	// Header holds credentials of an identity that may read the whole pod.
	Header http.Header
	// CountDescriptions makes the walk count .meta description resources. Community Solid
	// Server serves a generated description for every resource, which no client wrote and the
	// enforcer never charges, so it is off for such servers.
	CountDescriptions bool
}

// Sizes walks the pod's containers from its root and returns the size of every non-container
// resource, auxiliary resources included, by decoded path.
func (w *Walker) Sizes(ctx context.Context) (map[string]int64, error) {
	sizes := map[string]int64{}
	queue := []string{w.Location.Root}
	seen := map[string]bool{w.Location.Root: true}
	for len(queue) > 0 {
		container := queue[0]
		queue = queue[1:]
		children, err := w.list(ctx, container)
		if err != nil {
			return nil, err
		}
		if err := w.measureAuxiliaries(ctx, container, sizes); err != nil {
			return nil, err
		}
		for _, child := range children {
			if seen[child] {
				continue
			}
			seen[child] = true
			if strings.HasSuffix(child, "/") {
				queue = append(queue, child)
				continue
			}
			if err := w.measureResource(ctx, child, sizes); err != nil {
				return nil, err
			}
		}
	}
	return sizes, nil
}

func (w *Walker) measureResource(ctx context.Context, path string, sizes map[string]int64) error {
	size, err := Size(ctx, w.Transport, w.Upstream, w.Location.Host, path, w.Header)
	if errors.Is(err, ErrNotFound) {
		return nil // Deleted while the walk ran.
	}
	if err != nil {
		return err
	}
	sizes[path] = size
	return w.measureAuxiliaries(ctx, path, sizes)
}

func (w *Walker) measureAuxiliaries(ctx context.Context, path string, sizes map[string]int64) error {
	suffixes := []string{aclSuffix}
	if w.CountDescriptions {
		suffixes = append(suffixes, descriptionSuffix)
	}
	for _, suffix := range suffixes {
		aux := path + suffix
		size, err := Size(ctx, w.Transport, w.Upstream, w.Location.Host, aux, w.Header)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		sizes[aux] = size
	}
	return nil
}

// list returns the paths a container contains, keeping only those inside the pod.
func (w *Walker) list(ctx context.Context, container string) ([]string, error) {
	target := url.URL{Scheme: w.Upstream.Scheme, Host: w.Upstream.Host, Path: container}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target.String(), nil)
	if err != nil {
		return nil, err
	}
	if w.Location.Host != "" {
		req.Host = w.Location.Host
	}
	for h, v := range w.Header {
		req.Header[h] = v
	}
	req.Header.Set("Accept", "text/turtle")

	resp, err := w.Transport.RoundTrip(req)
	if err != nil {
		return nil, fmt.Errorf("list container %s: %w", container, err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("list container %s: pod server responded with %s", container, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxListingBytes))
	if err != nil {
		return nil, fmt.Errorf("list container %s: %w", container, err)
	}

	base := &url.URL{Scheme: "http", Host: "pod.invalid", Path: container}
	if w.Location.Host != "" {
		base.Host = w.Location.Host
	}
	iris, err := containedIRIs(string(body), base)
	if err != nil {
		return nil, fmt.Errorf("parse listing of container %s: %w", container, err)
	}
	var paths []string
	for _, iri := range iris {
		u, err := url.Parse(iri)
		if err != nil || !strings.HasPrefix(u.Path, w.Location.Root) || u.Path == container {
			continue
		}
		paths = append(paths, u.Path)
	}
	return paths, nil
}

// Run walks the pod and replaces its recorded sizes and storage with what the walk found.
// Writes that run through an enforcer at the same time can leave a small difference, so run it
// while the pod is quiet.
func Run(ctx context.Context, pool *pgxpool.Pool, w *Walker) (database.RecountResult, error) {
	sizes, err := w.Sizes(ctx)
	if err != nil {
		return database.RecountResult{}, fmt.Errorf("walk pod %q: %w", w.Location.PodID, err)
	}
	return database.ReplacePodSizes(ctx, pool, w.Location.PodID, w.Location.AccountID, sizes)
}
