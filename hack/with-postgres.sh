#!/usr/bin/env bash
# Runs a command with DATABASE_URL pointing at PostgreSQL. When DATABASE_URL is already set it is
# used as it is; otherwise a private server is started on a free port in a temporary folder and
# removed when the command ends.
#
# Usage: hack/with-postgres.sh COMMAND [ARGS...]
set -euo pipefail

if [ -n "${DATABASE_URL:-}" ]; then
  exec "$@"
fi

log() { echo "with-postgres: $*" >&2; }

find_bindir() {
  local dir
  if command -v pg_config >/dev/null 2>&1; then
    dir="$(pg_config --bindir)"
    [ -x "${dir}/initdb" ] && { echo "${dir}"; return 0; }
  fi
  for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    [ -x "${dir}/initdb" ] && { echo "${dir}"; return 0; }
  done
  return 1
}

bindir="$(find_bindir || true)"
if [ -z "${bindir}" ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    log "PostgreSQL server binaries are missing; installing Debian's postgresql package"
    apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
    bindir="$(find_bindir)"
  else
    log "PostgreSQL server binaries (initdb, pg_ctl) are missing: install the postgresql package or set DATABASE_URL"
    exit 1
  fi
fi

free_port() {
  local port
  for port in $(seq 55432 55532); do
    if ! (exec 3<>"/dev/tcp/127.0.0.1/${port}") 2>/dev/null; then
      echo "${port}"
      return 0
    fi
  done
  log "no free port between 55432 and 55532"
  return 1
}

dir="$(mktemp -d /tmp/xpod-quota-pg.XXXXXX)"
port="$(free_port)"
run_as=()
# initdb and postgres refuse to run as root, so they run as the postgres user when there is one.
if [ "$(id -u)" = "0" ]; then
  id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
  chown postgres "${dir}"
  run_as=(runuser -u postgres --)
fi

cleanup() {
  "${run_as[@]}" "${bindir}/pg_ctl" -D "${dir}/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "${dir}"
}
trap cleanup EXIT

"${run_as[@]}" "${bindir}/initdb" -D "${dir}/data" -U postgres --auth=trust --no-sync >"${dir}/initdb.log" 2>&1 ||
  { cat "${dir}/initdb.log" >&2; exit 1; }
"${run_as[@]}" "${bindir}/pg_ctl" -D "${dir}/data" -l "${dir}/server.log" -w -o \
  "-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c max_connections=300" \
  start >/dev/null || { cat "${dir}/server.log" >&2; exit 1; }

export DATABASE_URL="postgres://postgres@127.0.0.1:${port}/postgres?sslmode=disable"
log "started a private PostgreSQL at 127.0.0.1:${port} (logs in ${dir}/server.log)"
set +e
"$@"
status=$?
exit "${status}"
