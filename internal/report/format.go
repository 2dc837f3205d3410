package report

import (
	"fmt"
	"io"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
)

// Format is an output format of Write.
type Format string

// Formats of Write.
const (
	// FormatTable is aligned columns with sizes such as 1.2Gi, for reading.
	FormatTable Format = "table"
	// FormatCSV is RFC 4180 CSV with a header row and exact integers.
	FormatCSV Format = "csv"
	// FormatJSON is an array of objects with exact integers.
	FormatJSON Format = "json"
)

// Formats lists every Format in the order that help text shows them.
var Formats = []Format{FormatTable, FormatCSV, FormatJSON}

// Columns selects the optional columns of Write.
type Columns struct {
	// Traffic adds ingress plus egress bytes.
	Traffic bool
}

// Write writes the accounts in the format, in the order given.
func Write(w io.Writer, format Format, accounts []Account, columns Columns) error {
	switch format {
	case FormatTable:
		return writeTable(w, accounts, columns)
	case FormatCSV:
		return writeCSV(w, accounts, columns)
	case FormatJSON:
		return writeJSON(w, accounts, columns)
	}
	return fmt.Errorf("unknown output format %q", format)
}

// formatInstant renders a timestamptz in RFC 3339 in UTC, whatever the time zone of the process
// or of the database session. It returns false for NULL. PostgreSQL's infinite timestamps
// print as "infinity" and "-infinity".
func formatInstant(ts pgtype.Timestamptz) (string, bool) {
	if !ts.Valid {
		return "", false
	}
	switch ts.InfinityModifier {
	case pgtype.Infinity:
		return "infinity", true
	case pgtype.NegativeInfinity:
		return "-infinity", true
	}
	return ts.Time.UTC().Format(time.RFC3339), true
}
