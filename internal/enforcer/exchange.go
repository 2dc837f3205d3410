package enforcer

import (
	"context"
	"time"

	"github.com/valyala/fasthttp"

	"xpod.dev/quota-operator/internal/enforcer/limits"
	"xpod.dev/quota-operator/internal/enforcer/resolve"
	"xpod.dev/quota-operator/internal/enforcer/usage"
)

// workContext is the context of a request's database, resolver and pod server calls and of its
// bandwidth waits. The server's request context ends as soon as shutdown starts, but requests in
// flight then are drained and must complete, so these calls rely on their own timeouts instead.
var workContext = context.Background()

// exchange is the state of one request into a pod, shared by the handler, the body wrappers and
// the upgrade path. Every step of one exchange runs on one goroutine at a time.
type exchange struct {
	srv *Server
	ctx *fasthttp.RequestCtx
	// host is the Host header as the client sent it.
	host     string
	method   string
	target   resolve.Target
	path     string
	account  *limits.Account
	counters *usage.PodCounters
	// write is set for writes that change the pod's storage.
	write *write
	// throttle is false when --enforce=false.
	throttle bool
	status   int
	finished bool
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

// finish ends the exchange once its response is complete: it releases the write's reservation
// and lock and the pod's counters, and counts the request. Later calls do nothing.
func (ex *exchange) finish() {
	if ex.finished {
		return
	}
	ex.finished = true
	if ex.write != nil {
		ex.write.end()
	}
	ex.counters.Release()
	ex.srv.countRequest(ex.method, ex.status, resolve.InPod)
}
