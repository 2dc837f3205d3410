package controllers

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	quotav1 "xpod.dev/quota-operator/api/v1alpha1"
	"xpod.dev/quota-operator/internal/database"
)

// setSynced records that the row matches the spec.
func (r *AccountQuotaReconciler) setSynced(ctx context.Context, aq *quotav1.AccountQuota, row database.Quota) error {
	return r.patchStatus(ctx, aq, func(status *quotav1.AccountQuotaStatus) {
		status.Limits = r.Defaults.effectiveLimits(row)
		// Before the first usage pass, zeros would be a guess; the figures follow when the pass
		// wakes every AccountQuota.
		if r.Usage.Loaded() {
			figures, _ := r.Usage.Get(aq.Spec.AccountID)
			applyUsage(status, aq, figures)
			r.exportMetrics(aq, status)
		}
		setReady(status, aq.Generation, metav1.ConditionTrue, quotav1.ReasonSynced,
			fmt.Sprintf("The quota row of account %s matches the spec", aq.Spec.AccountID))
	})
}

// setNotReady records why the row could not be brought in line. The limits shown before stay,
// because they are still the last ones applied.
func (r *AccountQuotaReconciler) setNotReady(ctx context.Context, aq *quotav1.AccountQuota, reason, message string) error {
	return r.patchStatus(ctx, aq, func(status *quotav1.AccountQuotaStatus) {
		if reason == quotav1.ReasonConflict {
			status.Limits, status.Usage, status.Summary = nil, nil, ""
			meta.RemoveStatusCondition(&status.Conditions, ConditionStorageExceeded)
			meta.RemoveStatusCondition(&status.Conditions, ConditionNearLimit)
		}
		setReady(status, aq.Generation, metav1.ConditionFalse, reason, message)
	})
}

func setReady(status *quotav1.AccountQuotaStatus, generation int64, value metav1.ConditionStatus, reason, message string) {
	status.ObservedGeneration = generation
	meta.SetStatusCondition(&status.Conditions, metav1.Condition{
		Type:               quotav1.ConditionReady,
		Status:             value,
		Reason:             reason,
		Message:            message,
		ObservedGeneration: generation,
	})
}

// patchStatus applies change to a copy of the status and writes it only when it differs from
// what was read, so an idle AccountQuota is never rewritten.
func (r *AccountQuotaReconciler) patchStatus(ctx context.Context, aq *quotav1.AccountQuota,
	change func(*quotav1.AccountQuotaStatus)) error {
	original := aq.DeepCopy()
	change(&aq.Status)
	if equality.Semantic.DeepEqual(original.Status, aq.Status) {
		return nil
	}
	if err := r.Status().Patch(ctx, aq, client.MergeFrom(original)); err != nil {
		return fmt.Errorf("update status: %w", err)
	}
	return nil
}

// isSynced reports whether the controller has applied this AccountQuota to the row before.
func isSynced(aq *quotav1.AccountQuota) bool {
	ready := meta.FindStatusCondition(aq.Status.Conditions, quotav1.ConditionReady)
	return ready != nil && ready.Reason == quotav1.ReasonSynced
}

func hasCondition(aq *quotav1.AccountQuota, reason, message string) bool {
	ready := meta.FindStatusCondition(aq.Status.Conditions, quotav1.ConditionReady)
	return ready != nil && ready.Reason == reason && ready.Message == message
}

// exportMetrics publishes the usage and limit gauges of an owning AccountQuota.
func (r *AccountQuotaReconciler) exportMetrics(aq *quotav1.AccountQuota, status *quotav1.AccountQuotaStatus) {
	accountGauges.set(accountFigures{
		account: aq.Spec.AccountID, namespace: aq.Namespace, name: aq.Name,
		storageUsed:    float64(status.Usage.StorageBytes),
		storageLimit:   float64(status.Limits.StorageBytes),
		bandwidthLimit: float64(status.Limits.BandwidthBytesPerSecond),
		ingress:        float64(status.Usage.IngressBytes),
		egress:         float64(status.Usage.EgressBytes),
	})
}

// forgetMetrics removes the gauges of an AccountQuota that is gone or no longer owns its account.
func forgetMetrics(aq *quotav1.AccountQuota) {
	accountGauges.remove(aq.Namespace, aq.Name)
}
