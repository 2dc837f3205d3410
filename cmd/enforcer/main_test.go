package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"xpod.dev/quota-operator/internal/enforcer/ldptest"
	"xpod.dev/quota-operator/internal/testutil/pgtest"
	"xpod.dev/quota-operator/internal/testutil/tcpproxy"
)

// TestMain runs the enforcer's main instead of the tests when the test binary is started as an
// enforcer process by a test.
func TestMain(m *testing.M) {
	if os.Getenv("ENFORCER_TEST_RUN_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

func TestShutdownFlushesAfterDatabaseReturns(t *testing.T) {
	t.Parallel()
	direct, dbURL := pgtest.NewPool(t)
	u, _ := url.Parse(dbURL)
	proxy := tcpproxy.Start(t, u.Host)
	u.Host = proxy.Addr()

	upstream := ldptest.Start(t)
	upstream.Put("/pod-a/file", make([]byte, 1<<20))
	listen, probe := freeAddr(t), freeAddr(t)
	var logs bytes.Buffer
	cmd := exec.Command(os.Args[0], "--listen="+listen, "--upstream="+upstream.URL, "--database-url="+u.String(),
		"--flush-interval=1h", "--metrics-bind-address=0", "--health-probe-bind-address="+probe,
		"--shutdown-timeout=20s", "--default-bandwidth-limit=0")
	cmd.Env = append(os.Environ(), "ENFORCER_TEST_RUN_MAIN=1")
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	waitReady(t, probe, http.StatusOK)

	for range 3 {
		get(t, "http://"+listen+"/pod-a/file")
	}
	req, _ := http.NewRequest("PUT", "http://"+listen+"/pod-a/new", bytes.NewReader(make([]byte, 10<<10)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("PUT: %v %v", resp, err)
	}
	_ = resp.Body.Close()

	proxy.Down()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitReady(t, probe, http.StatusServiceUnavailable)
	time.Sleep(2 * time.Second)
	proxy.Up()

	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("enforcer exited with %v; log:\n%s", err, logs.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("enforcer did not exit within its shutdown timeout; log:\n%s", logs.String())
	}

	var storage, ingress, egress int64
	err = direct.QueryRow(context.Background(), `SELECT storage_bytes, ingress_bytes, egress_bytes
		FROM identity_pod_usage WHERE pod_id = 'pod-a'`).Scan(&storage, &ingress, &egress)
	if err != nil {
		t.Fatalf("read usage: %v; log:\n%s", err, logs.String())
	}
	if storage != 10<<10 || ingress != 10<<10 || egress != 3<<20 {
		t.Errorf("usage after shutdown = storage %d, ingress %d, egress %d; want %d, %d, %d",
			storage, ingress, egress, 10<<10, 10<<10, 3<<20)
	}
	if !strings.Contains(logs.String(), "Final usage flush failed; retrying") {
		t.Errorf("the log shows no retry of the final flush, so the outage was not exercised:\n%s", logs.String())
	}
}

func waitReady(t *testing.T, addr string, want int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == want {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("/readyz did not answer %d", want)
}

func get(t *testing.T, url string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatal(fmt.Errorf("GET %s: status %d, %v", url, resp.StatusCode, err))
	}
}

func TestParseAccountMap(t *testing.T) {
	file := t.TempDir() + "/map"
	if err := os.WriteFile(file, []byte("# pods\npod-b = acct-002\n\npod-c=acct-003 # trailing\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := parseAccountMap("pod-a=acct-001", file)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"pod-a": "acct-001", "pod-b": "acct-002", "pod-c": "acct-003"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("account map = %v, want %v", got, want)
	}
	if _, err := parseAccountMap("pod-a", ""); err == nil {
		t.Errorf("entry without '=' was accepted")
	}
}

func TestParseDefaults(t *testing.T) {
	d, err := parseDefaults("10Gi", "10Mi")
	if err != nil || d.StorageBytes != 10<<30 || d.BandwidthBps != 10<<20 {
		t.Errorf("parseDefaults(10Gi, 10Mi) = %+v, %v", d, err)
	}
	for _, bad := range []string{"-1", "1.5", "10Gx"} {
		if _, err := parseDefaults(bad, "0"); err == nil {
			t.Errorf("storage default %q was accepted", bad)
		}
	}
}

func TestRecountCommand(t *testing.T) {
	t.Parallel()
	direct, dbURL := pgtest.NewPool(t)
	upstream := ldptest.Start(t)
	upstream.Put("/pod-a/a", make([]byte, 1000))
	upstream.Put("/pod-a/sub/b", make([]byte, 2000))
	upstream.Put("/pod-a/sub/b.acl", make([]byte, 30))
	upstream.Put("/pod-a/sub/b.meta", make([]byte, 40)) // not counted without --count-descriptions
	upstream.Put("/pod-b/c", make([]byte, 5))

	cmd := exec.Command(os.Args[0], "recount", "--pod=pod-a", "--account-map=pod-a=acct-001",
		"--upstream="+upstream.URL, "--database-url="+dbURL)
	cmd.Env = append(os.Environ(), "ENFORCER_TEST_RUN_MAIN=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("recount failed: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "pod pod-a (account acct-001): storage 0 -> 3030") {
		t.Errorf("recount output lacks the summary:\n%s", out)
	}
	var pod, account int64
	err = direct.QueryRow(context.Background(), `SELECT p.storage_bytes, a.storage_bytes FROM identity_pod_usage p
		JOIN identity_account_usage a ON a.account_id = p.account_id WHERE p.pod_id = 'pod-a'`).Scan(&pod, &account)
	if err != nil || pod != 3030 || account != 3030 {
		t.Errorf("storage after recount: pod %d, account %d (%v); want 3030 each", pod, account, err)
	}

	missing := exec.Command(os.Args[0], "recount", "--upstream="+upstream.URL, "--database-url="+dbURL)
	missing.Env = cmd.Env
	if out, err := missing.CombinedOutput(); err == nil || !strings.Contains(string(out), "missing --pod") {
		t.Errorf("recount without --pod: %v\n%s", err, out)
	}
}
