// Package controllers holds the AccountQuota reconciler, which writes each AccountQuota into the
// identity_account_quota table, and the resync that restores rows edited behind its back.
package controllers

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/log"

	quotav1 "xpod.dev/quota-operator/api/v1alpha1"
	"xpod.dev/quota-operator/internal/database"
)

// AccountQuotaReconciler keeps identity_account_quota in line with the AccountQuotas.
type AccountQuotaReconciler struct {
	client.Client
	DB       *pgxpool.Pool
	Recorder events.EventRecorder
	Defaults Defaults
	// Usage holds the figures that the usage poller read; nil shows every account as unused.
	Usage *UsageStore
	// MaxConcurrentReconciles is the number of parallel reconciles; 0 means 1.
	MaxConcurrentReconciles int
}

// +kubebuilder:rbac:groups=quota.xpod.dev,resources=accountquotas,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=quota.xpod.dev,resources=accountquotas/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=quota.xpod.dev,resources=accountquotas/finalizers,verbs=update
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch

// Reconcile writes one AccountQuota's limits into its account's row, or handles its deletion.
func (r *AccountQuotaReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var aq quotav1.AccountQuota
	if err := r.Get(ctx, req.NamespacedName, &aq); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	ctx = log.IntoContext(ctx, log.FromContext(ctx).WithValues("accountId", aq.Spec.AccountID))

	if !aq.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, r.finalize(ctx, &aq)
	}
	if err := r.ensureFinalizer(ctx, &aq); err != nil {
		return ctrl.Result{}, err
	}
	return ctrl.Result{}, r.sync(ctx, &aq)
}

func (r *AccountQuotaReconciler) ensureFinalizer(ctx context.Context, aq *quotav1.AccountQuota) error {
	if controllerutil.ContainsFinalizer(aq, quotav1.Finalizer) {
		return nil
	}
	patch := client.MergeFrom(aq.DeepCopy())
	controllerutil.AddFinalizer(aq, quotav1.Finalizer)
	if err := r.Patch(ctx, aq, patch); err != nil {
		return fmt.Errorf("add finalizer: %w", err)
	}
	return nil
}

// sync writes the row when this AccountQuota owns the account and records the outcome in status.
func (r *AccountQuotaReconciler) sync(ctx context.Context, aq *quotav1.AccountQuota) error {
	want, invalid, ok := desiredQuota(aq)
	if !ok {
		r.event(aq, corev1.EventTypeWarning, quotav1.ReasonInvalidSpec, "Validate", "%s", invalid)
		return r.setNotReady(ctx, aq, quotav1.ReasonInvalidSpec, invalid)
	}

	owner, err := r.owner(ctx, aq)
	if err != nil {
		return err
	}
	if !sameObject(owner, aq) {
		forgetMetrics(aq)
		return r.reportConflict(ctx, aq, owner)
	}

	result, err := database.UpsertQuota(ctx, r.DB, want)
	if err != nil {
		return r.reportDatabaseError(ctx, aq, "Write", err)
	}
	r.recordWrite(ctx, aq, result)
	return r.setSynced(ctx, aq, want)
}

// recordWrite explains a write with an Event: a new row, an adopted one, a spec change or a
// restored hand edit.
func (r *AccountQuotaReconciler) recordWrite(ctx context.Context, aq *quotav1.AccountQuota, result database.UpsertResult) {
	wasSynced := isSynced(aq)
	drift := wasSynced && aq.Status.ObservedGeneration == aq.Generation && result != database.Unchanged
	account := aq.Spec.AccountID
	switch {
	case drift:
		r.event(aq, corev1.EventTypeWarning, "DriftReverted", "Restore",
			"The quota row of account %s was changed or deleted outside this AccountQuota; restored it from the spec",
			account)
	case result == database.Inserted:
		// No Event: the Ready condition already reports it, and an Event per new AccountQuota
		// would add a third API write to each of them when thousands are applied at once.
	case !wasSynced:
		r.event(aq, corev1.EventTypeNormal, "Adopted", "Adopt",
			"Adopted the existing quota row of account %s; this AccountQuota manages it from now on", account)
	case result == database.Updated:
		r.event(aq, corev1.EventTypeNormal, "Updated", "Update", "Updated the quota row of account %s", account)
	default:
		return
	}
	log.FromContext(ctx).Info("Wrote quota row", "result", resultName(result))
}

func resultName(result database.UpsertResult) string {
	switch result {
	case database.Inserted:
		return "inserted"
	case database.Updated:
		return "updated"
	default:
		return "unchanged"
	}
}

func (r *AccountQuotaReconciler) reportConflict(ctx context.Context, aq, owner *quotav1.AccountQuota) error {
	message := fmt.Sprintf("account %s is managed by AccountQuota %s/%s, which is older; "+
		"this AccountQuota does not write or delete its row until that one is deleted",
		aq.Spec.AccountID, owner.Namespace, owner.Name)
	if !hasCondition(aq, quotav1.ReasonConflict, message) {
		r.event(aq, corev1.EventTypeWarning, quotav1.ReasonConflict, "Claim", "%s", message)
	}
	return r.setNotReady(ctx, aq, quotav1.ReasonConflict, message)
}

// reportDatabaseError marks the AccountQuota not ready and returns the error, so the request is
// retried with exponential backoff. The condition message leaves out the error text, which varies
// from attempt to attempt: a status write on every failure would wake the controller at once and
// defeat the backoff. The manager log has the full error.
func (r *AccountQuotaReconciler) reportDatabaseError(ctx context.Context, aq *quotav1.AccountQuota, action string, err error) error {
	message := "cannot reach the database; retrying with exponential backoff (the manager log has the error)"
	var pgErr *pgconn.PgError
	if !database.IsUnavailable(err) && errors.As(err, &pgErr) {
		message = fmt.Sprintf("the database rejected the statement (%s %s); retrying with exponential backoff",
			pgErr.Code, pgErr.Message)
	}
	r.event(aq, corev1.EventTypeWarning, quotav1.ReasonDatabaseUnavailable, action, "%s", message)
	if statusErr := r.setNotReady(ctx, aq, quotav1.ReasonDatabaseUnavailable, message); statusErr != nil &&
		!apierrors.IsNotFound(statusErr) {
		log.FromContext(ctx).Error(statusErr, "Failed to update status")
	}
	return err
}

func (r *AccountQuotaReconciler) event(aq *quotav1.AccountQuota, eventType, reason, action, note string, args ...any) {
	if r.Recorder == nil {
		return
	}
	r.Recorder.Eventf(aq, nil, eventType, reason, action, note, args...)
}
