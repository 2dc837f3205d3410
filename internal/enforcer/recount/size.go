// Package recount rebuilds the recorded storage of a pod from what the pod server holds, by
// walking its containers and measuring every resource.
package recount

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// ErrNotFound is returned by Size for a resource the pod server does not have.
var ErrNotFound = fmt.Errorf("resource not found")

// Size returns the size in bytes of the representation the pod server serves for path: the
// Content-Length of a HEAD response, or the length of a GET body when HEAD sends none. host is
// the Host header to send; header holds credentials to send.
func Size(ctx context.Context, rt http.RoundTripper, upstream *url.URL, host, path string, header http.Header) (
	int64, error) {
	size, known, err := fetchSize(ctx, rt, http.MethodHead, upstream, host, path, header)
	if err != nil || known {
		return size, err
	}
	size, _, err = fetchSize(ctx, rt, http.MethodGet, upstream, host, path, header)
	return size, err
}

func fetchSize(ctx context.Context, rt http.RoundTripper, method string, upstream *url.URL, host, path string,
	header http.Header) (int64, bool, error) {
	target := url.URL{Scheme: upstream.Scheme, Host: upstream.Host, Path: path}
	req, err := http.NewRequestWithContext(ctx, method, target.String(), nil)
	if err != nil {
		return 0, false, err
	}
	if host != "" {
		req.Host = host
	}
	for h, v := range header {
		req.Header[h] = v
	}
	resp, err := rt.RoundTrip(req)
	if err != nil {
		return 0, false, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer func() { _ = resp.Body.Close() }()
	switch {
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone:
		return 0, false, fmt.Errorf("%s %s: %w", method, path, ErrNotFound)
	case resp.StatusCode != http.StatusOK:
		return 0, false, fmt.Errorf("%s %s: pod server responded with %s", method, path, resp.Status)
	case method == http.MethodHead:
		return resp.ContentLength, resp.ContentLength >= 0, nil
	}
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil {
		return 0, false, fmt.Errorf("%s %s: read body: %w", method, path, err)
	}
	return n, true, nil
}
