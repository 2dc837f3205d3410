#!/usr/bin/env bash
# Installs and runs a pinned Community Solid Server (CSS, npm @solid/community-server) for tests
# and local development.
#
# Usage:
#   hack/solid-server.sh install
#       Installs CSS (once per machine) and prints the folder that contains it.
#   hack/solid-server.sh start PORT DATA_DIR [BASE_URL]
#       Runs CSS in the foreground on 127.0.0.1:PORT with the file backend
#       (@css:config/file.json: WAC authorization, account API, pods created through the
#       account API) and resources stored under DATA_DIR. Logs go to stdout.
#       BASE_URL is the URL CSS uses for its own resources, by default http://127.0.0.1:PORT/
#       (http://localhost:PORT/ with SOLID_POD_LAYOUT=subdomain). Set it to the address of a
#       proxy in front of CSS when clients reach CSS through one.
#
# Environment:
#   SOLID_POD_LAYOUT  path (default): pod "alice" is BASE_URL/alice/.
#                     subdomain: pod "alice" is http://alice.<base host>:PORT/, which needs a
#                     base URL with a host name, such as http://localhost:PORT/.
#   SOLID_LOG_LEVEL   CSS log level: error, warn, info (default), verbose, debug or silly.
#   SOLID_LISTEN_HOST address CSS listens on, by default 127.0.0.1.
#   XPOD_QUOTA_CACHE  cache root, by default $HOME/.cache/xpod-quota.
#
# CSS is installed with npm under ${XPOD_QUOTA_CACHE:-$HOME/.cache/xpod-quota}/css/<version>,
# outside the repository, so every clone on the same machine reuses one installation.
set -euo pipefail

CSS_VERSION="7.2.0"
# npm resolves the dependency ranges of CSS as the registry stood on this date, so every install
# of this CSS version gets the same dependency tree without a lock file in the repository.
NPM_BEFORE="2026-12-01"
CACHE_ROOT="${XPOD_QUOTA_CACHE:-${HOME}/.cache/xpod-quota}"
INSTALL_DIR="${CACHE_ROOT}/css/${CSS_VERSION}"
# Written last by a successful install: a folder without it is incomplete.
MARKER=".installed"

log() { echo "solid-server: $*" >&2; }

usage() {
  sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2
  exit 2
}

check_node() {
  if ! command -v node >/dev/null 2>&1; then
    log "Node.js is not installed: install Node.js 18 or newer (CSS ${CSS_VERSION} requires it)"
    exit 1
  fi
  local major
  major="$(node -p 'process.versions.node.split(".")[0]')"
  if [ "${major}" -lt 18 ]; then
    log "Node.js $(node --version) is too old: CSS ${CSS_VERSION} requires Node.js 18 or newer"
    exit 1
  fi
  if ! command -v npm >/dev/null 2>&1; then
    log "npm is not installed: install npm next to Node.js"
    exit 1
  fi
}

# Preloaded with node --require. CSS ${CSS_VERSION} calls server.listen(port), which binds every
# interface and has no option for the address, so this makes a listen call that names only a port
# bind SOLID_LISTEN_HOST (127.0.0.1 unless set) instead.
write_listen_hook() {
  cat >"$1" <<'EOF'
'use strict';
const net = require('node:net');
const host = process.env.SOLID_LISTEN_HOST || '127.0.0.1';
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function listenOnHost(...args) {
  const onlyPort = typeof args[0] === 'number' &&
    (args.length === 1 || (args.length === 2 && typeof args[1] === 'function'));
  if (onlyPort) {
    args.splice(1, 0, host);
  }
  return listen.apply(this, args);
};
EOF
}

