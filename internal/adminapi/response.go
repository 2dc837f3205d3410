package adminapi

import (
	"time"
)

// Sources of an effective limit.
const (
	SourceCustom  = "custom"
	SourceDefault = "default"
)

// QuotaResponse is the body of a successful GET, PUT or DELETE of /api/quota/{accountId} and an
// item of the list.
type QuotaResponse struct {
	AccountID string `json:"accountId"`
	// Quota holds the effective limits, with the defaults applied to unset ones.
	Quota QuotaLimits `json:"quota"`
	// Source is custom when the quota row sets at least one limit and default when both limits
	// are the defaults. Sources gives the source of each limit.
	Source  string       `json:"source"`
	Sources QuotaSources `json:"sources"`
	// ManagedBy is the AccountQuota that manages the account, or nil.
	ManagedBy *Owner `json:"managedBy"`
	Usage     Usage  `json:"usage"`
}

// QuotaLimits are an account's effective limits.
type QuotaLimits struct {
	// StorageLimitBytes is the storage limit in bytes. 0 makes the account read-only.
	StorageLimitBytes int64 `json:"storageLimitBytes"`
	// BandwidthLimitBps is the bandwidth limit in bytes per second, per direction. 0 means not
	// throttled.
	BandwidthLimitBps int64 `json:"bandwidthLimitBps"`
}

// QuotaSources are the sources of each effective limit: custom or default.
type QuotaSources struct {
	StorageLimitBytes string `json:"storageLimitBytes"`
	BandwidthLimitBps string `json:"bandwidthLimitBps"`
}

// Usage is an account's row in identity_account_usage, zero with a null UpdatedAt when there is
// none.
type Usage struct {
	StorageBytes int64      `json:"storageBytes"`
	IngressBytes int64      `json:"ingressBytes"`
	EgressBytes  int64      `json:"egressBytes"`
	UpdatedAt    *time.Time `json:"updatedAt"`
}

// ListResponse is the body of GET /api/quota.
type ListResponse struct {
	Items []QuotaResponse `json:"items"`
	// NextCursor is the cursor of the next page, or nil on the last page.
	NextCursor *string `json:"nextCursor"`
}

func (a *api) newQuotaResponse(record accountRecord, owner *Owner) QuotaResponse {
	storage, storageSource := effectiveLimit(record.quota.storageLimitBytes, a.defaults.StorageLimitBytes)
	bandwidth, bandwidthSource := effectiveLimit(record.quota.bandwidthLimitBps, a.defaults.BandwidthLimitBps)
	source := SourceDefault
	if storageSource == SourceCustom || bandwidthSource == SourceCustom {
		source = SourceCustom
	}
	usage := Usage{
		StorageBytes: record.usage.storageBytes,
		IngressBytes: record.usage.ingressBytes,
		EgressBytes:  record.usage.egressBytes,
	}
	if record.usage.updatedAt != nil {
		t := record.usage.updatedAt.UTC()
		usage.UpdatedAt = &t
	}
	return QuotaResponse{
		AccountID: record.accountID,
		Quota:     QuotaLimits{StorageLimitBytes: storage, BandwidthLimitBps: bandwidth},
		Source:    source,
		Sources:   QuotaSources{StorageLimitBytes: storageSource, BandwidthLimitBps: bandwidthSource},
		ManagedBy: owner,
		Usage:     usage,
	}
}

func effectiveLimit(column *int64, fallback int64) (int64, string) {
	if column == nil {
		return fallback, SourceDefault
	}
	return *column, SourceCustom
}
