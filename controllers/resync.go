package controllers

import (
	"context"
	"time"

	"github.com/go-logr/logr"
	"github.com/jackc/pgx/v5/pgxpool"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/log"

	quotav1 "xpod.dev/quota-operator/api/v1alpha1"
	"xpod.dev/quota-operator/internal/database"
)

// Resync compares every managed row with its AccountQuota on a fixed period, in one batched
// query, and wakes the reconciler for each row that was edited or removed by hand. It runs only
// on the elected leader.
type Resync struct {
	Client client.Reader
	DB     *pgxpool.Pool
	Period time.Duration
	Wake   chan<- event.TypedGenericEvent[*quotav1.AccountQuota]
}

// NeedLeaderElection makes the resync run only on the leader, like the reconciler.
func (s *Resync) NeedLeaderElection() bool { return true }

// Start runs passes until ctx ends.
func (s *Resync) Start(ctx context.Context) error {
	logger := log.FromContext(ctx).WithName("resync")
	ticker := time.NewTicker(s.Period)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
			s.pass(ctx, logger)
		}
	}
}

func (s *Resync) pass(ctx context.Context, logger logr.Logger) {
	owners, err := s.managedOwners(ctx)
	if err != nil {
		logger.Error(err, "Failed to list AccountQuotas for resync")
		return
	}
	if len(owners) == 0 {
		return
	}
	ids := make([]string, 0, len(owners))
	for id := range owners {
		ids = append(ids, id)
	}
	rows, err := database.GetQuotas(ctx, s.DB, ids)
	if err != nil {
		logger.Error(err, "Failed to read quota rows for resync", "accounts", len(ids))
		return
	}
	drifted := 0
	for id, aq := range owners {
		want, _, ok := desiredQuota(aq)
		row, exists := rows[id]
		if !ok || (exists && row.SameLimits(want)) {
			continue
		}
		drifted++
		select {
		case s.Wake <- event.TypedGenericEvent[*quotav1.AccountQuota]{Object: aq}:
		case <-ctx.Done():
			return
		}
	}
	logger.V(1).Info("Resync pass done", "accounts", len(ids), "drifted", drifted)
}

// managedOwners returns, per account, the AccountQuota that owns its row and has written it.
func (s *Resync) managedOwners(ctx context.Context) (map[string]*quotav1.AccountQuota, error) {
	var list quotav1.AccountQuotaList
	if err := s.Client.List(ctx, &list); err != nil {
		return nil, err
	}
	sortByOwnership(list.Items)
	owners := make(map[string]*quotav1.AccountQuota, len(list.Items))
	for i := range list.Items {
		aq := &list.Items[i]
		if _, claimed := owners[aq.Spec.AccountID]; claimed {
			continue
		}
		owners[aq.Spec.AccountID] = aq
	}
	for id, aq := range owners {
		if !aq.DeletionTimestamp.IsZero() || !isSynced(aq) {
			delete(owners, id)
		}
	}
	return owners, nil
}
