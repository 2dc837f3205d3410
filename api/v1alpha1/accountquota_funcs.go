package v1alpha1

import (
	"k8s.io/apimachinery/pkg/api/resource"
)

// Condition types and reasons of an AccountQuota.
const (
	ConditionReady = "Ready"

	ReasonSynced              = "Synced"
	ReasonConflict            = "Conflict"
	ReasonDatabaseUnavailable = "DatabaseUnavailable"
	ReasonInvalidSpec         = "InvalidSpec"
)

// Finalizer keeps an AccountQuota until its quota row has been handled according to its
// deletion policy.
const Finalizer = "quota.xpod.dev/quota-row"

// EffectiveDeletionPolicy returns the deletion policy, treating an empty one as Delete.
func (q *AccountQuota) EffectiveDeletionPolicy() DeletionPolicy {
	if q.Spec.DeletionPolicy == "" {
		return DeletionPolicyDelete
	}
	return q.Spec.DeletionPolicy
}

// QuantityBytes converts an optional quantity to a whole number of bytes. It returns nil for an
// unset quantity and false when the value is negative, fractional or above 2^63-1.
func QuantityBytes(q *resource.Quantity) (*int64, bool) {
	if q == nil {
		return nil, true
	}
	if q.Sign() < 0 {
		return nil, false
	}
	maxBytes := resource.NewQuantity(1<<63-1, resource.DecimalSI)
	if q.Cmp(*maxBytes) > 0 {
		return nil, false
	}
	// Value rounds a fraction up, so a whole value is one whose milli-value is 1000 times it.
	// The milli-value overflows above 2^63/1000, where a fractional byte cannot be written with
	// fewer than 19 digits and the CRD pattern has already rejected it.
	v := q.Value()
	if v < (1<<63-1)/1000 && q.MilliValue() != v*1000 {
		return nil, false
	}
	// Parsing clamps binary-suffixed values such as 8Ei to 2^63-1, which no whole binary-suffixed
	// value equals, so that result means the written value was too large.
	if v == 1<<63-1 && q.Format == resource.BinarySI {
		return nil, false
	}
	return &v, true
}

// FormatBytes renders a byte count as a quantity string, such as 20Gi or 1500.
func FormatBytes(n int64) string {
	return resource.NewQuantity(n, resource.BinarySI).String()
}
