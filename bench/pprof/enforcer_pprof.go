//go:build enforcerpprof

// Package main adds net/http/pprof to the enforcer for profiling. bench/enforcer.sh --profile
// builds cmd/enforcer with this file added through go build -overlay and -tags enforcerpprof,
// so the source of the enforcer stays unchanged. Without the tag nothing here is built.
package main

import (
	"log/slog"
	"net/http"
	_ "net/http/pprof" // registers the /debug/pprof/ handlers on http.DefaultServeMux
	"os"
	"time"
)

// init serves the profiles on ENFORCER_PPROF_ADDRESS, such as 127.0.0.1:6060, when it is set.
func init() {
	addr := os.Getenv("ENFORCER_PPROF_ADDRESS")
	if addr == "" {
		return
	}
	srv := &http.Server{Addr: addr, Handler: http.DefaultServeMux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.ListenAndServe(); err != nil {
			slog.Error("Serving pprof failed", "address", addr, "error", err)
		}
	}()
}
