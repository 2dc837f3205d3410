package adminapi

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

var (
	metricRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "quota_admin_api_requests_total",
		Help: "Requests to the Quota Admin API by route, method and HTTP status code.",
	}, []string{"route", "method", "code"})

	metricDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "quota_admin_api_request_duration_seconds",
		Help:    "Time taken to answer Quota Admin API requests, by route and method.",
		Buckets: prometheus.DefBuckets,
	}, []string{"route", "method"})

	metricTokenConfigured = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "quota_admin_api_token_configured",
		Help: "1 when the admin token file holds a token, 0 when the API rejects every request for lack of one.",
	})
)

func init() {
	metrics.Registry.MustRegister(metricRequests, metricDuration, metricTokenConfigured)
}

// Route labels. Account ids never become label values, so the number of series stays fixed.
const (
	routeList    = "/api/quota"
	routeAccount = "/api/quota/{accountId}"
	routeOpenAPI = "/api/openapi.json"
	routeOther   = "other"
)

// methodLabel keeps the method label to a fixed set.
func methodLabel(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete, http.MethodPost, http.MethodPatch,
		http.MethodOptions:
		return method
	default:
		return "other"
	}
}

// statusRecorder remembers the status code a handler sent.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
	r.ResponseWriter.WriteHeader(status)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// instrument counts every request by route, method and status and observes its duration.
func instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		recorder := &statusRecorder{ResponseWriter: w}
		defer func() {
			status := recorder.status
			if status == 0 {
				status = http.StatusOK
			}
			route, method := routeOf(r.URL.EscapedPath()), methodLabel(r.Method)
			metricRequests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
			metricDuration.WithLabelValues(route, method).Observe(time.Since(start).Seconds())
		}()
		next.ServeHTTP(recorder, r)
	})
}
