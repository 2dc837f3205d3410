package report

import (
	"encoding/csv"
	"io"
	"strconv"
)

// csvHeader names the columns after identity_account_usage's columns, as the usage export query
// in Xpod's usage tracking documentation does, so scripts written for that query find the same
// names.
var csvHeader = []string{"account_id", "email", "storage_bytes", "storage_limit_bytes", "storage_limit_source",
	"storage_used_percent", "ingress_bytes", "egress_bytes", "bandwidth_limit_bps", "bandwidth_limit_source",
	"updated_at"}

// writeCSV writes a header row and one record per account. encoding/csv quotes fields as RFC
// 4180 requires, so e-mails with commas, quotes or line breaks stay one field. Lines end with
// LF, not the CRLF of RFC 4180. A missing e-mail or updated_at is an empty field.
func writeCSV(w io.Writer, accounts []Account, columns Columns) error {
	out := csv.NewWriter(w)
	header := csvHeader
	if columns.Traffic {
		header = append(header[:len(header):len(header)], "traffic_bytes")
	}
	if err := out.Write(header); err != nil {
		return err
	}
	for _, a := range accounts {
		email := ""
		if a.Email != nil {
			email = *a.Email
		}
		updatedAt, _ := formatInstant(a.UpdatedAt)
		record := []string{
			a.ID,
			email,
			strconv.FormatInt(a.StorageBytes, 10),
			strconv.FormatInt(a.StorageLimit.Value, 10),
			a.StorageLimit.Source,
			a.StoragePercent(),
			strconv.FormatInt(a.IngressBytes, 10),
			strconv.FormatInt(a.EgressBytes, 10),
			strconv.FormatInt(a.BandwidthLimit.Value, 10),
			a.BandwidthLimit.Source,
			updatedAt,
		}
		if columns.Traffic {
			record = append(record, a.TrafficBytes().String())
		}
		if err := out.Write(record); err != nil {
			return err
		}
	}
	out.Flush()
	return out.Error()
}
