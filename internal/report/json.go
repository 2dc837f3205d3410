package report

import (
	"encoding/json"
	"io"
)

// jsonAccount is one element of the JSON array. The keys follow the Quota Admin API's names.
// Byte counts are JSON integers written exactly, even above 2^53, where JavaScript's Number
// loses precision.
type jsonAccount struct {
	AccountID            string      `json:"accountId"`
	Email                *string     `json:"email"`
	StorageBytes         int64       `json:"storageBytes"`
	StorageLimitBytes    int64       `json:"storageLimitBytes"`
	StorageLimitSource   string      `json:"storageLimitSource"`
	StorageUsedPercent   json.Number `json:"storageUsedPercent"`
	IngressBytes         int64       `json:"ingressBytes"`
	EgressBytes          int64       `json:"egressBytes"`
	BandwidthLimitBps    int64       `json:"bandwidthLimitBps"`
	BandwidthLimitSource string      `json:"bandwidthLimitSource"`
	// UpdatedAt is RFC 3339 in UTC, or null.
	UpdatedAt *string `json:"updatedAt"`
	// TrafficBytes is ingress plus egress, present only with Columns.Traffic. It can exceed
	// 2^63-1.
	TrafficBytes json.Number `json:"trafficBytes,omitempty"`
}

// writeJSON writes the accounts as one indented JSON array, [] when there are none.
func writeJSON(w io.Writer, accounts []Account, columns Columns) error {
	items := make([]jsonAccount, 0, len(accounts))
	for _, a := range accounts {
		item := jsonAccount{
			AccountID:            a.ID,
			Email:                a.Email,
			StorageBytes:         a.StorageBytes,
			StorageLimitBytes:    a.StorageLimit.Value,
			StorageLimitSource:   a.StorageLimit.Source,
			StorageUsedPercent:   json.Number(a.StoragePercent()),
			IngressBytes:         a.IngressBytes,
			EgressBytes:          a.EgressBytes,
			BandwidthLimitBps:    a.BandwidthLimit.Value,
			BandwidthLimitSource: a.BandwidthLimit.Source,
		}
		if updatedAt, ok := formatInstant(a.UpdatedAt); ok {
			item.UpdatedAt = &updatedAt
		}
		if columns.Traffic {
			item.TrafficBytes = json.Number(a.TrafficBytes().String())
		}
		items = append(items, item)
	}
	encoder := json.NewEncoder(w)
	encoder.SetIndent("", "  ")
	encoder.SetEscapeHTML(false)
	return encoder.Encode(items)
}
