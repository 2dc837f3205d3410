package controllers

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	quotav1 "xpod.dev/quota-operator/api/v1alpha1"
	"xpod.dev/quota-operator/internal/alerts"
)

// AlertListener passes each poll pass's storage figures to the alert engine, with the thresholds
// of the AccountQuota that owns each account, and puts an Event on that AccountQuota at each
// crossing. Accounts without an AccountQuota use DefaultAlertThresholds.
type AlertListener struct {
	Client   client.Reader
	Recorder events.EventRecorder
	Engine   *alerts.Engine
}

// NewAlertListener returns a listener that evaluates thresholds with engine and sets the
// engine's threshold source and notifier to itself.
func NewAlertListener(c client.Reader, recorder events.EventRecorder, engine *alerts.Engine) *AlertListener {
	l := &AlertListener{Client: c, Recorder: recorder, Engine: engine}
	engine.Thresholds = l.thresholds
	engine.Notifier = l
	return l
}

// UsageChanged evaluates the thresholds of the changed accounts.
func (l *AlertListener) UsageChanged(ctx context.Context, changes map[string]AccountFigures) {
	storage := make(map[string]int64, len(changes))
	for id, f := range changes {
		storage[id] = f.StorageBytes
	}
	if err := l.Engine.Evaluate(ctx, storage); err != nil {
		log.FromContext(ctx).Error(err, "Failed to evaluate alert thresholds; retrying at the next change")
	}
}

func (l *AlertListener) thresholds(ctx context.Context, accountID string) []int32 {
	if owner := l.owner(ctx, accountID); owner != nil {
		return alertThresholds(owner)
	}
	return DefaultAlertThresholds
}

func (l *AlertListener) owner(ctx context.Context, accountID string) *quotav1.AccountQuota {
	var list quotav1.AccountQuotaList
	if err := l.Client.List(ctx, &list, client.MatchingFields{accountIDIndex: accountID}); err != nil || len(list.Items) == 0 {
		return nil
	}
	sortByOwnership(list.Items)
	return &list.Items[0]
}

// Crossed logs a crossing and puts a Warning Event on the AccountQuota that owns the account.
func (l *AlertListener) Crossed(ctx context.Context, c alerts.Crossing) {
	message := fmt.Sprintf("Storage of account %s reached %d%% of its limit (%s of %s), crossing the %d%% threshold",
		c.AccountID, c.Percent, shortQuantity(c.UsedBytes), shortQuantity(c.LimitBytes), c.Threshold)
	log.FromContext(ctx).Info("Storage threshold crossed", "accountId", c.AccountID, "threshold", c.Threshold,
		"percent", c.Percent, "deliveryId", c.DeliveryID)
	owner := l.owner(ctx, c.AccountID)
	if owner == nil || l.Recorder == nil {
		return
	}
	l.Recorder.Eventf(owner, nil, corev1.EventTypeWarning, "StorageThresholdCrossed", "Alert", "%s", message)
}
