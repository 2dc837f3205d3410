package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
)

// formatFixture covers a custom and a default limit of each kind, a missing e-mail, an e-mail
// that CSV must quote, 2^63-1 values, a NULL and an infinite updated_at, and control characters.
func formatFixture() []Account {
	kiritimati := time.FixedZone("UTC+14", 14*60*60)
	alice := "alice@example.org"
	dave := `"dave, jr"@example.org`
	eve := "eve\n@example.org"
	return []Account{
		{
			ID: "alice", Email: &alice, StorageBytes: 1288490189, IngressBytes: 5000, EgressBytes: 70000000,
			UpdatedAt:      pgtype.Timestamptz{Time: time.Date(2024, 3, 10, 20, 30, 0, 0, kiritimati), Valid: true},
			StorageLimit:   Limit{Value: 20 << 30, Source: SourceCustom},
			BandwidthLimit: Limit{Value: 10 << 20, Source: SourceDefault},
		},
		{
			ID:             "bob",
			StorageLimit:   Limit{Value: 10 << 30, Source: SourceDefault},
			BandwidthLimit: Limit{Value: 10 << 20, Source: SourceDefault},
		},
		{
			ID: "dave", Email: &dave, StorageBytes: math.MaxInt64, IngressBytes: math.MaxInt64,
			EgressBytes:    math.MaxInt64,
			UpdatedAt:      pgtype.Timestamptz{Valid: true, InfinityModifier: pgtype.Infinity},
			StorageLimit:   Limit{Value: math.MaxInt64, Source: SourceCustom},
			BandwidthLimit: Limit{Value: 0, Source: SourceCustom},
		},
		{
			ID: "eve\t1", Email: &eve, StorageBytes: 1, IngressBytes: 2, EgressBytes: 3,
			UpdatedAt:      pgtype.Timestamptz{Time: time.Date(2025, 1, 2, 3, 4, 5, 600, time.UTC), Valid: true},
			StorageLimit:   Limit{Value: 0, Source: SourceCustom},
			BandwidthLimit: Limit{Value: math.MaxInt64, Source: SourceCustom},
		},
	}
}

