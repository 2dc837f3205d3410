package database

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// XpodPod is one pod from Xpod's identity_pod table.
type XpodPod struct {
	ID        string
	BaseURL   string
	AccountID string
}

// ListXpodPods reads every pod of Xpod's identity_pod table, whose JSONB payload holds the pod's
// baseUrl and accountId. Rows without a baseUrl are skipped.
func ListXpodPods(ctx context.Context, db Querier) ([]XpodPod, error) {
	rows, err := db.Query(ctx, `SELECT id, payload->>'baseUrl', COALESCE(payload->>'accountId', '')
		FROM identity_pod WHERE payload->>'baseUrl' IS NOT NULL`)
	if err != nil {
		return nil, fmt.Errorf("read pods from identity_pod: %w", err)
	}
	var pods []XpodPod
	var p XpodPod
	_, err = pgx.ForEachRow(rows, []any{&p.ID, &p.BaseURL, &p.AccountID}, func() error {
		pods = append(pods, p)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read pods from identity_pod: %w", err)
	}
	return pods, nil
}
