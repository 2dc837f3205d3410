package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"xpod.dev/quota-operator/internal/database"
	"xpod.dev/quota-operator/internal/testutil/pgtest"
)

// binaryDir holds the binaries that tests build, removed after the run.
var binaryDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "quotactl-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binaryDir = dir
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

var (
	buildOnce  sync.Once
	buildError error
)

// buildPlugin builds the command once per test run as binaryDir/kubectl-quota.
func buildPlugin(t *testing.T) string {
	t.Helper()
	path := filepath.Join(binaryDir, pluginBinary)
	buildOnce.Do(func() {
		output, err := exec.Command("go", "build", "-o", path, ".").CombinedOutput()
		if err != nil {
			buildError = fmt.Errorf("go build: %v\n%s", err, output)
		}
	})
	if buildError != nil {
		t.Fatal(buildError)
	}
	return path
}

// result is the outcome of one run of the command.
type result struct {
	stdout string
	stderr string
	code   int
}

// runCommand runs the command in this process under the name quotactl.
func runCommand(args ...string) result {
	var stdout, stderr bytes.Buffer
	app := &cli{program: "quotactl", stdout: &stdout, stderr: &stderr}
	code := app.run(context.Background(), args)
	return result{stdout: stdout.String(), stderr: stderr.String(), code: code}
}