func TestWriteFormats(t *testing.T) {
	cases := []struct {
		format  Format
		columns Columns
		want    string
	}{
		{FormatTable, Columns{}, `ACCOUNT    EMAIL                    STORAGE   STORAGE LIMIT   USED     INGRESS   EGRESS   BANDWIDTH LIMIT   SOURCE           UPDATED
alice      alice@example.org        1.2Gi     20Gi            6.0%     4.9Ki     66.8Mi   10Mi/s            custom storage   2024-03-10T06:30:00Z
bob        <none>                   0         10Gi            0.0%     0         0        10Mi/s            default          <none>
dave       "dave, jr"@example.org   8Ei       8Ei             100.0%   8Ei       8Ei      unlimited         custom           infinity
"eve\t1"   "eve\n@example.org"      1         0               100.0%   2         3        8Ei/s             custom           2025-01-02T03:04:05Z
`},
		{FormatTable, Columns{Traffic: true}, `ACCOUNT    EMAIL                    STORAGE   STORAGE LIMIT   USED     INGRESS   EGRESS   TRAFFIC   BANDWIDTH LIMIT   SOURCE           UPDATED
alice      alice@example.org        1.2Gi     20Gi            6.0%     4.9Ki     66.8Mi   66.8Mi    10Mi/s            custom storage   2024-03-10T06:30:00Z
bob        <none>                   0         10Gi            0.0%     0         0        0         10Mi/s            default          <none>
dave       "dave, jr"@example.org   8Ei       8Ei             100.0%   8Ei       8Ei      16Ei      unlimited         custom           infinity
"eve\t1"   "eve\n@example.org"      1         0               100.0%   2         3        5         8Ei/s             custom           2025-01-02T03:04:05Z
`},
		{FormatCSV, Columns{}, `account_id,email,storage_bytes,storage_limit_bytes,storage_limit_source,storage_used_percent,ingress_bytes,egress_bytes,bandwidth_limit_bps,bandwidth_limit_source,updated_at
alice,alice@example.org,1288490189,21474836480,custom,6.0,5000,70000000,10485760,default,2024-03-10T06:30:00Z
bob,,0,10737418240,default,0.0,0,0,10485760,default,
dave,"""dave, jr""@example.org",9223372036854775807,9223372036854775807,custom,100.0,9223372036854775807,9223372036854775807,0,custom,infinity
` +
			"eve\t1,\"eve\n@example.org\",1,0,custom,100.0,2,3,9223372036854775807,custom,2025-01-02T03:04:05Z\n"},
		{FormatCSV, Columns{Traffic: true}, `account_id,email,storage_bytes,storage_limit_bytes,storage_limit_source,storage_used_percent,ingress_bytes,egress_bytes,bandwidth_limit_bps,bandwidth_limit_source,updated_at,traffic_bytes
alice,alice@example.org,1288490189,21474836480,custom,6.0,5000,70000000,10485760,default,2024-03-10T06:30:00Z,70005000
bob,,0,10737418240,default,0.0,0,0,10485760,default,,0
dave,"""dave, jr""@example.org",9223372036854775807,9223372036854775807,custom,100.0,9223372036854775807,9223372036854775807,0,custom,infinity,18446744073709551614
` +
			"eve\t1,\"eve\n@example.org\",1,0,custom,100.0,2,3,9223372036854775807,custom,2025-01-02T03:04:05Z,5\n"},
		{FormatJSON, Columns{}, `[
  {
    "accountId": "alice",
    "email": "alice@example.org",
    "storageBytes": 1288490189,
    "storageLimitBytes": 21474836480,
    "storageLimitSource": "custom",
    "storageUsedPercent": 6.0,
    "ingressBytes": 5000,
    "egressBytes": 70000000,
    "bandwidthLimitBps": 10485760,
    "bandwidthLimitSource": "default",
    "updatedAt": "2024-03-10T06:30:00Z"
  },
  {
    "accountId": "bob",
    "email": null,
    "storageBytes": 0,
    "storageLimitBytes": 10737418240,
    "storageLimitSource": "default",
    "storageUsedPercent": 0.0,
    "ingressBytes": 0,
    "egressBytes": 0,
    "bandwidthLimitBps": 10485760,
    "bandwidthLimitSource": "default",
    "updatedAt": null
  },
  {
    "accountId": "dave",
    "email": "\"dave, jr\"@example.org",
    "storageBytes": 9223372036854775807,
    "storageLimitBytes": 9223372036854775807,
    "storageLimitSource": "custom",
    "storageUsedPercent": 100.0,
    "ingressBytes": 9223372036854775807,
    "egressBytes": 9223372036854775807,
    "bandwidthLimitBps": 0,
    "bandwidthLimitSource": "custom",
    "updatedAt": "infinity"
  },
  {
    "accountId": "eve\t1",
    "email": "eve\n@example.org",
    "storageBytes": 1,
    "storageLimitBytes": 0,
    "storageLimitSource": "custom",
    "storageUsedPercent": 100.0,
    "ingressBytes": 2,
    "egressBytes": 3,
    "bandwidthLimitBps": 9223372036854775807,
    "bandwidthLimitSource": "custom",
    "updatedAt": "2025-01-02T03:04:05Z"
  }
]
`},
		{FormatJSON, Columns{Traffic: true}, `[
  {
    "accountId": "alice",
    "email": "alice@example.org",
    "storageBytes": 1288490189,
    "storageLimitBytes": 21474836480,
    "storageLimitSource": "custom",
    "storageUsedPercent": 6.0,
    "ingressBytes": 5000,
    "egressBytes": 70000000,
    "bandwidthLimitBps": 10485760,
    "bandwidthLimitSource": "default",
    "updatedAt": "2024-03-10T06:30:00Z",
    "trafficBytes": 70005000
  },
  {
    "accountId": "bob",
    "email": null,
    "storageBytes": 0,
    "storageLimitBytes": 10737418240,
    "storageLimitSource": "default",
    "storageUsedPercent": 0.0,
    "ingressBytes": 0,
    "egressBytes": 0,
    "bandwidthLimitBps": 10485760,
    "bandwidthLimitSource": "default",
    "updatedAt": null,
    "trafficBytes": 0
  },
  {
    "accountId": "dave",
    "email": "\"dave, jr\"@example.org",
    "storageBytes": 9223372036854775807,
    "storageLimitBytes": 9223372036854775807,
    "storageLimitSource": "custom",
    "storageUsedPercent": 100.0,
    "ingressBytes": 9223372036854775807,
    "egressBytes": 9223372036854775807,
    "bandwidthLimitBps": 0,
    "bandwidthLimitSource": "custom",
    "updatedAt": "infinity",
    "trafficBytes": 18446744073709551614
  },
  {
    "accountId": "eve\t1",
    "email": "eve\n@example.org",
    "storageBytes": 1,
    "storageLimitBytes": 0,
    "storageLimitSource": "custom",
    "storageUsedPercent": 100.0,
    "ingressBytes": 2,
    "egressBytes": 3,
    "bandwidthLimitBps": 9223372036854775807,
    "bandwidthLimitSource": "custom",
    "updatedAt": "2025-01-02T03:04:05Z",
    "trafficBytes": 5
  }
]
`},
	}
	for _, tc := range cases {
		var out bytes.Buffer
		if err := Write(&out, tc.format, formatFixture(), tc.columns); err != nil {
			t.Fatalf("Write %s: %v", tc.format, err)
		}
		if got := out.String(); got != tc.want {
			t.Errorf("Write %s with %+v:\n%s\nwant:\n%s", tc.format, tc.columns, got, tc.want)
		}
	}
}

