package main

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"xpod.dev/quota-operator/internal/testutil/pgtest"
)

func TestCommandLineErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name       string
		args       []string
		wantCode   int
		wantStderr []string
	}{
		{"no command", nil, exitUsage, []string{"Usage:", "quotactl report [flags]"}},
		{"unknown command", []string{"list"}, exitUsage,
			[]string{`quotactl: unknown command "list": use report or top`, "Run 'quotactl --help' for usage."}},
		{"invalid output", []string{"report", "--output", "xml"}, exitUsage,
			[]string{`quotactl: invalid --output "xml": use table, csv or json`,
				"Run 'quotactl report --help' for usage."}},
		{"invalid short output", []string{"top", "-o", "yaml"}, exitUsage,
			[]string{`invalid --output "yaml": use table, csv or json`, "Run 'quotactl top --help' for usage."}},
		{"since without unit", []string{"report", "--since", "30"}, exitUsage,
			[]string{`invalid --since "30": use a positive duration such as 720h, 30d or 1d12h`}},
		{"since with fractional days", []string{"report", "--since", "1.5d"}, exitUsage,
			[]string{`invalid --since "1.5d"`}},
		{"since negative", []string{"report", "--since", "-1h"}, exitUsage, []string{`invalid --since "-1h"`}},
		{"since zero", []string{"top", "--since", "0d"}, exitUsage,
			[]string{`invalid --since "0d"`, "leave --since out to list every account"}},
		{"since too long", []string{"report", "--since", "200000d"}, exitUsage,
			[]string{`invalid --since "200000d": at most 106751 days fit`}},
		{"since days plus too long", []string{"report", "--since", "106751d24h"}, exitUsage,
			[]string{`invalid --since "106751d24h": at most 106751 days fit`}},
		{"fractional storage limit", []string{"report", "--default-storage-limit", "1.5"}, exitUsage,
			[]string{`invalid --default-storage-limit "1.5": use a whole, non-negative number of bytes`}},
		{"negative bandwidth limit", []string{"report", "--default-bandwidth-limit", "-1Mi"}, exitUsage,
			[]string{`invalid --default-bandwidth-limit "-1Mi": use a whole, non-negative number of bytes`}},
		{"storage limit above int64", []string{"report", "--default-storage-limit", "9223372036854775808"},
			exitUsage, []string{`invalid --default-storage-limit "9223372036854775808"`, "up to 2^63-1"}},
		{"binary storage limit above int64", []string{"report", "--default-storage-limit", "8Ei"}, exitUsage,
			[]string{`invalid --default-storage-limit "8Ei"`, "up to 2^63-1"}},
		{"storage limit not a quantity", []string{"report", "--default-storage-limit", "ten"}, exitUsage,
			[]string{`invalid --default-storage-limit "ten": use a quantity of bytes such as 10Gi`}},
		{"limit zero", []string{"top", "--limit", "0"}, exitUsage,
			[]string{`invalid --limit "0": use a whole number of accounts, at least 1`}},
		{"limit not a number", []string{"top", "--limit", "ten"}, exitUsage, []string{`invalid --limit "ten"`}},
		{"unknown metric", []string{"top", "--by", "size"}, exitUsage,
			[]string{`invalid --by "size": use storage, ingress, egress or traffic`}},
		{"limit on report", []string{"report", "--limit", "3"}, exitUsage,
			[]string{"quotactl: unknown flag --limit\n", "Run 'quotactl report --help' for usage."}},
		{"positional argument", []string{"report", "alice"}, exitUsage,
			[]string{`unexpected argument "alice": quotactl report takes flags only`}},
		{"missing flag value", []string{"report", "--since"}, exitUsage, []string{"quotactl: missing value for --since\n"}},
		{"invalid database URL", []string{"report", "--database-url", "postgres://quota:s3cret-pw@[::1/db"},
			exitUsage, []string{"invalid database URL from --database-url: expected postgres://"}},
		{"unreachable database", []string{"top", "--database-url", "postgres://quota:s3cret-pw@127.0.0.1:1/usage"},
			exitRuntime, []string{`cannot connect to PostgreSQL at 127.0.0.1:1 (database "usage", user "quota")`,
				"connection refused"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := runCommand(tc.args...)
			if got.code != tc.wantCode {
				t.Errorf("exit code = %d, want %d; stderr %q", got.code, tc.wantCode, got.stderr)
			}
			for _, want := range tc.wantStderr {
				if !strings.Contains(got.stderr, want) {
					t.Errorf("stderr = %q, want it to contain %q", got.stderr, want)
				}
			}
			if strings.Contains(got.stderr, "s3cret-pw") {
				t.Errorf("stderr contains the password: %q", got.stderr)
			}
			if got.stdout != "" {
				t.Errorf("stdout = %q, want nothing", got.stdout)
			}
		})
	}
}

