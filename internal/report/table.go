package report

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"unicode"
)

// none marks a missing value in the table, as kubectl does.
const none = "<none>"

// writeTable writes aligned columns for a terminal. Sizes are rounded, such as 1.2Gi, and the
// storage use is rounded down, such as 37.5%. CSV and JSON carry the exact integers.
func writeTable(w io.Writer, accounts []Account, columns Columns) error {
	tw := tabwriter.NewWriter(w, 0, 8, 3, ' ', 0)
	header := []string{"ACCOUNT", "EMAIL", "STORAGE", "STORAGE LIMIT", "USED", "INGRESS", "EGRESS"}
	if columns.Traffic {
		header = append(header, "TRAFFIC")
	}
	header = append(header, "BANDWIDTH LIMIT", "SOURCE", "UPDATED")
	fmt.Fprintln(tw, strings.Join(header, "\t"))

	for _, a := range accounts {
		email := none
		if a.Email != nil {
			email = printable(*a.Email)
		}
		updatedAt, ok := formatInstant(a.UpdatedAt)
		if !ok {
			updatedAt = none
		}
		row := []string{printable(a.ID), email, humanBytes(a.StorageBytes), humanBytes(a.StorageLimit.Value),
			a.StoragePercent() + "%", humanBytes(a.IngressBytes), humanBytes(a.EgressBytes)}
		if columns.Traffic {
			row = append(row, humanBigBytes(a.TrafficBytes()))
		}
		row = append(row, humanBandwidth(a.BandwidthLimit.Value), limitSource(a), updatedAt)
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	return tw.Flush()
}

// humanBandwidth renders a bandwidth limit such as 10Mi/s. A limit of 0 does not throttle.
func humanBandwidth(bps int64) string {
	if bps == 0 {
		return "unlimited"
	}
	return humanBytes(bps) + "/s"
}

// limitSource names which limits the account's quota row sets, in one word where it can.
func limitSource(a Account) string {
	storage := a.StorageLimit.Source == SourceCustom
	bandwidth := a.BandwidthLimit.Source == SourceCustom
	switch {
	case storage && bandwidth:
		return SourceCustom
	case storage:
		return "custom storage"
	case bandwidth:
		return "custom bandwidth"
	}
	return SourceDefault
}

// printable returns s, or s as a quoted Go string when it contains a tab, a line break or
// another character that a terminal would not print as itself. Ids and e-mails come from users,
// so they must not break the alignment or send escape sequences to the terminal.
func printable(s string) string {
	if strings.IndexFunc(s, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
		return strconv.Quote(s)
	}
	return s
}