func TestWriteNoAccounts(t *testing.T) {
	cases := []struct {
		format Format
		want   string
	}{
		{FormatTable, "ACCOUNT   EMAIL   STORAGE   STORAGE LIMIT   USED   INGRESS   EGRESS   BANDWIDTH LIMIT   SOURCE   UPDATED\n"},
		{FormatCSV, "account_id,email,storage_bytes,storage_limit_bytes,storage_limit_source,storage_used_percent," +
			"ingress_bytes,egress_bytes,bandwidth_limit_bps,bandwidth_limit_source,updated_at\n"},
		{FormatJSON, "[]\n"},
	}
	for _, tc := range cases {
		var out bytes.Buffer
		if err := Write(&out, tc.format, nil, Columns{}); err != nil {
			t.Fatalf("Write %s: %v", tc.format, err)
		}
		if got := out.String(); got != tc.want {
			t.Errorf("Write %s of no accounts = %q, want %q", tc.format, got, tc.want)
		}
	}
}

func TestWriteUnknownFormat(t *testing.T) {
	if err := Write(&bytes.Buffer{}, Format("xml"), nil, Columns{}); err == nil {
		t.Error("Write with format xml succeeded, want an error")
	}
}

func TestWriteCSVRoundTrip(t *testing.T) {
	var out bytes.Buffer
	if err := Write(&out, FormatCSV, formatFixture(), Columns{Traffic: true}); err != nil {
		t.Fatal(err)
	}
	records, err := csv.NewReader(&out).ReadAll()
	if err != nil {
		t.Fatalf("read the CSV back: %v", err)
	}
	if len(records) != 5 {
		t.Fatalf("read %d records, want a header and 4 accounts", len(records))
	}
	wantEmails := []string{"alice@example.org", "", `"dave, jr"@example.org`, "eve\n@example.org"}
	for i, want := range wantEmails {
		if got := records[i+1][1]; got != want {
			t.Errorf("record %d email = %q, want %q", i+1, got, want)
		}
	}
	if got := records[3][2]; got != "9223372036854775807" {
		t.Errorf("dave storage_bytes = %q, want 9223372036854775807", got)
	}
	if got := records[3][11]; got != "18446744073709551614" {
		t.Errorf("dave traffic_bytes = %q, want 18446744073709551614", got)
	}
}

func TestWriteJSONRoundTrip(t *testing.T) {
	var out bytes.Buffer
	if err := Write(&out, FormatJSON, formatFixture(), Columns{Traffic: true}); err != nil {
		t.Fatal(err)
	}
	decoder := json.NewDecoder(&out)
	decoder.UseNumber()
	var items []map[string]any
	if err := decoder.Decode(&items); err != nil {
		t.Fatalf("decode the JSON: %v", err)
	}
	if len(items) != 4 {
		t.Fatalf("decoded %d items, want 4", len(items))
	}
	dave := items[2]
	for _, key := range []string{"storageBytes", "storageLimitBytes", "ingressBytes", "egressBytes"} {
		if got := dave[key]; got != json.Number("9223372036854775807") {
			t.Errorf("dave %s = %v, want 9223372036854775807", key, got)
		}
	}
	if got := dave["trafficBytes"]; got != json.Number("18446744073709551614") {
		t.Errorf("dave trafficBytes = %v, want 18446744073709551614", got)
	}
	if got, ok := items[1]["email"]; !ok || got != nil {
		t.Errorf("bob email = %v (present %t), want null", got, ok)
	}
	if got := items[0]["updatedAt"]; got != "2024-03-10T06:30:00Z" {
		t.Errorf("alice updatedAt = %v, want 2024-03-10T06:30:00Z", got)
	}
}
