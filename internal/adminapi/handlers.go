package adminapi

import (
	"context"
	"net/http"
)

// get returns the account's effective quota, its source, its managing AccountQuota and its usage.
// An account without a quota row has the defaults.
func (a *api) get(ctx context.Context, accountID string) (any, *apiError) {
	owner, apiErr := a.lookupOwner(ctx, accountID)
	if apiErr != nil {
		return nil, apiErr
	}
	record, err := a.store.get(ctx, accountID)
	if err != nil {
		return nil, a.storeError(err, accountID)
	}
	return a.newQuotaResponse(record, owner), nil
}

// put sets the limits that the body names. The body is checked in full before the ownership
// lookup and the write, and the write is one transaction.
func (a *api) put(ctx context.Context, r *http.Request, accountID string) (any, *apiError) {
	if err := checkContentType(r); err != nil {
		return nil, err
	}
	body, apiErr := limitBody(r)
	if apiErr != nil {
		return nil, apiErr
	}
	update, apiErr := decodeLimitUpdate(body)
	if apiErr != nil {
		return nil, apiErr
	}
	if apiErr := a.rejectManaged(ctx, accountID, "PUT"); apiErr != nil {
		return nil, apiErr
	}

	if !update.storage.present && !update.bandwidth.present {
		// An empty object changes nothing, so no row is created for it.
		return a.get(ctx, accountID)
	}
	before, after, err := a.store.update(ctx, accountID, update)
	if err != nil {
		return nil, a.storeError(err, accountID)
	}
	a.audit(ctx, "update", accountID, before, after.quota)
	return a.newQuotaResponse(after, nil), nil
}

// delete removes the account's row, so both defaults apply. Deleting an account without a row
// succeeds, so the request is idempotent.
func (a *api) delete(ctx context.Context, accountID string) (any, *apiError) {
	if apiErr := a.rejectManaged(ctx, accountID, "DELETE"); apiErr != nil {
		return nil, apiErr
	}
	before, after, err := a.store.reset(ctx, accountID)
	if err != nil {
		return nil, a.storeError(err, accountID)
	}
	a.audit(ctx, "reset", accountID, before, after.quota)
	return a.newQuotaResponse(after, nil), nil
}

func (a *api) lookupOwner(ctx context.Context, accountID string) (*Owner, *apiError) {
	owner, err := a.owners.Owner(ctx, accountID)
	if err != nil {
		a.logger.Error(err, "Failed to look up the AccountQuota of an account", "accountId", accountID)
		return nil, newError(http.StatusServiceUnavailable, CodeKubernetesUnavailable,
			"could not check whether an AccountQuota manages account %s; retry the request later", accountID)
	}
	return owner, nil
}

// rejectManaged returns 409 when an AccountQuota manages the account, because the controller
// would revert any change made here.
//
// NOTE: an AccountQuota created between this check and the write may see the API's write land
// after its first reconcile. The controller's resync then restores the AccountQuota's limits
// within its resync period, so the AccountQuota still wins, but not at once.
func (a *api) rejectManaged(ctx context.Context, accountID, method string) *apiError {
	owner, apiErr := a.lookupOwner(ctx, accountID)
	if apiErr != nil {
		return apiErr
	}
	if owner == nil {
		return nil
	}
	a.logger.Info("Rejected admin API change to an account that an AccountQuota manages",
		"caller", callerFrom(ctx), "method", method, "accountId", accountID, "accountQuota", owner.String())
	return newError(http.StatusConflict, CodeManagedByAccountQuota,
		"account %s is managed by AccountQuota %s; change spec.storageLimit or spec.bandwidthLimit of that "+
			"AccountQuota instead, or delete it before managing the account through this API", accountID, owner)
}

// auditLimits is a quota row in the audit log. A nil limit is NULL, so the default applies.
type auditLimits struct {
	StorageLimitBytes *int64 `json:"storageLimitBytes"`
	BandwidthLimitBps *int64 `json:"bandwidthLimitBps"`
}

func auditValue(row quotaRow) *auditLimits {
	if !row.exists {
		return nil
	}
	return &auditLimits{StorageLimitBytes: row.storageLimitBytes, BandwidthLimitBps: row.bandwidthLimitBps}
}

// audit writes one log line for each successful PUT or DELETE: who, which account, the row
// before and after (null when there is no row) and whether anything changed.
func (a *api) audit(ctx context.Context, action, accountID string, before, after quotaRow) {
	changed := before.exists != after.exists ||
		!equalLimit(before.storageLimitBytes, after.storageLimitBytes) ||
		!equalLimit(before.bandwidthLimitBps, after.bandwidthLimitBps)
	a.logger.Info("Admin API "+action+" of account quota", "caller", callerFrom(ctx), "action", action,
		"accountId", accountID, "changed", changed, "old", auditValue(before), "new", auditValue(after))
}

func equalLimit(x, y *int64) bool {
	if x == nil || y == nil {
		return x == y
	}
	return *x == *y
}
