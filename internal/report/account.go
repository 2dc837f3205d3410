package report

import (
	"math/big"

	"github.com/jackc/pgx/v5/pgtype"
)

// Sources of an effective limit.
const (
	// SourceCustom means the account's identity_account_quota row sets the limit.
	SourceCustom = "custom"
	// SourceDefault means the row is missing or its column is NULL, so the default applies.
	SourceDefault = "default"
)

// Limit is an effective limit with its source, SourceCustom or SourceDefault.
type Limit struct {
	Value  int64
	Source string
}

// Defaults are the limits that apply where identity_account_quota sets none.
type Defaults struct {
	// StorageBytes is the default storage limit in bytes.
	StorageBytes int64
	// BandwidthBps is the default bandwidth limit in bytes per second, per direction. 0 means
	// not throttled.
	BandwidthBps int64
}

// Account is one row of identity_account_usage with the account's e-mail and effective limits.
type Account struct {
	ID string
	// Email is nil when identity_account is missing, has no row for the account, or the row's
	// payload has no email.
	Email        *string
	StorageBytes int64
	IngressBytes int64
	EgressBytes  int64
	// UpdatedAt is the instant of the last usage change. Its Valid field is false for NULL.
	UpdatedAt      pgtype.Timestamptz
	StorageLimit   Limit
	BandwidthLimit Limit
}

// TrafficBytes returns ingress plus egress. The sum of two int64 values can exceed 2^63-1, so
// it is computed without a fixed width.
func (a Account) TrafficBytes() *big.Int {
	sum := big.NewInt(a.IngressBytes)
	return sum.Add(sum, big.NewInt(a.EgressBytes))
}

func effectiveLimit(custom *int64, defaultValue int64) Limit {
	if custom == nil {
		return Limit{Value: defaultValue, Source: SourceDefault}
	}
	return Limit{Value: *custom, Source: SourceCustom}
}