// TestDatabaseURLSources runs without DATABASE_URL, so it cannot run in parallel with other tests.
func TestDatabaseURLSources(t *testing.T) {
	pool, databaseURL := pgtest.NewPool(t)
	execAll(t, pool, `INSERT INTO identity_account_usage (account_id, storage_bytes) VALUES ('alice', 7)`)
	urlFile := filepath.Join(t.TempDir(), "url")
	if err := os.WriteFile(urlFile, []byte(databaseURL+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DATABASE_URL", "")

	got := runCommand("report")
	if got.code != exitUsage {
		t.Errorf("without a URL: exit code = %d, want %d", got.code, exitUsage)
	}
	wantMessage := "quotactl: no database URL: set --database-url, the DATABASE_URL environment variable or " +
		"--database-url-file\n"
	if !strings.HasPrefix(got.stderr, wantMessage) {
		t.Errorf("without a URL: stderr = %q, want it to start with %q", got.stderr, wantMessage)
	}

	got = runCommand("report", "--database-url-file", "/nonexistent/url")
	if got.code != exitRuntime {
		t.Errorf("missing URL file: exit code = %d, want %d", got.code, exitRuntime)
	}
	if !strings.Contains(got.stderr, `read database URL file "/nonexistent/url"`) {
		t.Errorf("missing URL file: stderr = %q, want it to name the file", got.stderr)
	}

	got = runCommand("report", "-o", "csv", "--database-url-file", urlFile)
	if got.code != exitOK {
		t.Fatalf("URL file: exit code = %d, stderr %q", got.code, got.stderr)
	}
	if !strings.Contains(got.stdout, "\nalice,,7,") {
		t.Errorf("URL file: stdout = %q, want the alice row", got.stdout)
	}

	t.Setenv("DATABASE_URL", databaseURL)
	got = runCommand("report", "-o", "csv")
	if got.code != exitOK || !strings.Contains(got.stdout, "\nalice,,7,") {
		t.Errorf("DATABASE_URL: exit code %d, stdout %q, stderr %q; want the alice row", got.code, got.stdout,
			got.stderr)
	}
}

func TestDatabaseErrors(t *testing.T) {
	t.Parallel()
	pool, databaseURL := pgtest.NewPool(t)
	execAll(t, pool, `DROP TABLE identity_account_usage`)

	got := runCommand("report", "--database-url", databaseURL)
	if got.code != exitRuntime {
		t.Errorf("missing usage table: exit code = %d, want %d", got.code, exitRuntime)
	}
	if !strings.Contains(got.stderr, "table identity_account_usage not found") {
		t.Errorf("missing usage table: stderr = %q, want it to name the table", got.stderr)
	}

	// The test server trusts every user, so it ignores the password and rejects the database name.
	u, err := url.Parse(databaseURL)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(u.User.Username(), "s3cret-pw")
	u.Path = "/quota_missing_database"
	got = runCommand("top", "--database-url", u.String())
	if got.code != exitRuntime {
		t.Errorf("missing database: exit code = %d, want %d", got.code, exitRuntime)
	}
	for _, want := range []string{"cannot connect to PostgreSQL at " + u.Host, `database "quota_missing_database"`,
		"3D000"} {
		if !strings.Contains(got.stderr, want) {
			t.Errorf("missing database: stderr = %q, want it to contain %q", got.stderr, want)
		}
	}
	if strings.Contains(got.stderr, "s3cret-pw") {
		t.Errorf("missing database: stderr contains the password: %q", got.stderr)
	}
}

func TestReportWarnsWhenEmailsUnreadable(t *testing.T) {
	t.Parallel()
	pool, databaseURL := pgtest.NewPool(t)
	u, err := url.Parse(databaseURL)
	if err != nil {
		t.Fatal(err)
	}
	role := "reader_" + strings.TrimPrefix(strings.TrimPrefix(u.Path, "/"), "quota_test_")
	identifier := pgx.Identifier{role}.Sanitize()
	execAll(t, pool, `CREATE TABLE identity_account (id TEXT PRIMARY KEY, payload JSONB)`,
		`INSERT INTO identity_account VALUES ('alice', '{"email": "alice@example.org"}')`,
		`INSERT INTO identity_account_usage (account_id, storage_bytes) VALUES ('alice', 7)`,
		"CREATE ROLE "+identifier+" LOGIN",
		"GRANT SELECT ON identity_account_usage, identity_account_quota TO "+identifier)
	t.Cleanup(func() {
		for _, sql := range []string{"DROP OWNED BY " + identifier, "DROP ROLE " + identifier} {
			if _, err := pool.Exec(context.Background(), sql); err != nil {
				t.Logf("%s: %v", sql, err)
			}
		}
	})
	u.User = url.User(role)

	got := runCommand("report", "-o", "csv", "--database-url", u.String())
	if got.code != exitOK {
		t.Fatalf("exit code = %d, stderr %q", got.code, got.stderr)
	}
	wantWarning := "quotactl: warning: the database user may not read identity_account, so the report has no e-mails"
	if !strings.HasPrefix(got.stderr, wantWarning) {
		t.Errorf("stderr = %q, want it to start with %q", got.stderr, wantWarning)
	}
	if !strings.Contains(got.stdout, "\nalice,,7,") {
		t.Errorf("stdout = %q, want alice without an e-mail", got.stdout)
	}
}
