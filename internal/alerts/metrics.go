package alerts

import (
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

var (
	crossings = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "xpod_quota_alert_crossings_total",
		Help: "Upward threshold crossings recorded.",
	}, []string{"resource"})
	deliveries = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "xpod_quota_alert_deliveries_total",
		Help: "Webhook delivery attempts by result: delivered, failed (will retry) or abandoned.",
	}, []string{"result"})
)

func init() {
	metrics.Registry.MustRegister(crossings, deliveries)
}
