#!/usr/bin/env bash
# Runs every Go test, then fuzzes the admin API handlers for FUZZ_TIME (default 20s). Called by
# `make test` with KUBEBUILDER_ASSETS and DATABASE_URL set; extra arguments go to `go test`.
set -euo pipefail
cd "$(dirname "$0")/.."

status=0
go test ./... -count=1 -timeout 40m "$@" || status=$?
go test ./internal/adminapi -run '^$' -fuzz '^FuzzHandler$' -fuzztime "${FUZZ_TIME:-20s}" || status=$?
exit "${status}"
