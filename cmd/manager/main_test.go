package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"xpod.dev/quota-operator/internal/database"
	"xpod.dev/quota-operator/internal/testutil/kubetest"
	"xpod.dev/quota-operator/internal/testutil/pgtest"
)

// TestManagerAppliesSamples runs the built manager binary against a real API server and
// PostgreSQL, applies config/samples with kubectl and checks the rows it writes.
func TestManagerAppliesSamples(t *testing.T) {
	env, err := kubetest.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	pool, dbURL := pgtest.NewPool(t)
	dir := t.TempDir()
	kubeconfig := filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(kubeconfig, env.KubeConfig, 0o600); err != nil {
		t.Fatal(err)
	}

	binary := filepath.Join(dir, "manager")
	build := exec.Command("go", "build", "-o", binary, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build manager: %v\n%s", err, out)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var logs bytes.Buffer
	manager := exec.CommandContext(ctx, binary, "--kubeconfig", kubeconfig, "--database-url", dbURL,
		"--metrics-bind-address", "0", "--health-probe-bind-address", "127.0.0.1:0", "--resync-period", "2s")
	manager.Stdout, manager.Stderr = &logs, &logs
	if err := manager.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		_ = manager.Wait()
		if t.Failed() {
			t.Logf("manager output:\n%s", logs.String())
		}
	})

	kubectl := filepath.Join(os.Getenv("KUBEBUILDER_ASSETS"), "kubectl")
	apply := exec.Command(kubectl, "--kubeconfig", kubeconfig, "apply", "-f",
		filepath.Join(kubetest.RepoRoot(), "config", "samples", "quota_v1alpha1_accountquota.yaml"))
	if out, err := apply.CombinedOutput(); err != nil {
		t.Fatalf("kubectl apply: %v\n%s", err, out)
	}

	want := map[string][2]string{
		"alice": {"21474836480", "5242880"},
		"bob":   {"0", "NULL"},
		"carol": {"NULL", "0"},
	}
	deadline := time.Now().Add(30 * time.Second)
	for id, limits := range want {
		for {
			got, err := readRow(ctx, pool, id)
			if err == nil && got == limits {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("row of %s = %v (error %v), want %v", id, got, err, limits)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}

	get := exec.Command(kubectl, "--kubeconfig", kubeconfig, "get", "accountquotas", "-n", "default")
	out, err := get.CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl get: %v\n%s", err, out)
	}
	for _, column := range []string{"ACCOUNT", "STORAGE", "USED%", "IN/S", "OUT/S", "READY", "0/20Gi", "True"} {
		if !bytes.Contains(out, []byte(column)) {
			t.Errorf("kubectl get output lacks %q:\n%s", column, out)
		}
	}
}

func readRow(ctx context.Context, pool database.Querier, id string) ([2]string, error) {
	q, err := database.GetQuota(ctx, pool, id)
	if err != nil {
		return [2]string{}, err
	}
	return [2]string{formatLimit(q.StorageLimitBytes), formatLimit(q.BandwidthLimitBps)}, nil
}

func formatLimit(v *int64) string {
	if v == nil {
		return "NULL"
	}
	return fmt.Sprint(*v)
}
