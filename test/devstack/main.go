// Command devstack runs the whole product locally for `make dev`: a control plane, PostgreSQL
// (DATABASE_URL when set), the manager with its admin API, the enforcer and Community Solid
// Server with the pods alice and bob. It applies config/samples, sends some traffic, prints
// `kubectl get accountquotas` and waits for Ctrl-C, which stops everything and removes its
// temporary state. Logs stay in the printed folder.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"xpod.dev/quota-operator/test/stack"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "devstack:", err)
		os.Exit(1)
	}
}

func run() error {
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()

	dir, err := os.MkdirTemp("", "xpod-quota-dev-")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(dir) }()
	logDir, err := os.MkdirTemp("", "xpod-quota-dev-logs-")
	if err != nil {
		return err
	}

	fmt.Println("Starting the control plane, PostgreSQL, the manager, the enforcer and Community Solid Server...")
	fmt.Println("Logs:", logDir)
	s, err := stack.Start(ctx, stack.Options{Dir: dir, LogDir: logDir, DatabaseURL: os.Getenv("DATABASE_URL"),
		Pods: []string{"alice", "bob"}})
	if err != nil {
		return err
	}
	defer s.Stop()

	if err := applySamples(s); err != nil {
		return err
	}
	if err := driveTraffic(s); err != nil {
		return err
	}
	time.Sleep(5 * time.Second) // two status intervals, so the figures are in
	if err := printQuotas(s); err != nil {
		return err
	}
	printTryThis(s, filepath.Join(dir, "kubeconfig"))

	<-ctx.Done()
	fmt.Println("\nStopping...")
	return nil
}
