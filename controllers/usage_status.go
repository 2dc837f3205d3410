package controllers

import (
	"fmt"
	"sort"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	quotav1 "xpod.dev/quota-operator/api/v1alpha1"
	"xpod.dev/quota-operator/internal/alerts"
)

// Condition types and reasons for storage thresholds.
const (
	ConditionStorageExceeded = "StorageExceeded"
	ConditionNearLimit       = "NearLimit"

	reasonOverLimit      = "OverLimit"
	reasonWithinLimit    = "WithinLimit"
	reasonBelowThreshold = "BelowThresholds"
)

// DefaultAlertThresholds are the storage percentages that alert when spec.alertThresholds is unset.
var DefaultAlertThresholds = []int32{80, 90, 100}

// alertThresholds returns the AccountQuota's thresholds in ascending order.
func alertThresholds(aq *quotav1.AccountQuota) []int32 {
	if len(aq.Spec.AlertThresholds) == 0 {
		return DefaultAlertThresholds
	}
	sorted := append([]int32(nil), aq.Spec.AlertThresholds...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
	return sorted
}

// applyUsage fills in the usage, the summary and the threshold conditions from the account's
// figures and its effective limits.
func applyUsage(status *quotav1.AccountQuotaStatus, aq *quotav1.AccountQuota, f AccountFigures) {
	limit := status.Limits.StorageBytes
	percent := alerts.Percent(f.StorageBytes, limit)
	status.Usage = &quotav1.UsageStatus{
		StorageBytes:          f.StorageBytes,
		Storage:               shortQuantity(f.StorageBytes),
		StoragePercent:        percent,
		IngressBytes:          f.IngressBytes,
		EgressBytes:           f.EgressBytes,
		IngressBytesPerSecond: f.IngressBytesPerSecond,
		IngressRate:           shortQuantity(f.IngressBytesPerSecond),
		EgressBytesPerSecond:  f.EgressBytesPerSecond,
		EgressRate:            shortQuantity(f.EgressBytesPerSecond),
		Pods:                  podUsages(f),
		PodCount:              int32(f.PodCount),
	}
	if !f.UpdatedAt.IsZero() {
		at := metav1.NewTime(f.UpdatedAt)
		status.Usage.UpdatedAt = &at
	}
	status.Summary = shortQuantity(f.StorageBytes) + "/" + shortQuantity(limit)
	setThresholdConditions(status, aq, percent, f.StorageBytes, limit)
}

func podUsages(f AccountFigures) []quotav1.PodUsage {
	if len(f.Pods) == 0 {
		return nil
	}
	pods := make([]quotav1.PodUsage, len(f.Pods))
	for i, p := range f.Pods {
		pods[i] = quotav1.PodUsage{PodID: p.PodID, StorageBytes: p.StorageBytes, IngressBytes: p.IngressBytes,
			EgressBytes: p.EgressBytes}
	}
	return pods
}

func setThresholdConditions(status *quotav1.AccountQuotaStatus, aq *quotav1.AccountQuota, percent, used, limit int64) {
	exceeded := metav1.Condition{Type: ConditionStorageExceeded, Status: metav1.ConditionFalse,
		Reason: reasonWithinLimit, Message: "Storage is below the limit", ObservedGeneration: aq.Generation}
	if percent >= 100 {
		exceeded.Status, exceeded.Reason = metav1.ConditionTrue, reasonOverLimit
		exceeded.Message = fmt.Sprintf("Storage is at %d%% of the limit (%s of %s); new writes are rejected",
			percent, shortQuantity(used), shortQuantity(limit))
	}
	meta.SetStatusCondition(&status.Conditions, exceeded)

	near := metav1.Condition{Type: ConditionNearLimit, Status: metav1.ConditionFalse, Reason: reasonBelowThreshold,
		Message: "Storage is below every alert threshold", ObservedGeneration: aq.Generation}
	if crossed := highestCrossed(alertThresholds(aq), percent); crossed > 0 {
		near.Status = metav1.ConditionTrue
		near.Reason = fmt.Sprintf("Above%dPercent", crossed)
		near.Message = fmt.Sprintf("Storage has crossed the %d%% alert threshold", crossed)
	}
	meta.SetStatusCondition(&status.Conditions, near)
}

// highestCrossed returns the highest threshold at or below percent, or 0.
func highestCrossed(ascending []int32, percent int64) int32 {
	var crossed int32
	for _, t := range ascending {
		if percent >= int64(t) {
			crossed = t
		}
	}
	return crossed
}
