package enforcer

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/valyala/fasthttp"

	"xpod.dev/quota-operator/api/v1alpha1"
	"xpod.dev/quota-operator/internal/enforcer/resolve"
	"xpod.dev/quota-operator/internal/enforcer/usage"
)

// beginWrite prepares the storage side of a write: it locks the resource, finds its current size
// and reserves the bytes the upload adds. It returns rejected when it already sent 413 or 503.
// Deletes are never rejected.
func (s *Server) beginWrite(ctx *fasthttp.RequestCtx, ex *exchange, kind writeKind) (*write, bool) {
	wr := &write{kind: kind, ex: ex, enforce: s.cfg.Enforce, limit: ex.account.Limits().StorageBytes}
	if kind == writePost {
		wr.unlock = s.locks.lockShared(ex.target.PodID, ex.path)
	} else {
		wr.unlock = s.locks.lock(ex.target.PodID, ex.path)
	}
	if kind == writeDelete {
		s.prepareDelete(wr)
		return wr, false
	}

	// The size lookup comes first, because a failing lookup is what marks the database
	// unavailable for the fail-closed check.
	loadErr := s.ledger.LoadAccount(workContext, ex.target.AccountID)
	if kind == writePut || kind == writePatch {
		wr.oldSize = s.knownSize(ex, ex.path)
	}
	if kind == writePut {
		wr.credit = wr.oldSize
	}
	if s.cfg.Enforce && s.cfg.FailClosed && (loadErr != nil || !s.ledger.Healthy()) {
		s.metrics.databaseRejection.Inc()
		writeMessage(&ctx.Response, http.StatusServiceUnavailable, "Service unavailable: the usage database "+
			"cannot be reached, so writes are rejected until it is back.")
		ctx.Response.Header.Set("Retry-After", "5")
		return wr, true
	}
	length := requestBodyLength(ctx)
	if length < 0 {
		wr.streaming = true
		return wr, false
	}
	if !s.cfg.Enforce {
		return wr, false
	}
	need := length - wr.credit
	view, ok := s.ledger.Reserve(ex.target.AccountID, need, wr.limit)
	if !ok {
		s.rejectOverQuota(&ctx.Response, ex, view, need, wr.limit, "content_length")
		return wr, true
	}
	wr.reserved = max(need, 0)
	return wr, false
}

// knownSize returns the recorded size of a resource, or 0 when none is recorded or the database
// cannot be read. 0 is the safe guess for a check, because it credits nothing.
func (s *Server) knownSize(ex *exchange, path string) int64 {
	sizes, err := s.ledger.ResourceSizes(workContext, ex.target.PodID, []string{path}, "")
	if err != nil {
		size, _ := s.ledger.KnownSize(ex.target.PodID, path)
		return size
	}
	return sizes[path]
}

// prepareDelete selects what a delete removes: a resource with its .acl and .meta auxiliary
// resources, or everything recorded below a container, as the pod server deletes them together.
func (s *Server) prepareDelete(wr *write) {
	ex := wr.ex
	if strings.HasSuffix(ex.path, "/") {
		wr.deletePaths, wr.deletePrefix = []string{ex.path}, ex.path
	} else {
		wr.deletePaths = []string{ex.path, ex.path + ".acl", ex.path + ".meta"}
	}
	sizes, err := s.ledger.ResourceSizes(workContext, ex.target.PodID, wr.deletePaths, wr.deletePrefix)
	if err != nil {
		sizes = map[string]int64{}
		for _, p := range wr.deletePaths {
			if size, ok := s.ledger.KnownSize(ex.target.PodID, p); ok {
				sizes[p] = size
			}
		}
	}
	wr.removed = sizes
}