# Derives the subdomain configuration from the installed file.json and prints its path. It differs
# from file.json in two imports: the subdomain identifier strategy, and no static page at "/",
# because CSS ${CSS_VERSION} serves that page for the path "/" on every host, which would hide the
# root container of every subdomain pod. It is written at each start, so a change here needs no
# reinstall.
write_subdomain_config() {
  local dir="$1"
  local source="${dir}/node_modules/@solid/community-server/config/file.json"
  local target="${dir}/config/file-subdomains.json"
  local import
  for import in css:config/util/identifiers/suffix.json css:config/app/init/static-root.json; do
    if ! grep -q "\"${import}\"" "${source}"; then
      log "${source} does not import ${import}, so the subdomain configuration cannot be derived from it"
      exit 1
    fi
  done
  mkdir -p "${dir}/config"
  local tmp
  tmp="$(mktemp "${target}.XXXXXX")"
  sed -e 's#"css:config/util/identifiers/suffix.json"#"css:config/util/identifiers/subdomain.json"#' \
    -e 's#"css:config/app/init/static-root.json"#"css:config/app/init/default.json"#' \
    "${source}" >"${tmp}"
  mv "${tmp}" "${target}"
  echo "${target}"
}

install() {
  if [ -f "${INSTALL_DIR}/${MARKER}" ]; then
    echo "${INSTALL_DIR}"
    return 0
  fi
  check_node
  mkdir -p "${CACHE_ROOT}/css"

  # Test packages run in parallel and may all install at once: one of them installs while the
  # others wait for the lock and then find the marker.
  exec 9>"${CACHE_ROOT}/css/.${CSS_VERSION}.lock"
  if command -v flock >/dev/null 2>&1; then
    flock 9
  fi
  if [ -f "${INSTALL_DIR}/${MARKER}" ]; then
    echo "${INSTALL_DIR}"
    return 0
  fi

  log "installing @solid/community-server@${CSS_VERSION} with npm into ${INSTALL_DIR}"
  local work
  work="$(mktemp -d "${CACHE_ROOT}/css/.${CSS_VERSION}.XXXXXX")"
  # shellcheck disable=SC2064
  trap "rm -rf '${work}'" EXIT
  cat >"${work}/package.json" <<EOF
{
  "name": "xpod-quota-solid-server",
  "private": true,
  "description": "Community Solid Server for the xpod quota operator tests",
  "dependencies": {
    "@solid/community-server": "${CSS_VERSION}"
  }
}
EOF
  (cd "${work}" && npm install --no-audit --no-fund --before="${NPM_BEFORE}" >&2)
  write_listen_hook "${work}/listen-host.cjs"
  chmod 755 "${work}"
  touch "${work}/${MARKER}"

  # An earlier install that was cut off leaves a folder without the marker.
  rm -rf "${INSTALL_DIR}"
  mv "${work}" "${INSTALL_DIR}"
  trap - EXIT
  log "installed @solid/community-server@${CSS_VERSION}"
  echo "${INSTALL_DIR}"
}

start() {
  [ $# -ge 2 ] && [ $# -le 3 ] || usage
  local port="$1" data_dir="$2" base_url="${3:-}"
  if ! [[ "${port}" =~ ^[0-9]+$ ]] || [ "${port}" -lt 1 ] || [ "${port}" -gt 65535 ]; then
    log "invalid PORT ${port}: expected a number from 1 to 65535"
    exit 2
  fi

  local dir config
  dir="$(install)"
  case "${SOLID_POD_LAYOUT:-path}" in
    path)
      config="@css:config/file.json"
      base_url="${base_url:-http://127.0.0.1:${port}/}"
      ;;
    subdomain)
      config="$(write_subdomain_config "${dir}")"
      base_url="${base_url:-http://localhost:${port}/}"
      ;;
    *)
      log "invalid SOLID_POD_LAYOUT ${SOLID_POD_LAYOUT}: expected path or subdomain"
      exit 2
      ;;
  esac
  mkdir -p "${data_dir}"
  data_dir="$(cd "${data_dir}" && pwd)"

  cd "${dir}"
  exec node --require "${dir}/listen-host.cjs" \
    "${dir}/node_modules/@solid/community-server/bin/server.js" \
    --config "${config}" \
    --rootFilePath "${data_dir}" \
    --port "${port}" \
    --baseUrl "${base_url}" \
    --loggingLevel "${SOLID_LOG_LEVEL:-info}"
}

case "${1:-}" in
  install)
    [ $# -eq 1 ] || usage
    install
    ;;
  start)
    shift
    start "$@"
    ;;
  *)
    usage
    ;;
esac
