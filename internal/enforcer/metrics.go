package enforcer

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics are the enforcer's Prometheus metrics. Accounts and pods are not labels, because their
// number is unbounded; per-account figures are in the usage tables.
type metrics struct {
	registry          *prometheus.Registry
	requests          *prometheus.CounterVec
	bodyBytes         *prometheus.CounterVec
	throttledSeconds  *prometheus.CounterVec
	quotaRejections   *prometheus.CounterVec
	unresolved        *prometheus.CounterVec
	invalidRequests   *prometheus.CounterVec
	databaseRejection prometheus.Counter
	measureFailures   prometheus.Counter
	flushDuration     prometheus.Histogram
	flushErrors       prometheus.Counter

	// Children of the vectors above that every metered write updates, looked up once.
	ingressBytes, egressBytes prometheus.Counter
	uploadWait, downloadWait  prometheus.Counter
}

func newMetrics() *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "enforcer_requests_total",
			Help: "Requests handled, by method, status code and scope (in_pod, outside_pods, unknown_pod).",
		}, []string{"method", "code", "scope"}),
		bodyBytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "enforcer_body_bytes_total",
			Help: "Body bytes read from clients (ingress) and written to clients (egress), WebSocket frames included.",
		}, []string{"direction"}),
		throttledSeconds: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "enforcer_throttled_seconds_total",
			Help: "Time transfers waited for bandwidth tokens, by direction (upload, download).",
		}, []string{"direction"}),
		quotaRejections: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "enforcer_storage_quota_rejections_total",
			Help: "Writes answered 413 because of the storage limit, by check (content_length, stream).",
		}, []string{"check"}),
		unresolved: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "enforcer_unresolved_requests_total",
			Help: "Requests that matched no known pod, by reason (outside_pods, unknown_pod) and action (passed, rejected).",
		}, []string{"reason", "action"}),
		invalidRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "enforcer_invalid_requests_total",
			Help: "Requests rejected with 400 before forwarding, by reason.",
		}, []string{"reason"}),
		databaseRejection: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "enforcer_database_unavailable_rejections_total",
			Help: "Writes rejected with 503 because the database was unavailable and fail-closed is set.",
		}),
		measureFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "enforcer_size_measurement_failures_total",
			Help: "Successful writes whose resource size could not be read back from the pod server.",
		}),
		flushDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "enforcer_flush_duration_seconds",
			Help:    "Duration of usage flushes to the database, failed ones included.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
		}),
		flushErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "enforcer_flush_errors_total",
			Help: "Usage flushes that failed and were kept for a retry.",
		}),
	}
	m.registry.MustRegister(m.requests, m.bodyBytes, m.throttledSeconds, m.quotaRejections, m.unresolved,
		m.invalidRequests, m.databaseRejection, m.measureFailures, m.flushDuration, m.flushErrors,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.ingressBytes, m.egressBytes = m.bodyBytes.WithLabelValues("ingress"), m.bodyBytes.WithLabelValues("egress")
	m.uploadWait = m.throttledSeconds.WithLabelValues("upload")
	m.downloadWait = m.throttledSeconds.WithLabelValues("download")
	return m
}

// registerPending adds gauges that read the ledger's pending usage when scraped.
func (m *metrics) registerPending(pending func() (int, int64), available func() bool) {
	m.registry.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "enforcer_pending_usage_records",
			Help: "Usage records (pod transfer deltas and resource size changes) not yet written to the database.",
		}, func() float64 { n, _ := pending(); return float64(n) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "enforcer_pending_transfer_bytes",
			Help: "Ingress and egress bytes not yet written to the database.",
		}, func() float64 { _, b := pending(); return float64(b) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "enforcer_database_available",
			Help: "1 when the last database call succeeded, 0 otherwise.",
		}, func() float64 {
			if available() {
				return 1
			}
			return 0
		}),
	)
}
