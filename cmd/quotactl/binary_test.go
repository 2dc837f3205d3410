package main

import (
	"context"
	"encoding/csv"
	"maps"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"xpod.dev/quota-operator/internal/database"
	"xpod.dev/quota-operator/internal/testutil/pgtest"
)

func TestPluginBinaryName(t *testing.T) {
	t.Parallel()
	plugin := buildPlugin(t)
	databaseURL := seedAccounts(t)

	help := runBinary(t, plugin, nil, "--help")
	if help.code != exitOK || !strings.Contains(help.stdout, "kubectl quota report [flags]") {
		t.Errorf("kubectl-quota --help: exit code %d, stdout %q; want the usage of kubectl quota", help.code,
			help.stdout)
	}

	invalid := runBinary(t, plugin, nil, "report", "-o", "xml")
	if invalid.code != exitUsage {
		t.Errorf("kubectl-quota report -o xml: exit code = %d, want %d", invalid.code, exitUsage)
	}
	wantError := "kubectl quota: invalid --output \"xml\": use table, csv or json\n" +
		"Run 'kubectl quota report --help' for usage.\n"
	if invalid.stderr != wantError {
		t.Errorf("kubectl-quota report -o xml: stderr = %q, want %q", invalid.stderr, wantError)
	}

	// The same file under another name is quotactl and prints the same report.
	quotactl := filepath.Join(t.TempDir(), "quotactl")
	if err := os.Symlink(plugin, quotactl); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"report", "-o", "csv"}, {"top", "--by", "egress", "-o", "json"}} {
		args = append(args, "--database-url", databaseURL)
		fromPlugin := runBinary(t, plugin, nil, args...)
		fromQuotactl := runBinary(t, quotactl, nil, args...)
		inProcess := runCommand(args...)
		if fromPlugin.code != exitOK || fromQuotactl.code != exitOK {
			t.Fatalf("%v: exit codes %d and %d, stderr %q and %q", args, fromPlugin.code, fromQuotactl.code,
				fromPlugin.stderr, fromQuotactl.stderr)
		}
		if fromPlugin.stdout != inProcess.stdout {
			t.Errorf("%v as kubectl-quota printed:\n%s\nwant:\n%s", args, fromPlugin.stdout, inProcess.stdout)
		}
		if fromQuotactl.stdout != inProcess.stdout {
			t.Errorf("%v as quotactl printed:\n%s\nwant:\n%s", args, fromQuotactl.stdout, inProcess.stdout)
		}
	}
	usage := runBinary(t, quotactl, nil)
	if usage.code != exitUsage || !strings.Contains(usage.stderr, "quotactl report [flags]") {
		t.Errorf("quotactl without a command: exit code %d, stderr %q; want the usage of quotactl", usage.code,
			usage.stderr)
	}
}

// TestKubectlRunsPlugin runs "kubectl quota" with kubectl's plugin lookup on PATH.
func TestKubectlRunsPlugin(t *testing.T) {
	t.Parallel()
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		t.Skip("kubectl is not on PATH")
	}
	plugin := buildPlugin(t)
	databaseURL := seedAccounts(t)
	path := []string{"PATH=" + filepath.Dir(plugin) + string(os.PathListSeparator) + os.Getenv("PATH")}

	args := []string{"top", "--by", "traffic", "-o", "csv", "--database-url", databaseURL}
	got := runBinary(t, kubectl, path, append([]string{"quota"}, args...)...)
	want := runCommand(args...)
	if got.code != exitOK {
		t.Fatalf("kubectl quota top: exit code %d, stderr %q", got.code, got.stderr)
	}
	if got.stdout != want.stdout {
		t.Errorf("kubectl quota top printed:\n%s\nwant:\n%s", got.stdout, want.stdout)
	}

	invalid := runBinary(t, kubectl, path, "quota", "report", "--since", "soon")
	if invalid.code != exitUsage {
		t.Errorf("kubectl quota report --since soon: exit code = %d, want %d", invalid.code, exitUsage)
	}
	if !strings.HasPrefix(invalid.stderr, `kubectl quota: invalid --since "soon"`) {
		t.Errorf("kubectl quota report --since soon: stderr = %q", invalid.stderr)
	}
}

