package adminapi

import (
	"context"
	"fmt"
	"sort"

	"sigs.k8s.io/controller-runtime/pkg/client"

	quotav1 "xpod.dev/quota-operator/api/v1alpha1"
)

// AccountIDIndex is the cache field index of AccountQuotas by spec.accountId. The AccountQuota
// controller registers it on the manager's cache, so the admin API must be set up after the
// controller.
const AccountIDIndex = "spec.accountId"

// Owner names the AccountQuota that manages an account.
type Owner struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
}

// String returns namespace/name.
func (o Owner) String() string { return o.Namespace + "/" + o.Name }

// OwnerLookup finds the AccountQuota that manages an account.
type OwnerLookup interface {
	// Owner returns the managing AccountQuota of accountID, or nil when no AccountQuota names it.
	Owner(ctx context.Context, accountID string) (*Owner, error)
}

// IndexedOwnerLookup finds owners through a controller-runtime reader, such as the manager's
// cache-backed client, that has the AccountIDIndex field index.
type IndexedOwnerLookup struct {
	Reader client.Reader
}

// Owner lists the AccountQuotas of every namespace that name accountID and returns the oldest,
// which is the one the controller lets write the row. Ties are broken by namespace and name, as
// the controller does. An AccountQuota that is being deleted still counts, because its finalizer
// applies its deletion policy to the row.
func (l IndexedOwnerLookup) Owner(ctx context.Context, accountID string) (*Owner, error) {
	var list quotav1.AccountQuotaList
	if err := l.Reader.List(ctx, &list, client.MatchingFields{AccountIDIndex: accountID}); err != nil {
		return nil, fmt.Errorf("list AccountQuotas for account %q: %w", accountID, err)
	}
	if len(list.Items) == 0 {
		return nil, nil
	}
	items := list.Items
	sort.Slice(items, func(i, j int) bool {
		a, b := &items[i], &items[j]
		if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
			return a.CreationTimestamp.Before(&b.CreationTimestamp)
		}
		if a.Namespace != b.Namespace {
			return a.Namespace < b.Namespace
		}
		return a.Name < b.Name
	})
	return &Owner{Namespace: items[0].Namespace, Name: items[0].Name}, nil
}
