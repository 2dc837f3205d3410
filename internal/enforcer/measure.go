package enforcer

import (
	"context"
	"net/http"

	"xpod.dev/quota-operator/internal/enforcer/recount"
)

// measureHeaders are the client's headers that the size measurement reuses. DPoP proofs are
// bound to one method and URL, so a DPoP-bound token cannot be reused; Config.MeasureHeader can
// supply a credential of its own for such servers.
var measureHeaders = []string{"Authorization", "Cookie", "X-Forwarded-Host", "X-Forwarded-Proto"}

// measure returns the size in bytes of the representation the pod server serves for path.
func (s *Server) measure(ex *exchange, path string) (int64, error) {
	header := http.Header{}
	for _, h := range measureHeaders {
		for _, v := range ex.ctx.Request.Header.PeekAll(h) {
			header.Add(h, string(v))
		}
	}
	for h, v := range s.cfg.MeasureHeader {
		header[h] = v
	}
	ctx, cancel := context.WithTimeout(workContext, s.cfg.StallTimeout)
	defer cancel()
	return recount.Size(ctx, s.transport, s.cfg.Upstream, ex.host, path, header)
}
