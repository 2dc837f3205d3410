package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	quotav1 "xpod.dev/quota-operator/api/v1alpha1"
	"xpod.dev/quota-operator/internal/enforcer/recount"
)

// runRecount walks one pod on the pod server and replaces its recorded storage with the result.
func runRecount(ctx context.Context, args []string, logger *slog.Logger) error {
	c := &commonFlags{}
	fs := flag.NewFlagSet("enforcer recount", flag.ContinueOnError)
	c.bind(fs)
	pod := fs.String("pod", "", "id of the pod to recount: the pod name for path and subdomain, the identity_pod id for xpod")
	timeout := fs.Duration("timeout", 30*time.Minute, "maximum time for the whole recount")
	host := fs.String("host", "", "Host header for the pod server's requests, such as pods.example.org; "+
		"needed with --pod-resolver=path when the pod server serves only its public host, as Community Solid Server does")
	countDescriptions := fs.Bool("count-descriptions", false, "also count .meta description resources; "+
		"leave it off for Community Solid Server, which serves a generated description for every resource")
	if err := fs.Parse(args); err != nil {
		return err
	}
	level, err := parseLevel(c.logLevel)
	if err != nil {
		return err
	}
	logger = slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	if *pod == "" {
		return fmt.Errorf("missing --pod: name the pod to recount")
	}
	upstream, err := c.upstreamURL()
	if err != nil {
		return err
	}
	header, err := readHeaderFile(c.measureHeader)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	pool, err := connect(ctx, c, logger)
	if err != nil {
		return err
	}
	defer pool.Close()
	resolver, err := newResolver(c, pool)
	if err != nil {
		return err
	}
	loc, err := resolver.Locate(ctx, *pod)
	if err != nil {
		return err
	}

	if *host != "" {
		loc.Host = *host
	}
	walker := &recount.Walker{Transport: http.DefaultTransport, Upstream: upstream, Location: loc, Header: header,
		CountDescriptions: *countDescriptions}
	result, err := recount.Run(ctx, pool, walker)
	if err != nil {
		return err
	}
	logger.Info("Pod recounted", "pod", loc.PodID, "account", loc.AccountID,
		"oldStorageBytes", result.OldStorageBytes, "newStorageBytes", result.NewStorageBytes)
	fmt.Printf("pod %s (account %s): storage %s -> %s (%d -> %d bytes)\n", loc.PodID, loc.AccountID,
		quotav1.FormatBytes(result.OldStorageBytes), quotav1.FormatBytes(result.NewStorageBytes),
		result.OldStorageBytes, result.NewStorageBytes)
	return nil
}
