#!/usr/bin/env bash
# Starts and stops a private PostgreSQL server in a folder of its own.
#
#   hack/postgres.sh start DIR   initdb in DIR, start on a free 127.0.0.1 port, print the URL
#   hack/postgres.sh stop DIR    stop the server and remove DIR
#
# The server binaries come from pg_config or /usr/lib/postgresql/*/bin; when they are missing and
# the script runs as root, Debian's postgresql package is installed first.
set -euo pipefail

log() { echo "postgres: $*" >&2; }

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

ensure_bindir() {
  local dir
  dir="$(find_bindir || true)"
  if [ -n "${dir}" ]; then
    echo "${dir}"
    return 0
  fi
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    log "PostgreSQL server binaries are missing; installing Debian's postgresql package"
    apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
    find_bindir
    return
  fi
  log "PostgreSQL server binaries (initdb, pg_ctl) are missing: install the postgresql package or set DATABASE_URL"
  return 1
}

free_port() {
  local port start=$((55432 + RANDOM % 400))
  for port in $(seq "${start}" 55932); do
    if ! (exec 3<>"/dev/tcp/127.0.0.1/${port}") 2>/dev/null; then
      echo "${port}"
      return 0
    fi
  done
  log "no free port between ${start} and 55932"
  return 1
}

# initdb and postgres refuse to run as root, so as root they run as the postgres user.
run_as() {
  if [ "$(id -u)" = "0" ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

start() {
  local dir="$1" bindir port
  bindir="$(ensure_bindir)"
  mkdir -p "${dir}"
  if [ "$(id -u)" = "0" ]; then
    id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
    chown postgres "${dir}"
  fi
  echo "${bindir}" >"${dir}/bindir"
  run_as "${bindir}/initdb" -D "${dir}/data" -U postgres --auth=trust --no-sync >"${dir}/initdb.log" 2>&1 ||
    { cat "${dir}/initdb.log" >&2; return 1; }
  # Another process may take the chosen port before the server binds it, so a failed start is
  # retried on another port.
  local attempt
  for attempt in 1 2 3 4 5; do
    port="$(free_port)"
    if run_as "${bindir}/pg_ctl" -D "${dir}/data" -l "${dir}/server.log" -w -o \
      "-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c max_connections=300" \
      start >/dev/null; then
      log "started a private PostgreSQL at 127.0.0.1:${port} (logs in ${dir}/server.log)"
      echo "postgres://postgres@127.0.0.1:${port}/postgres?sslmode=disable"
      return 0
    fi
    log "start on port ${port} failed (attempt ${attempt} of 5)"
  done
  cat "${dir}/server.log" >&2
  return 1
}

stop() {
  local dir="$1"
  if [ -f "${dir}/bindir" ]; then
    run_as "$(cat "${dir}/bindir")/pg_ctl" -D "${dir}/data" -m immediate stop >/dev/null 2>&1 || true
  fi
  rm -rf "${dir}"
}

case "${1:-}" in
  start) start "${2:?usage: hack/postgres.sh start DIR}" ;;
  stop) stop "${2:?usage: hack/postgres.sh stop DIR}" ;;
  *) echo "usage: hack/postgres.sh start|stop DIR" >&2; exit 2 ;;
esac
