package controllers

import (
	"context"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	quotav1 "xpod.dev/quota-operator/api/v1alpha1"
)

// SetupWithManager registers the reconciler, its cache index and its watches. Requests sent on
// wake (by the resync) are reconciled like changes to the objects themselves.
func (r *AccountQuotaReconciler) SetupWithManager(mgr ctrl.Manager, wake <-chan event.TypedGenericEvent[*quotav1.AccountQuota]) error {
	return r.setupWithManager(mgr, wake, r)
}

// setupWithManager registers inner, which is r or a wrapper around it, as the controller.
func (r *AccountQuotaReconciler) setupWithManager(mgr ctrl.Manager, wake <-chan event.TypedGenericEvent[*quotav1.AccountQuota],
	inner reconcile.Reconciler) error {
	err := mgr.GetFieldIndexer().IndexField(context.Background(), &quotav1.AccountQuota{}, accountIDIndex, indexAccountID)
	if err != nil {
		return fmt.Errorf("index AccountQuotas by account id: %w", err)
	}
	b := ctrl.NewControllerManagedBy(mgr).
		Named("accountquota").
		For(&quotav1.AccountQuota{}).
		WithOptions(controller.Options{RateLimiter: newRateLimiter(), MaxConcurrentReconciles: r.MaxConcurrentReconciles}).
		// When an AccountQuota appears, goes away or changes its spec, the others that name the
		// same account may gain or lose ownership of the row.
		Watches(&quotav1.AccountQuota{}, handler.EnqueueRequestsFromMapFunc(r.peersOf),
			builder.WithPredicates(ownershipChange())).
		WatchesRawSource(source.Channel(wake, &handler.TypedEnqueueRequestForObject[*quotav1.AccountQuota]{}))
	return b.Complete(inner)
}

// newRateLimiter retries a failed request after 500ms, doubling up to two minutes, so a database
// outage is retried quickly at first without flooding the logs later.
func newRateLimiter() workqueue.TypedRateLimiter[reconcile.Request] {
	return workqueue.NewTypedItemExponentialFailureRateLimiter[reconcile.Request](500*time.Millisecond, 2*time.Minute)
}

// peersOf returns the other AccountQuotas that name the same account as obj.
func (r *AccountQuotaReconciler) peersOf(ctx context.Context, obj client.Object) []reconcile.Request {
	aq, ok := obj.(*quotav1.AccountQuota)
	if !ok {
		return nil
	}
	items, err := r.claimants(ctx, aq.Spec.AccountID)
	if err != nil {
		return nil
	}
	var requests []reconcile.Request
	for i := range items {
		if !sameObject(&items[i], aq) {
			requests = append(requests, reconcile.Request{NamespacedName: types.NamespacedName{
				Namespace: items[i].Namespace, Name: items[i].Name}})
		}
	}
	return requests
}

// ownershipChange passes creations, deletions, spec changes and the start of a deletion, but not
// status updates.
func ownershipChange() predicate.Predicate {
	return predicate.Funcs{
		UpdateFunc: func(e event.UpdateEvent) bool {
			if e.ObjectOld.GetGeneration() != e.ObjectNew.GetGeneration() {
				return true
			}
			return e.ObjectOld.GetDeletionTimestamp().IsZero() != e.ObjectNew.GetDeletionTimestamp().IsZero()
		},
	}
}