// runBinary runs a built binary with the environment of the test minus DATABASE_URL, plus env.
func runBinary(t *testing.T, path string, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(path, args...)
	for _, variable := range os.Environ() {
		if !strings.HasPrefix(variable, database.EnvURL+"=") {
			cmd.Env = append(cmd.Env, variable)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if exitErr, ok := err.(*exec.ExitError); ok {
		code = exitErr.ExitCode()
	} else if err != nil {
		t.Fatalf("run %s: %v", path, err)
	}
	return result{stdout: stdout.String(), stderr: stderr.String(), code: code}
}

func execAll(t *testing.T, pool *pgxpool.Pool, statements ...string) {
	t.Helper()
	for _, sql := range statements {
		if _, err := pool.Exec(context.Background(), sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
}

// seedAccounts creates a database with Xpod's identity_account table and three accounts. alice
// has a custom storage limit, and bob has no e-mail and no quota row. carol has 2^63-1 counters,
// an e-mail that CSV must quote and a custom bandwidth limit of 0.
func seedAccounts(t *testing.T) string {
	t.Helper()
	pool, url := pgtest.NewPool(t)
	execAll(t, pool,
		`CREATE TABLE identity_account (id TEXT PRIMARY KEY, payload JSONB)`,
		`INSERT INTO identity_account VALUES
			('alice', '{"email": "alice@example.org"}'),
			('bob', '{}'),
			('carol', '{"email": "\"smith, carol\"@example.org"}')`,
		`INSERT INTO identity_account_usage VALUES
			('alice', 1288490189, 5000, 70000000, '2024-03-10T06:30:00Z'),
			('bob', 512, 0, 0, '2024-03-09T23:59:59.999Z'),
			('carol', 9223372036854775807, 9223372036854775807, 9223372036854775807, '2024-03-11T00:00:00Z')`,
		`INSERT INTO identity_account_quota (account_id, storage_limit_bytes, bandwidth_limit_bps) VALUES
			('alice', 21474836480, NULL), ('carol', NULL, 0)`)
	return url
}

func TestCommandOutputFormats(t *testing.T) {
	t.Parallel()
	url := seedAccounts(t)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"report"}, `ACCOUNT   EMAIL                        STORAGE   STORAGE LIMIT   USED             INGRESS   EGRESS   BANDWIDTH LIMIT   SOURCE             UPDATED
alice     alice@example.org            1.2Gi     20Gi            6.0%             4.9Ki     66.8Mi   10Mi/s            custom storage     2024-03-10T06:30:00Z
bob       <none>                       512       10Gi            0.0%             0         0        10Mi/s            default            2024-03-09T23:59:59Z
carol     "smith, carol"@example.org   8Ei       10Gi            85899345919.9%   8Ei       8Ei      unlimited         custom bandwidth   2024-03-11T00:00:00Z
`},
		{[]string{"report", "--output", "csv"}, `account_id,email,storage_bytes,storage_limit_bytes,storage_limit_source,storage_used_percent,ingress_bytes,egress_bytes,bandwidth_limit_bps,bandwidth_limit_source,updated_at
alice,alice@example.org,1288490189,21474836480,custom,6.0,5000,70000000,10485760,default,2024-03-10T06:30:00Z
bob,,512,10737418240,default,0.0,0,0,10485760,default,2024-03-09T23:59:59Z
carol,"""smith, carol""@example.org",9223372036854775807,10737418240,default,85899345919.9,9223372036854775807,9223372036854775807,0,custom,2024-03-11T00:00:00Z
`},
		{[]string{"report", "-o", "json"}, `[
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
    "storageBytes": 512,
    "storageLimitBytes": 10737418240,
    "storageLimitSource": "default",
    "storageUsedPercent": 0.0,
    "ingressBytes": 0,
    "egressBytes": 0,
    "bandwidthLimitBps": 10485760,
    "bandwidthLimitSource": "default",
    "updatedAt": "2024-03-09T23:59:59Z"
  },
  {
    "accountId": "carol",
    "email": "\"smith, carol\"@example.org",
    "storageBytes": 9223372036854775807,
    "storageLimitBytes": 10737418240,
    "storageLimitSource": "default",
    "storageUsedPercent": 85899345919.9,
    "ingressBytes": 9223372036854775807,
    "egressBytes": 9223372036854775807,
    "bandwidthLimitBps": 0,
    "bandwidthLimitSource": "custom",
    "updatedAt": "2024-03-11T00:00:00Z"
  }
]
`},
		{[]string{"top", "--by", "traffic", "--limit", "2"}, `ACCOUNT   EMAIL                        STORAGE   STORAGE LIMIT   USED             INGRESS   EGRESS   TRAFFIC   BANDWIDTH LIMIT   SOURCE             UPDATED
carol     "smith, carol"@example.org   8Ei       10Gi            85899345919.9%   8Ei       8Ei      16Ei      unlimited         custom bandwidth   2024-03-11T00:00:00Z
alice     alice@example.org            1.2Gi     20Gi            6.0%             4.9Ki     66.8Mi   66.8Mi    10Mi/s            custom storage     2024-03-10T06:30:00Z
`},
		{[]string{"top", "--by", "storage", "-o", "csv"}, `account_id,email,storage_bytes,storage_limit_bytes,storage_limit_source,storage_used_percent,ingress_bytes,egress_bytes,bandwidth_limit_bps,bandwidth_limit_source,updated_at,traffic_bytes
carol,"""smith, carol""@example.org",9223372036854775807,10737418240,default,85899345919.9,9223372036854775807,9223372036854775807,0,custom,2024-03-11T00:00:00Z,18446744073709551614
alice,alice@example.org,1288490189,21474836480,custom,6.0,5000,70000000,10485760,default,2024-03-10T06:30:00Z,70005000
bob,,512,10737418240,default,0.0,0,0,10485760,default,2024-03-09T23:59:59Z,0
`},
		{[]string{"top", "--by", "ingress", "--limit", "1", "--output=json"}, `[
  {
    "accountId": "carol",
    "email": "\"smith, carol\"@example.org",
    "storageBytes": 9223372036854775807,
    "storageLimitBytes": 10737418240,
    "storageLimitSource": "default",
    "storageUsedPercent": 85899345919.9,
    "ingressBytes": 9223372036854775807,
    "egressBytes": 9223372036854775807,
    "bandwidthLimitBps": 0,
    "bandwidthLimitSource": "custom",
    "updatedAt": "2024-03-11T00:00:00Z",
    "trafficBytes": 18446744073709551614
  }
]
`},
		{[]string{"report", "-o", "csv", "--default-storage-limit", "1Gi", "--default-bandwidth-limit", "0"}, `account_id,email,storage_bytes,storage_limit_bytes,storage_limit_source,storage_used_percent,ingress_bytes,egress_bytes,bandwidth_limit_bps,bandwidth_limit_source,updated_at
alice,alice@example.org,1288490189,21474836480,custom,6.0,5000,70000000,0,default,2024-03-10T06:30:00Z
bob,,512,1073741824,default,0.0,0,0,0,default,2024-03-09T23:59:59Z
carol,"""smith, carol""@example.org",9223372036854775807,1073741824,default,858993459199.9,9223372036854775807,9223372036854775807,0,custom,2024-03-11T00:00:00Z
`},
	}
	for _, tc := range cases {
		got := runCommand(append(tc.args, "--database-url", url)...)
		if got.code != exitOK {
			t.Errorf("%v: exit code %d, stderr %q", tc.args, got.code, got.stderr)
			continue
		}
		if got.stdout != tc.want {
			t.Errorf("%v printed:\n%s\nwant:\n%s", tc.args, got.stdout, tc.want)
		}
	}
}
