package solidtest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// ResourceKind classifies a resource that counts towards a pod's storage.
type ResourceKind string

const (
	// Document is a non-container resource, such as a Turtle document or a binary file.
	Document ResourceKind = "document"
	// ACL is the .acl auxiliary resource of a resource, counted when CSS serves one (200).
	ACL ResourceKind = "acl"
	// Description is the .meta description resource of a resource. CSS 7.2 serves one for every
	// resource, generated from its metadata (type, dc:modified, posix:mtime, posix:size and, for a
	// container, ldp:contains), so its size changes whenever the described resource changes.
	Description ResourceKind = "description"
)

// Resource is one resource counted in a pod's storage.
type Resource struct {
	URL  string
	Kind ResourceKind
	// Size is the number of body bytes of a GET of the resource without an Accept header, which
	// is the representation as stored, without content negotiation.
	Size int64
}

// Storage lists the resources a pod holds, sorted by URL.
type Storage struct {
	Resources []Resource
}

// Total returns the size of every resource: documents, ACLs and descriptions.
func (s Storage) Total() int64 {
	var total int64
	for _, r := range s.Resources {
		total += r.Size
	}
	return total
}

// Sum returns the size of the resources of the given kinds.
func (s Storage) Sum(kinds ...ResourceKind) int64 {
	var total int64
	for _, r := range s.Resources {
		for _, kind := range kinds {
			if r.Kind == kind {
				total += r.Size
				break
			}
		}
	}
	return total
}

// Lookup returns the resource with the given URL.
func (s Storage) Lookup(resourceURL string) (Resource, bool) {
	for _, r := range s.Resources {
		if r.URL == resourceURL {
			return r, true
		}
	}
	return Resource{}, false
}

// String lists the resources, one a line, for test failure messages.
func (s Storage) String() string {
	var b strings.Builder
	for _, r := range s.Resources {
		fmt.Fprintf(&b, "%8d %-11s %s\n", r.Size, r.Kind, r.URL)
	}
	fmt.Fprintf(&b, "%8d total\n", s.Total())
	return b.String()
}

// Storage measures the pod. It reads straight from CSS, so a proxy in front of CSS receives none
// of these requests.
func (p Pod) Storage(t testing.TB) Storage {
	t.Helper()
	return p.server.Storage(t, p.BaseURL)
}

// Storage measures the pod whose root container is podURL. See MeasureStorage.
func (s *Server) Storage(t testing.TB, podURL string) Storage {
	t.Helper()
	storage, err := MeasureStorage(t.Context(), s.client, podURL)
	if err != nil {
		t.Fatalf("measure the storage of pod %s: %v", podURL, err)
	}
	return storage
}

// MeasureStorage walks a pod from its root container podURL along ldp:contains and GETs every
// non-container resource, plus the .acl and .meta auxiliary resources that CSS advertises in the
// Link header (rel="acl" and rel="describedby") of every resource, containers included. An
// auxiliary resource that returns 404 does not exist and is skipped.
//
// The result is a snapshot only when no write runs at the same time. client must be allowed to
// read every resource and ACL of the pod.
func MeasureStorage(ctx context.Context, client *http.Client, podURL string) (Storage, error) {
	if !strings.HasSuffix(podURL, "/") {
		return Storage{}, fmt.Errorf("pod URL %q is not a container URL: expected a trailing /", podURL)
	}
	var storage Storage
	seen := map[string]bool{podURL: true}
	queue := []string{podURL}
	for len(queue) > 0 {
		target := queue[0]
		queue = queue[1:]

		var links []link
		if strings.HasSuffix(target, "/") {
			children, containerLinks, err := listContainer(ctx, client, target)
			if err != nil {
				return Storage{}, err
			}
			for _, child := range children {
				if !seen[child] {
					seen[child] = true
					queue = append(queue, child)
				}
			}
			links = containerLinks
		} else {
			size, documentLinks, found, err := getSize(ctx, client, target)
			if err != nil {
				return Storage{}, err
			}
			if !found {
				return Storage{}, fmt.Errorf("GET %s returned 404 although its container lists it", target)
			}
			storage.Resources = append(storage.Resources, Resource{URL: target, Kind: Document, Size: size})
			links = documentLinks
		}

		for _, l := range links {
			kind, ok := auxiliaryKinds[l.rel]
			if !ok || seen[l.target] {
				continue
			}
			seen[l.target] = true
			size, _, found, err := getSize(ctx, client, l.target)
			if err != nil {
				return Storage{}, err
			}
			if found {
				storage.Resources = append(storage.Resources, Resource{URL: l.target, Kind: kind, Size: size})
			}
		}
	}
	sort.Slice(storage.Resources, func(i, j int) bool { return storage.Resources[i].URL < storage.Resources[j].URL })
	return storage, nil
}

