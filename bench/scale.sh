#!/usr/bin/env bash
# Measures the manager with many AccountQuotas on a real API server and PostgreSQL.
# Usage: bench/scale.sh [-count N] [-status-interval 10s]
# Uses DATABASE_URL when set, else a private PostgreSQL (hack/with-postgres.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
assets="$(hack/build-control-plane.sh)"
KUBEBUILDER_ASSETS="${assets}" hack/with-postgres.sh go run ./bench/scale "$@"
