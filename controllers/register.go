package controllers

import (
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/event"

	quotav1 "xpod.dev/quota-operator/api/v1alpha1"
)

// Setup adds the AccountQuota reconciler and the drift resync to mgr.
func Setup(mgr ctrl.Manager, pool *pgxpool.Pool, defaults Defaults, resyncPeriod time.Duration) error {
	wake := make(chan event.TypedGenericEvent[*quotav1.AccountQuota])
	reconciler := &AccountQuotaReconciler{
		Client:   mgr.GetClient(),
		DB:       pool,
		Recorder: mgr.GetEventRecorder("accountquota-controller"),
		Defaults: defaults,
	}
	if err := reconciler.SetupWithManager(mgr, wake); err != nil {
		return fmt.Errorf("set up AccountQuota controller: %w", err)
	}
	resync := &Resync{Client: mgr.GetClient(), DB: pool, Period: resyncPeriod, Wake: wake}
	if err := mgr.Add(resync); err != nil {
		return fmt.Errorf("add resync: %w", err)
	}
	return nil
}
