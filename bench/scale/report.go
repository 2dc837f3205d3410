package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"xpod.dev/quota-operator/internal/database"
)

// report holds the measured figures.
type report struct {
	count               int
	applyDuration       time.Duration
	rowsAfterLastApply  time.Duration
	readyAfterLastApply time.Duration
	changedRows         int
	changedWrites       int
	unchangedWrites     int
	passesMeasured      int
	meanPass            time.Duration
	changedQuery        time.Duration
	rssBytes            int64
	peakRSSBytes        int64
}

// measureQuery times the poll query alone for a pass that reads the changed rows.
func (r *report) measureQuery(ctx context.Context, env *environment, changed int) error {
	since := time.Now().Add(-time.Minute)
	start := time.Now()
	rows, err := database.ChangedUsage(ctx, env.pool, since)
	r.changedQuery = time.Since(start)
	if err != nil {
		return err
	}
	if len(rows) < changed {
		return fmt.Errorf("the poll query returned %d accounts, want at least %d", len(rows), changed)
	}
	return nil
}

func (r *report) print(w io.Writer) {
	fmt.Fprintf(w, "AccountQuotas and usage rows:                %d\n", r.count)
	fmt.Fprintf(w, "apply duration (all creates):                %s\n", r.applyDuration.Round(time.Millisecond))
	fmt.Fprintf(w, "all rows in the table, after the last apply: %s (target 60s)\n", r.rowsAfterLastApply.Round(time.Millisecond))
	fmt.Fprintf(w, "all Ready with usage, after the last apply:  %s\n", r.readyAfterLastApply.Round(time.Millisecond))
	fmt.Fprintf(w, "usage rows changed:                          %d (1%%)\n", r.changedRows)
	fmt.Fprintf(w, "poll passes measured after the change:       %d, mean %s (target 500ms)\n", r.passesMeasured,
		r.meanPass.Round(time.Microsecond))
	fmt.Fprintf(w, "poll query with the changed rows:            %s\n", r.changedQuery.Round(time.Microsecond))
	fmt.Fprintf(w, "status writes, changed AccountQuotas:        %d of %d\n", r.changedWrites, r.changedRows)
	fmt.Fprintf(w, "status writes, unchanged AccountQuotas:      %d (target 0)\n", r.unchangedWrites)
	fmt.Fprintf(w, "manager RSS at the end / peak:               %.1f MiB / %.1f MiB (target 200 MiB)\n",
		float64(r.rssBytes)/(1<<20), float64(r.peakRSSBytes)/(1<<20))
}