// charge records the storage change of a write that the pod server accepted.
func (s *Server) charge(ex *exchange, resp *fasthttp.ResponseHeader) {
	wr := ex.write
	reserved, ok := wr.takeReservation()
	if !ok {
		return
	}
	t := ex.target
	switch wr.kind {
	case writeDelete:
		s.ledger.RecordDelete(t.PodID, t.AccountID, wr.deletePaths, wr.deletePrefix, wr.removed)
	case writePost:
		path, ok := s.createdPath(ex, resp)
		if !ok || strings.HasSuffix(path, "/") {
			s.ledger.Release(t.AccountID, reserved)
			return
		}
		size := s.sizeAfterWrite(ex, path, wr.bytesReceived())
		s.ledger.RecordWrite(t.PodID, t.AccountID, path, size, 0, reserved)
	default:
		fallback := wr.bytesReceived()
		if wr.kind == writePatch {
			fallback = wr.oldSize
		}
		size := s.sizeAfterWrite(ex, ex.path, fallback)
		s.ledger.RecordWrite(t.PodID, t.AccountID, ex.path, size, wr.oldSize, reserved)
	}
}

// createdPath returns the normalised path of the Location header of a POST response, when it
// names a resource in the same pod as the request.
func (s *Server) createdPath(ex *exchange, resp *fasthttp.ResponseHeader) (string, bool) {
	location := resp.Peek("Location")
	if len(location) == 0 {
		return "", false
	}
	// A relative Location is resolved against the request, as net/http's Response.Location does.
	base := &url.URL{Scheme: "http", Host: ex.host, Path: ex.path}
	loc, err := base.Parse(string(location))
	if err != nil {
		return "", false
	}
	path, err := resolve.NormalizePath(loc.EscapedPath(), loc.Path)
	if err != nil {
		return "", false
	}
	host := loc.Host
	if host == "" {
		host = ex.host
	}
	res, err := s.cfg.Resolver.Resolve(workContext, resolve.NormalizeHost(host), path)
	if err != nil || res.Status != resolve.InPod || res.Target.PodID != ex.target.PodID {
		s.log.Warn("POST created a resource outside the request's pod; not charged", "account", ex.target.AccountID,
			"pod", ex.target.PodID, "location", loc.String())
		return "", false
	}
	return path, true
}

// sizeAfterWrite measures a written resource on the pod server. When that fails, it logs the
// failure and returns fallback: the uploaded bytes for PUT and POST, the old size for PATCH.
func (s *Server) sizeAfterWrite(ex *exchange, path string, fallback int64) int64 {
	size, err := s.measure(ex, path)
	if err == nil {
		return size
	}
	s.metrics.measureFailures.Inc()
	s.log.Warn("Measuring a written resource failed; charging an estimate", "account", ex.target.AccountID,
		"pod", ex.target.PodID, "path", path, "estimateBytes", fallback, "error", err)
	return fallback
}

// rejectOverQuota sends 413 with the account's figures.
func (s *Server) rejectOverQuota(resp *fasthttp.Response, ex *exchange, view usage.StorageView, need, limit int64,
	check string) {
	s.metrics.quotaRejections.WithLabelValues(check).Inc()
	s.log.Info("Write rejected: storage quota exceeded", "account", ex.target.AccountID, "pod", ex.target.PodID,
		"path", ex.path, "usedBytes", view.UsedBytes, "reservedBytes", view.ReservedBytes, "requestBytes", need,
		"limitBytes", limit)
	msg := fmt.Sprintf("Storage quota exceeded for account %s: %d bytes used (%s), %d bytes reserved by uploads "+
		"in progress, this write needs %d more bytes, limit %d bytes (%s). Delete resources or ask for a "+
		"higher storage limit.\n", ex.target.AccountID, view.UsedBytes, v1alpha1.FormatBytes(view.UsedBytes),
		view.ReservedBytes, need, limit, v1alpha1.FormatBytes(limit))
	resp.Reset()
	resp.SetStatusCode(http.StatusRequestEntityTooLarge)
	resp.Header.SetContentType("text/plain; charset=utf-8")
	resp.SetConnectionClose()
	resp.SetBodyString(msg)
}
