#!/usr/bin/env bash
# Runs a command with DATABASE_URL pointing at PostgreSQL. When DATABASE_URL is already set it is
# used as it is; otherwise hack/postgres.sh starts a private server, which is removed when the
# command ends.
#
# Usage: hack/with-postgres.sh COMMAND [ARGS...]
set -euo pipefail

if [ -n "${DATABASE_URL:-}" ]; then
  exec "$@"
fi

here="$(cd "$(dirname "$0")" && pwd)"
dir="$(mktemp -d /tmp/xpod-quota-pg.XXXXXX)"
trap '"${here}/postgres.sh" stop "${dir}"' EXIT
DATABASE_URL="$("${here}/postgres.sh" start "${dir}")"
export DATABASE_URL
set +e
"$@"
status=$?
exit "${status}"
