package controllers

import (
	quotav1 "xpod.dev/quota-operator/api/v1alpha1"
	"xpod.dev/quota-operator/internal/database"
)

// Defaults are the limits that apply where a quota row leaves a limit unset (NULL).
type Defaults struct {
	StorageBytes            int64
	BandwidthBytesPerSecond int64
}

// desiredQuota converts the spec into the row it should produce, or reports which field is
// invalid. The CRD rejects such values at admission, so this only guards older or hand-made
// objects.
func desiredQuota(aq *quotav1.AccountQuota) (database.Quota, string, bool) {
	storage, ok := quotav1.QuantityBytes(aq.Spec.StorageLimit)
	if !ok {
		return database.Quota{}, "spec.storageLimit must be a whole number of bytes from 0 to 2^63-1", false
	}
	bandwidth, ok := quotav1.QuantityBytes(aq.Spec.BandwidthLimit)
	if !ok {
		return database.Quota{}, "spec.bandwidthLimit must be a whole number of bytes per second from 0 to 2^63-1", false
	}
	return database.Quota{AccountID: aq.Spec.AccountID, StorageLimitBytes: storage, BandwidthLimitBps: bandwidth}, "", true
}

// effectiveLimits applies the defaults to the limits a row sets.
func (d Defaults) effectiveLimits(q database.Quota) *quotav1.EffectiveLimits {
	limits := &quotav1.EffectiveLimits{
		StorageBytes:            d.StorageBytes,
		StorageSource:           quotav1.LimitSourceDefault,
		BandwidthBytesPerSecond: d.BandwidthBytesPerSecond,
		BandwidthSource:         quotav1.LimitSourceDefault,
	}
	if q.StorageLimitBytes != nil {
		limits.StorageBytes = *q.StorageLimitBytes
		limits.StorageSource = quotav1.LimitSourceCustom
	}
	if q.BandwidthLimitBps != nil {
		limits.BandwidthBytesPerSecond = *q.BandwidthLimitBps
		limits.BandwidthSource = quotav1.LimitSourceCustom
	}
	limits.Storage = quotav1.FormatBytes(limits.StorageBytes)
	limits.Bandwidth = quotav1.FormatBytes(limits.BandwidthBytesPerSecond)
	return limits
}
