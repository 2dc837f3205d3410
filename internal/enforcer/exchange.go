package enforcer

import (
	"context"
	"net/http"
	"time"

	"xpod.dev/quota-operator/internal/enforcer/limits"
	"xpod.dev/quota-operator/internal/enforcer/resolve"
	"xpod.dev/quota-operator/internal/enforcer/usage"
)

// exchange is the state of one request into a pod, shared by the handler, the body wrappers and
// the reverse proxy's hooks.
type exchange struct {
	srv      *Server
	in       *http.Request
	target   resolve.Target
	path     string
	account  *limits.Account
	counters *usage.PodCounters
	// write is set for writes that change the pod's storage.
	write *write
	// throttle is false when --enforce=false.
	throttle bool
}

type exchangeKey struct{}

func withExchange(ctx context.Context, ex *exchange) context.Context {
	return context.WithValue(ctx, exchangeKey{}, ex)
}

func exchangeFrom(ctx context.Context) *exchange {
	ex, _ := ctx.Value(exchangeKey{}).(*exchange)
	return ex
}

func (ex *exchange) addIngress(n int) {
	ex.counters.AddIngress(int64(n))
	ex.srv.metrics.ingressBytes.Add(float64(n))
}

func (ex *exchange) addEgress(n int) {
	ex.counters.AddEgress(int64(n))
	ex.srv.metrics.egressBytes.Add(float64(n))
}

func (ex *exchange) uploadWaited(d time.Duration) {
	ex.srv.metrics.uploadWait.Add(d.Seconds())
}

func (ex *exchange) downloadWaited(d time.Duration) {
	ex.srv.metrics.downloadWait.Add(d.Seconds())
}
