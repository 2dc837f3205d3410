// Package e2e runs the whole product on one machine (test/stack) and checks what a user
// observes: AccountQuotas become rows, Solid traffic through the enforcer becomes usage rows and
// status figures, limits are enforced, the admin API works, and restarts lose no bytes.
package e2e

import (
	"context"
	"os"
	"os/exec"
	"testing"

	"xpod.dev/quota-operator/internal/testutil/pgtest"
	"xpod.dev/quota-operator/test/stack"
)

// TestEndToEnd runs the steps in order on one stack; each step builds on the state of the last.
func TestEndToEnd(t *testing.T) {
	if _, err := exec.LookPath("node"); err != nil {
		t.Skipf("skipping: the end-to-end test runs Community Solid Server, which needs Node.js: %v", err)
	}
	dbURL := pgtest.NewDatabase(t)
	dir := t.TempDir()
	s, err := stack.Start(context.Background(), stack.Options{Dir: dir, DatabaseURL: dbURL,
		Pods: []string{"alice", "bob", "dave"}})
	if err != nil {
		t.Fatalf("start the stack: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			dumpLogs(t, s)
		}
		s.Stop()
	})
	w := &world{t: t, s: s}
	w.connectDatabase(dbURL)

	steps := []struct {
		name string
		run  func(*world)
	}{
		{"apply samples gives rows", (*world).applySamples},
		{"traffic gives usage and status", (*world).trafficGivesUsage},
		{"lower limit rejects next write", (*world).lowerLimitRejects},
		{"bandwidth limit slows download", (*world).bandwidthLimitSlows},
		{"admin API round trip", (*world).adminRoundTrip},
		{"restarts lose no bytes", (*world).restartsLoseNoBytes},
		{"delete removes row", (*world).deleteRemovesRow},
	}
	for _, step := range steps {
		if !t.Run(step.name, func(t *testing.T) {
			w.t = t
			step.run(w)
		}) {
			t.FailNow()
		}
	}
}

func dumpLogs(t *testing.T, s *stack.Stack) {
	for _, name := range []string{"manager.log", "enforcer.log"} {
		data, err := os.ReadFile(s.LogDir + "/" + name)
		if err != nil {
			continue
		}
		if len(data) > 8000 {
			data = data[len(data)-8000:]
		}
		t.Logf("last lines of %s:\n%s", name, data)
	}
}
