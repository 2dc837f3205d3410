package database_test

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"xpod.dev/quota-operator/internal/database"
	"xpod.dev/quota-operator/internal/testutil/pgtest"
)

// TestPgBouncerTransactionMode runs concurrent quota writes through PgBouncer in transaction
// pooling mode with default_query_exec_mode=exec: no prepared statement errors, exact results.
func TestPgBouncerTransactionMode(t *testing.T) {
	t.Parallel()
	binary, err := exec.LookPath("pgbouncer")
	if err != nil {
		// NOTE: .ci/run installs Debian's pgbouncer, so CI always runs this test.
		t.Skip("pgbouncer is not installed (Debian package pgbouncer)")
	}
	pool, direct := pgtest.NewPool(t)
	bouncerURL := startPgBouncer(t, binary, direct)

	ctx := context.Background()
	through, err := database.Connect(ctx, bouncerURL+"&default_query_exec_mode=exec")
	if err != nil {
		t.Fatal(err)
	}
	defer through.Close()

	const workers, writes = 8, 50
	var wg sync.WaitGroup
	errs := make(chan error, workers*writes)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range writes {
				limit := int64(i)
				q := database.Quota{AccountID: fmt.Sprintf("acct-%d-%d", w, i), StorageLimitBytes: &limit}
				if _, err := database.UpsertQuota(ctx, through, q); err != nil {
					errs <- err
				}
				if _, err := database.GetQuota(ctx, through, q.AccountID); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("write through PgBouncer: %v", err)
	}
	var n int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM identity_account_quota").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != workers*writes {
		t.Errorf("%d rows, want %d", n, workers*writes)
	}
}

// startPgBouncer runs PgBouncer in transaction pooling mode in front of the database at target.
func startPgBouncer(t *testing.T, binary, target string) string {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	host, port, _ := net.SplitHostPort(u.Host)
	dbName := strings.TrimPrefix(u.Path, "/")
	listen := freePort(t)
	// PgBouncer runs as the postgres user when the test runs as root, so its folder must be
	// reachable by that user: t.TempDir's parent is private to the test's user.
	dir, err := os.MkdirTemp("", "xpod-quota-pgbouncer-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	config := fmt.Sprintf(`[databases]
%s = host=%s port=%s dbname=%s
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = %d
unix_socket_dir =
auth_type = trust
auth_file = %s/users.txt
pool_mode = transaction
default_pool_size = 4
max_client_conn = 100
ignore_startup_parameters = extra_float_digits
logfile = %s/pgbouncer.log
`, dbName, host, port, dbName, listen, dir, dir)
	if err := os.WriteFile(filepath.Join(dir, "users.txt"), []byte(`"postgres" ""`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ini := filepath.Join(dir, "pgbouncer.ini")
	if err := os.WriteFile(ini, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{ini}
	if os.Getuid() == 0 {
		args = append([]string{"-u", "postgres"}, args...) // PgBouncer refuses to run as root
	}
	cmd := exec.Command(binary, args...)
	var stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start pgbouncer: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	waitListening(t, listen, filepath.Join(dir, "pgbouncer.log"), &stderr)
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", listen, dbName)
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port
}

func waitListening(t *testing.T, port int, logFile string, stderr *strings.Builder) {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			_ = c.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	log, _ := os.ReadFile(logFile)
	t.Fatalf("pgbouncer did not listen on %d:\n%s%s", port, log, stderr.String())
}
