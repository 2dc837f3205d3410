package controllers

import (
	"context"
	"fmt"
	"sort"

	"sigs.k8s.io/controller-runtime/pkg/client"

	quotav1 "xpod.dev/quota-operator/api/v1alpha1"
)

// accountIDIndex is the cache index of AccountQuotas by spec.accountId.
const accountIDIndex = "spec.accountId"

func indexAccountID(obj client.Object) []string {
	aq, ok := obj.(*quotav1.AccountQuota)
	if !ok {
		return nil
	}
	return []string{aq.Spec.AccountID}
}

// claimants lists the AccountQuotas of every namespace that name accountID, owner first.
func (r *AccountQuotaReconciler) claimants(ctx context.Context, accountID string) ([]quotav1.AccountQuota, error) {
	var list quotav1.AccountQuotaList
	if err := r.List(ctx, &list, client.MatchingFields{accountIDIndex: accountID}); err != nil {
		return nil, fmt.Errorf("list AccountQuotas for account %q: %w", accountID, err)
	}
	sortByOwnership(list.Items)
	return list.Items, nil
}

// sortByOwnership puts the owner of an account first: the oldest AccountQuota, with ties broken
// by namespace and name so that every pass picks the same one.
func sortByOwnership(items []quotav1.AccountQuota) {
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
}

// owner returns the AccountQuota that owns the account's row.
func (r *AccountQuotaReconciler) owner(ctx context.Context, aq *quotav1.AccountQuota) (*quotav1.AccountQuota, error) {
	items, err := r.claimants(ctx, aq.Spec.AccountID)
	if err != nil {
		return nil, err
	}
	if !containsObject(items, aq) {
		// The cache has not seen this object yet.
		items = append(items, *aq)
		sortByOwnership(items)
	}
	return &items[0], nil
}

func containsObject(items []quotav1.AccountQuota, aq *quotav1.AccountQuota) bool {
	for i := range items {
		if sameObject(&items[i], aq) {
			return true
		}
	}
	return false
}

func sameObject(a, b *quotav1.AccountQuota) bool {
	return a.Namespace == b.Namespace && a.Name == b.Name
}
