package enforcer

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// measureHeaders are the client's credentials that the size measurement reuses. DPoP proofs are
// bound to one method and URL, so a DPoP-bound token cannot be reused; Config.MeasureHeader can
// supply a credential of its own for such servers.
var measureHeaders = []string{"Authorization", "Cookie", "X-Forwarded-Host", "X-Forwarded-Proto"}

// measure returns the size in bytes of the representation the pod server serves for path: the
// Content-Length of a HEAD response, or the length of a GET body when HEAD sends none.
func (s *Server) measure(ctx context.Context, in *http.Request, path string) (int64, error) {
	size, known, err := s.fetchSize(ctx, in, http.MethodHead, path)
	if err != nil || known {
		return size, err
	}
	size, _, err = s.fetchSize(ctx, in, http.MethodGet, path)
	return size, err
}

func (s *Server) fetchSize(ctx context.Context, in *http.Request, method, path string) (int64, bool, error) {
	target := url.URL{Scheme: s.cfg.Upstream.Scheme, Host: s.cfg.Upstream.Host, Path: path}
	req, err := http.NewRequestWithContext(ctx, method, target.String(), nil)
	if err != nil {
		return 0, false, err
	}
	req.Host = in.Host
	for _, h := range measureHeaders {
		if v := in.Header.Values(h); len(v) > 0 {
			req.Header[h] = v
		}
	}
	for h, v := range s.cfg.MeasureHeader {
		req.Header[h] = v
	}
	resp, err := s.transport.RoundTrip(req)
	if err != nil {
		return 0, false, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return 0, false, fmt.Errorf("%s %s: pod server answered %s", method, path, resp.Status)
	}
	if method == http.MethodHead {
		return resp.ContentLength, resp.ContentLength >= 0, nil
	}
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil {
		return 0, false, fmt.Errorf("%s %s: read body: %w", method, path, err)
	}
	return n, true, nil
}