// TestBinaryInForeignTimeZones runs the binary with the process time zone at UTC-5 or UTC-4
// and the database session time zone at UTC+14, and checks the printed instants and --since.
func TestBinaryInForeignTimeZones(t *testing.T) {
	t.Parallel()
	plugin := buildPlugin(t)
	pool, databaseURL := pgtest.NewPool(t)
	execAll(t, pool, `INSERT INTO identity_account_usage (account_id, updated_at) VALUES
		('fixed', '2024-03-10T06:30:00Z'),
		('recent', NOW() - INTERVAL '1 hour'),
		('stale', NOW() - INTERVAL '3 hours')`)

	u, err := url.Parse(databaseURL)
	if err != nil {
		t.Fatal(err)
	}
	query := u.Query()
	query.Set("timezone", "Pacific/Kiritimati")
	u.RawQuery = query.Encode()
	sessionURL := u.String()
	assertSessionTimeZone(t, sessionURL, "Pacific/Kiritimati")
	env := []string{"TZ=America/New_York", database.EnvURL + "=" + sessionURL}

	all := runBinary(t, plugin, env, "report", "-o", "csv")
	if all.code != exitOK {
		t.Fatalf("report: exit code %d, stderr %q", all.code, all.stderr)
	}
	updatedAt := readCSVColumn(t, all.stdout, "updated_at")
	if got := updatedAt["fixed"]; got != "2024-03-10T06:30:00Z" {
		t.Errorf("fixed updated_at = %q, want 2024-03-10T06:30:00Z", got)
	}
	recent, err := time.Parse(time.RFC3339, updatedAt["recent"])
	if err != nil {
		t.Fatalf("recent updated_at %q: %v", updatedAt["recent"], err)
	}
	if offset := time.Since(recent) - time.Hour; offset < -time.Minute || offset > time.Minute {
		t.Errorf("recent updated_at = %s, want about one hour ago (%s)", recent, time.Now().UTC().Add(-time.Hour))
	}

	table := runBinary(t, plugin, env, "report")
	if !strings.Contains(table.stdout, "2024-03-10T06:30:00Z") {
		t.Errorf("report table = %q, want the instant 2024-03-10T06:30:00Z", table.stdout)
	}

	since := runBinary(t, plugin, env, "report", "-o", "csv", "--since", "2h")
	if since.code != exitOK {
		t.Fatalf("report --since 2h: exit code %d, stderr %q", since.code, since.stderr)
	}
	listed := readCSVColumn(t, since.stdout, "account_id")
	if got := slices.Sorted(maps.Keys(listed)); !slices.Equal(got, []string{"recent"}) {
		t.Errorf("report --since 2h listed %v, want [recent]", got)
	}

	top := runBinary(t, plugin, env, "top", "-o", "csv", "--since", "1d")
	listed = readCSVColumn(t, top.stdout, "account_id")
	if got := slices.Sorted(maps.Keys(listed)); !slices.Equal(got, []string{"recent", "stale"}) {
		t.Errorf("top --since 1d listed %v, want [recent stale]", got)
	}
}

func assertSessionTimeZone(t *testing.T, databaseURL, want string) {
	t.Helper()
	ctx := context.Background()
	pool, err := database.Connect(ctx, databaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	var zone string
	if err := pool.QueryRow(ctx, "SHOW TIME ZONE").Scan(&zone); err != nil {
		t.Fatal(err)
	}
	if zone != want {
		t.Fatalf("session time zone = %q, want %q", zone, want)
	}
}

// readCSVColumn maps each record's account_id to its value in the named column.
func readCSVColumn(t *testing.T, text, column string) map[string]string {
	t.Helper()
	records, err := csv.NewReader(strings.NewReader(text)).ReadAll()
	if err != nil || len(records) == 0 {
		t.Fatalf("read CSV %q: %v", text, err)
	}
	index := slices.Index(records[0], column)
	if index < 0 {
		t.Fatalf("CSV header %v has no column %s", records[0], column)
	}
	values := map[string]string{}
	for _, record := range records[1:] {
		values[record[0]] = record[index]
	}
	return values
}