var auxiliaryKinds = map[string]ResourceKind{
	"acl":         ACL,
	"describedby": Description,
}

// getSize GETs target and counts its body bytes. found is false on 404. A Content-Length that
// differs from the bytes received is an error.
func getSize(ctx context.Context, client *http.Client, target string) (size int64, links []link, found bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return 0, nil, false, fmt.Errorf("build GET %s: %w", target, err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, false, fmt.Errorf("GET %s failed: %w", target, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return 0, nil, false, nil
	}
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return 0, nil, false, fmt.Errorf("GET %s returned %s: %s", target, resp.Status, body)
	}
	size, err = io.Copy(io.Discard, resp.Body)
	if err != nil {
		return 0, nil, false, fmt.Errorf("read GET %s: %w", target, err)
	}
	if resp.ContentLength >= 0 && resp.ContentLength != size {
		return 0, nil, false, fmt.Errorf("GET %s sent %d body bytes but Content-Length %d", target, size, resp.ContentLength)
	}
	return size, parseLinks(resp.Header.Values("Link")), true, nil
}

// containsTriple matches an ldp:contains statement in N-Triples.
var containsTriple = regexp.MustCompile(`^<([^>]*)> <http://www\.w3\.org/ns/ldp#contains> <([^>]*)> \.$`)

// listContainer GETs a container as N-Triples and returns the URLs it contains and its Link
// header.
func listContainer(ctx context.Context, client *http.Client, container string) ([]string, []link, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, container, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("build GET %s: %w", container, err)
	}
	req.Header.Set("Accept", "application/n-triples")

	resp, err := client.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("GET %s failed: %w", container, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, nil, fmt.Errorf("read GET %s: %w", container, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, nil, fmt.Errorf("GET %s returned %s: %s", container, resp.Status, truncate(body, 512))
	}

	var children []string
	scanner := bufio.NewScanner(bytes.NewReader(body))
	scanner.Buffer(make([]byte, 64*1024), 16*1024*1024)
	for scanner.Scan() {
		match := containsTriple.FindStringSubmatch(strings.TrimSpace(scanner.Text()))
		if match != nil && match[1] == container {
			children = append(children, match[2])
		}
	}
	if err := scanner.Err(); err != nil {
		return nil, nil, fmt.Errorf("parse the N-Triples of %s: %w", container, err)
	}
	return children, parseLinks(resp.Header.Values("Link")), nil
}

type link struct {
	target string
	rel    string
}

// parseLinks parses Link header values such as `<http://x/a.acl>; rel="acl", <...>; rel="type"`
// (RFC 8288), keeping one entry per relation type.
func parseLinks(values []string) []link {
	var links []link
	for _, value := range values {
		rest := value
		for {
			start := strings.IndexByte(rest, '<')
			if start < 0 {
				break
			}
			end := strings.IndexByte(rest[start:], '>')
			if end < 0 {
				break
			}
			target := rest[start+1 : start+end]
			rest = rest[start+end+1:]
			params := rest
			if next := strings.IndexByte(rest, '<'); next >= 0 {
				params = rest[:next]
			}
			for _, rel := range relations(params) {
				links = append(links, link{target: target, rel: rel})
			}
		}
	}
	return links
}

// relations returns the relation types of the rel parameter in a Link header's parameter list.
func relations(params string) []string {
	for _, param := range strings.Split(params, ";") {
		name, value, ok := strings.Cut(strings.TrimSpace(param), "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(name), "rel") {
			continue
		}
		value = strings.TrimRight(strings.TrimSpace(value), ", ")
		if unquoted, err := strconv.Unquote(value); err == nil {
			value = unquoted
		}
		return strings.Fields(value)
	}
	return nil
}

func truncate(data []byte, n int) []byte {
	if len(data) > n {
		return data[:n]
	}
	return data
}
