package controllers

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/log"

	quotav1 "xpod.dev/quota-operator/api/v1alpha1"
	"xpod.dev/quota-operator/internal/database"
)

// finalize applies the deletion policy to the row and then releases the AccountQuota. The
// finalizer stays until the row delete has succeeded. An AccountQuota that does not own the
// account leaves the row alone.
func (r *AccountQuotaReconciler) finalize(ctx context.Context, aq *quotav1.AccountQuota) error {
	if !controllerutil.ContainsFinalizer(aq, quotav1.Finalizer) {
		return nil
	}
	owner, err := r.owner(ctx, aq)
	if err != nil {
		return err
	}
	if sameObject(owner, aq) && aq.EffectiveDeletionPolicy() == quotav1.DeletionPolicyDelete {
		if err := r.deleteRow(ctx, aq); err != nil {
			return err
		}
	}
	forgetMetrics(aq)
	return r.removeFinalizer(ctx, aq)
}

func (r *AccountQuotaReconciler) deleteRow(ctx context.Context, aq *quotav1.AccountQuota) error {
	removed, err := database.DeleteQuota(ctx, r.DB, aq.Spec.AccountID)
	if err != nil {
		return r.reportDatabaseError(ctx, aq, "Delete", err)
	}
	if removed {
		r.event(aq, corev1.EventTypeNormal, "Deleted", "Delete",
			"Deleted the quota row of account %s; the defaults apply again", aq.Spec.AccountID)
	}
	log.FromContext(ctx).Info("Deleted quota row", "rowExisted", removed)
	return nil
}

func (r *AccountQuotaReconciler) removeFinalizer(ctx context.Context, aq *quotav1.AccountQuota) error {
	patch := client.MergeFrom(aq.DeepCopy())
	controllerutil.RemoveFinalizer(aq, quotav1.Finalizer)
	if err := r.Patch(ctx, aq, patch); err != nil {
		return client.IgnoreNotFound(fmt.Errorf("remove finalizer: %w", err))
	}
	return nil
}
