// Command enforcer is the quota operator's data plane: a reverse proxy in front of a Solid pod
// server that meters, throttles and enforces storage quotas per account. "enforcer recount"
// rebuilds one pod's recorded storage from the pod server.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	logger := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()

	var err error
	if len(os.Args) > 1 && os.Args[1] == "recount" {
		err = runRecount(ctx, os.Args[2:], logger)
	} else {
		err = runProxy(ctx, os.Args[1:], logger)
	}
	if errors.Is(err, flag.ErrHelp) {
		return // the flag package has printed the help
	}
	if err != nil {
		logger.Error("Enforcer failed", "error", err)
		fmt.Fprintln(os.Stderr, "enforcer:", err)
		os.Exit(1)
	}
}
