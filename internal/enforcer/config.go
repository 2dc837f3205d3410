// Package enforcer is the data plane of the quota operator. It is a streaming reverse proxy in
// front of a Solid pod server. It meters transfer per pod and account, throttles bandwidth per
// account and rejects writes that would exceed an account's storage limit.
package enforcer

import (
	"net/http"
	"net/url"
	"time"

	"xpod.dev/quota-operator/internal/enforcer/limits"
	"xpod.dev/quota-operator/internal/enforcer/resolve"
)

// Config is the enforcer's behaviour. Zero durations take the defaults of withDefaults.
type Config struct {
	// Upstream is the pod server's base URL, scheme and host only, such as http://css:3000.
	Upstream *url.URL
	Resolver resolve.Resolver
	Defaults limits.Defaults
	// EnforcerID names this process in quota_flush_log.
	EnforcerID string

	// FlushInterval is how often usage is written to the database.
	FlushInterval time.Duration
	// MaxFlushBackoff is the longest wait between retries of a failing flush.
	MaxFlushBackoff time.Duration
	// LimitsRefreshInterval is how often cached limits are reloaded.
	LimitsRefreshInterval time.Duration
	// DatabaseTimeout bounds each database call that a request waits for.
	DatabaseTimeout time.Duration
	// StallTimeout is how long a body read from or a write to a client may make no progress
	// before the connection is closed. Time spent waiting for bandwidth tokens does not count.
	StallTimeout time.Duration
	// UpstreamIdleTimeout is how long an idle connection to the pod server is kept for reuse. It
	// must be below the pod server's keep-alive timeout, or a request may be sent on a connection
	// that the pod server is closing, and a request with a body cannot be retried.
	UpstreamIdleTimeout time.Duration

	// Enforce turns on storage rejections and bandwidth throttling. When false, the enforcer
	// only meters.
	Enforce bool
	// FailClosed rejects writes into pods with 503 while the database is unavailable, instead of
	// checking them against the cached figures.
	FailClosed bool
	// RejectWritesOutsidePods rejects PUT, PATCH and DELETE requests that target no pod with 403.
	// POST stays allowed because account and login pages post forms outside pods.
	RejectWritesOutsidePods bool
	// TrustForwardedHeaders keeps the X-Forwarded-For chain, X-Forwarded-Host and
	// X-Forwarded-Proto that the client sent, for an enforcer behind a trusted ingress.
	TrustForwardedHeaders bool
	// MeasureHeader is added to the requests that measure a resource's size after a write, such
	// as an Authorization header of an identity that may read every pod.
	MeasureHeader http.Header
}

func (c Config) withDefaults() Config {
	if c.FlushInterval <= 0 {
		c.FlushInterval = time.Second
	}
	if c.MaxFlushBackoff <= 0 {
		c.MaxFlushBackoff = 30 * time.Second
	}
	if c.LimitsRefreshInterval <= 0 {
		c.LimitsRefreshInterval = time.Second
	}
	if c.DatabaseTimeout <= 0 {
		c.DatabaseTimeout = time.Second
	}
	if c.StallTimeout <= 0 {
		c.StallTimeout = 60 * time.Second
	}
	if c.UpstreamIdleTimeout <= 0 {
		c.UpstreamIdleTimeout = 4 * time.Second
	}
	if c.EnforcerID == "" {
		c.EnforcerID = "enforcer"
	}
	return c
}
