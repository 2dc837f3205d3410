package v1alpha1

import (
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// DeletionPolicy is the fate of the quota row when its AccountQuota is deleted.
// +kubebuilder:validation:Enum=Delete;Orphan
type DeletionPolicy string

const (
	// DeletionPolicyDelete removes the quota row, so the account falls back to the defaults.
	DeletionPolicyDelete DeletionPolicy = "Delete"
	// DeletionPolicyOrphan leaves the quota row in the database.
	DeletionPolicyOrphan DeletionPolicy = "Orphan"
)

// LimitSource is the origin of an effective limit.
// +kubebuilder:validation:Enum=custom;default
type LimitSource string

const (
	// LimitSourceCustom means the limit is set on the account's quota row.
	LimitSourceCustom LimitSource = "custom"
	// LimitSourceDefault means the row leaves the limit unset, so the manager's default applies.
	LimitSourceDefault LimitSource = "default"
)

// AccountQuotaSpec is the quota wanted for one pod server account.
type AccountQuotaSpec struct {
	// accountId is the pod server's account id, as stored in identity_account_quota.account_id
	// (for Community Solid Server and Xpod, the account's UUID). It must be 1 to 128 characters of
	// ASCII letters, digits, '.', '_' and '-', starting and ending with a letter or digit.
	// It cannot be changed: to manage another account, create another AccountQuota.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=128
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9]([A-Za-z0-9._-]{0,126}[A-Za-z0-9])?$`
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="accountId is immutable; create a new AccountQuota for another account"
	AccountID string `json:"accountId"`

	// storageLimit is the most bytes the account's pods may store, as a quantity of whole bytes
	// such as 20Gi or 500M. 0 makes the account read-only: no new bytes may be written.
	// Unset means the manager's default storage limit (10Gi unless configured).
	// The maximum is 9223372036854775807 (2^63-1) bytes; larger values, such as 8Ei, are rejected
	// rather than clamped.
	// +optional
	// +kubebuilder:validation:XIntOrString
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:XValidation:rule="!isQuantity(string(self)) || !quantity(string(self)).isLessThan(quantity('0'))",message="storageLimit must not be negative; use 0 for a read-only account or leave it unset for the default"
	// +kubebuilder:validation:XValidation:rule="!isQuantity(string(self)) || (type(self) == string && self.matches('[KMGTPE]i$') ? quantity(self).isLessThan(quantity('9223372036854775807')) : quantity(string(self)).compareTo(quantity('9223372036854775807')) <= 0)",message="storageLimit must be at most 9223372036854775807 bytes (2^63-1)"
	// +kubebuilder:validation:XValidation:rule="type(self) == int || !isQuantity(self) || quantity(self).isInteger() || self.matches('^[+]?[0-9]+(([.]0*)?([kMGTPE]|[KMGTPE]i)?|[eE][+]?[0-9]+)$') || self.matches('^[+]?[0-9]*[.]([0-9]{1,3}0*k|[0-9]{1,6}0*M|[0-9]{1,9}0*G|[0-9]{1,12}0*T|[0-9]{1,15}0*P|[0-9]{1,18}0*E)$') || self.matches('^[+]?[0-9]*[.](5|25|75|125|375|625|875)0*[KMGTPE]i$')",message="storageLimit must be a whole number of bytes, such as 1536, 1.5Ki or 20Gi; fractions of a byte and the m, u and n suffixes are not allowed"
	StorageLimit *resource.Quantity `json:"storageLimit,omitempty"`

	// bandwidthLimit is the account's transfer rate limit in bytes per second, as a quantity of
	// whole bytes such as 10Mi. It applies to uploads and downloads separately and is shared by
	// all of the account's connections. 0 means not throttled.
	// Unset means the manager's default bandwidth limit (10Mi per second unless configured).
	// The maximum is 9223372036854775807 (2^63-1) bytes per second.
	// +optional
	// +kubebuilder:validation:XIntOrString
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:XValidation:rule="!isQuantity(string(self)) || !quantity(string(self)).isLessThan(quantity('0'))",message="bandwidthLimit must not be negative; use 0 for no throttling or leave it unset for the default"
	// +kubebuilder:validation:XValidation:rule="!isQuantity(string(self)) || (type(self) == string && self.matches('[KMGTPE]i$') ? quantity(self).isLessThan(quantity('9223372036854775807')) : quantity(string(self)).compareTo(quantity('9223372036854775807')) <= 0)",message="bandwidthLimit must be at most 9223372036854775807 bytes per second (2^63-1)"
	// +kubebuilder:validation:XValidation:rule="type(self) == int || !isQuantity(self) || quantity(self).isInteger() || self.matches('^[+]?[0-9]+(([.]0*)?([kMGTPE]|[KMGTPE]i)?|[eE][+]?[0-9]+)$') || self.matches('^[+]?[0-9]*[.]([0-9]{1,3}0*k|[0-9]{1,6}0*M|[0-9]{1,9}0*G|[0-9]{1,12}0*T|[0-9]{1,15}0*P|[0-9]{1,18}0*E)$') || self.matches('^[+]?[0-9]*[.](5|25|75|125|375|625|875)0*[KMGTPE]i$')",message="bandwidthLimit must be a whole number of bytes per second, such as 1048576, 1.5Mi or 10Mi; fractions of a byte and the m, u and n suffixes are not allowed"
	BandwidthLimit *resource.Quantity `json:"bandwidthLimit,omitempty"`

	// deletionPolicy is the fate of the account's quota row when this AccountQuota is
	// deleted. Delete (the default) removes the row so the defaults apply again. Orphan keeps it.
	// +optional
	// +kubebuilder:default=Delete
	DeletionPolicy DeletionPolicy `json:"deletionPolicy,omitempty"`

	// alertThresholds are the percentages of the storage limit at which an alert fires: an Event
	// on this AccountQuota and, when the manager has a webhook configured, a signed webhook call.
	// Each fires once when usage rises to or above it, and again only after usage has fallen
	// 5 percentage points below it. Unset means 80, 90 and 100.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=10
	// +kubebuilder:validation:items:Minimum=1
	// +kubebuilder:validation:items:Maximum=1000
	AlertThresholds []int32 `json:"alertThresholds,omitempty"`
}

// EffectiveLimits are the limits the enforcer applies to the account.
type EffectiveLimits struct {
	// storageBytes is the effective storage limit in bytes.
	StorageBytes int64 `json:"storageBytes"`

	// storage is storageBytes as a quantity, such as 20Gi.
	Storage string `json:"storage"`

	// storageSource is custom when this AccountQuota sets the storage limit and default when the
	// manager's default applies.
	StorageSource LimitSource `json:"storageSource"`

	// bandwidthBytesPerSecond is the effective bandwidth limit in bytes per second; 0 means not
	// throttled.
	BandwidthBytesPerSecond int64 `json:"bandwidthBytesPerSecond"`

	// bandwidth is bandwidthBytesPerSecond as a quantity, such as 10Mi.
	Bandwidth string `json:"bandwidth"`

	// bandwidthSource is custom when this AccountQuota sets the bandwidth limit and default when
	// the manager's default applies.
	BandwidthSource LimitSource `json:"bandwidthSource"`
}

// PodUsage is the usage of one pod of the account.
type PodUsage struct {
	// podId is the pod's id in identity_pod_usage.
	PodID string `json:"podId"`

	// storageBytes is the pod's stored bytes.
	StorageBytes int64 `json:"storageBytes"`

	// ingressBytes is the total of bytes uploaded to the pod.
	IngressBytes int64 `json:"ingressBytes"`

	// egressBytes is the total of bytes downloaded from the pod.
	EgressBytes int64 `json:"egressBytes"`
}

// UsageStatus is the account's usage as the enforcer last recorded it.
type UsageStatus struct {
	// storageBytes is the account's stored bytes, summed over its pods.
	StorageBytes int64 `json:"storageBytes"`

	// storage is storageBytes as a short quantity, such as 1.2Gi.
	Storage string `json:"storage"`

	// storagePercent is storageBytes as a whole percentage of the storage limit, rounded down.
	// With a storage limit of 0 it is 0 for an empty account and 100 otherwise.
	StoragePercent int64 `json:"storagePercent"`

	// ingressBytes is the total of bytes uploaded by the account's clients.
	IngressBytes int64 `json:"ingressBytes"`

	// egressBytes is the total of bytes downloaded by the account's clients.
	EgressBytes int64 `json:"egressBytes"`

	// ingressBytesPerSecond is the upload rate over the last usage poll interval. It is rounded to
	// two significant digits in its binary unit (1.2Mi, 15Mi, 120Mi) and is 0 below 1Ki, so that
	// small fluctuations cause no status writes.
	IngressBytesPerSecond int64 `json:"ingressBytesPerSecond"`

	// ingressRate is ingressBytesPerSecond as a short quantity, such as 1.2Mi.
	IngressRate string `json:"ingressRate"`

	// egressBytesPerSecond is the download rate over the last usage poll interval, rounded like
	// ingressBytesPerSecond.
	EgressBytesPerSecond int64 `json:"egressBytesPerSecond"`

	// egressRate is egressBytesPerSecond as a short quantity.
	EgressRate string `json:"egressRate"`

	// pods lists at most 10 of the account's pods, largest storage first, then by pod id.
	// +optional
	// +kubebuilder:validation:MaxItems=10
	// +listType=atomic
	Pods []PodUsage `json:"pods,omitempty"`

	// podCount is the number of pods the account has usage rows for.
	PodCount int32 `json:"podCount"`

	// updatedAt is when the enforcer last changed the account's usage rows.
	// +optional
	UpdatedAt *metav1.Time `json:"updatedAt,omitempty"`
}

// AccountQuotaStatus is the observed state of an AccountQuota.
type AccountQuotaStatus struct {
	// observedGeneration is the metadata.generation that the controller last applied to the
	// database.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// conditions describe the quota's state. Ready is True once the quota row matches the spec;
	// its reason is Synced, Conflict (another, older AccountQuota manages the account),
	// DatabaseUnavailable or InvalidSpec. StorageExceeded is True when storage is at or above
	// the limit. NearLimit is True when storage has crossed an alert threshold; its reason names
	// the highest threshold crossed, such as Above90Percent.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// limits are the effective limits for the account and where they come from.
	// +optional
	Limits *EffectiveLimits `json:"limits,omitempty"`

	// usage is the account's storage and traffic.
	// +optional
	Usage *UsageStatus `json:"usage,omitempty"`

	// summary is storage used over the storage limit, such as 1.2Gi/20Gi.
	// +optional
	Summary string `json:"summary,omitempty"`
}

// AccountQuota sets the storage quota and bandwidth limit of one Solid pod server account.
// The controller writes it to the identity_account_quota table that the enforcer and the pod
// server read.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=aq,categories=xpod
// +kubebuilder:printcolumn:name="Account",type=string,JSONPath=`.spec.accountId`
// +kubebuilder:printcolumn:name="Storage",type=string,JSONPath=`.status.summary`
// +kubebuilder:printcolumn:name="Used%",type=integer,JSONPath=`.status.usage.storagePercent`
// +kubebuilder:printcolumn:name="In/s",type=string,JSONPath=`.status.usage.ingressRate`
// +kubebuilder:printcolumn:name="Out/s",type=string,JSONPath=`.status.usage.egressRate`
// +kubebuilder:printcolumn:name="Bandwidth",type=string,JSONPath=`.status.limits.bandwidth`,priority=1
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type AccountQuota struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the quota wanted for the account.
	// +required
	Spec AccountQuotaSpec `json:"spec"`

	// status is the quota as applied and observed by the controller.
	// +optional
	Status AccountQuotaStatus `json:"status,omitempty"`
}

// AccountQuotaList is a list of AccountQuota objects.
// +kubebuilder:object:root=true
type AccountQuotaList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []AccountQuota `json:"items"`
}

func init() {
	SchemeBuilder.Register(&AccountQuota{}, &AccountQuotaList{})
}
