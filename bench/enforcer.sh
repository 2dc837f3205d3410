#!/usr/bin/env bash
# Measures the enforcer against nginx, a plain Go httputil.ReverseProxy (bench/goproxy) and the
# upstream directly, on 127.0.0.1 only:
#   - requests per second and p99 latency of 1 KiB GETs (wrk, 64 connections);
#   - 1 GiB streaming upload and download (bench/transfer);
#   - bandwidth accuracy of a limited account with 1 and 16 connections, with an unlimited
#     account downloading at the same time.
# It prints a results table and writes it into the "Enforcer" section of docs/benchmarks.md.
# With the defaults a run took about 6 minutes on 2 cores, longer when other work keeps the
# machine busy, because each measurement waits for the CPUs to be mostly idle.
#
# Usage: bench/enforcer.sh [--no-docs] [--profile DIR]
#   --no-docs      print the results but leave docs/benchmarks.md unchanged
#   --profile DIR  instead of measuring, build the enforcer with net/http/pprof added (see
#                  bench/pprof) and write CPU profiles of the GET, upload and download loads to DIR
#
# Uses DATABASE_URL when set, else a private PostgreSQL (hack/with-postgres.sh). The rows of the
# accounts named enforcer-bench-* are deleted before and after the run. Installs wrk, nginx and
# the PostgreSQL client with apt-get when they are missing and the script runs as root.
#
# Settings from the environment, with defaults:
#   DURATION=15 WARMUP=3 CONNECTIONS=64 GET_ROUNDS=3   seconds per wrk run and rounds of all targets
#   STREAM_BYTES=1073741824 STREAM_ROUNDS=3             streamed body length and transfers per target
#   RATE_LIMIT=2097152 RATE_SECONDS=10 RATE_CONNECTIONS=16   bandwidth accuracy run
set -euo pipefail

write_docs=1
profile_dir=""
while [ $# -gt 0 ]; do
  case "$1" in
    --no-docs) write_docs=0 ;;
    --profile)
      profile_dir="${2:?--profile needs a folder}"
      shift
      ;;
    *)
      echo "usage: bench/enforcer.sh [--no-docs] [--profile DIR]" >&2
      exit 2
      ;;
  esac
  shift
done
# The options are passed on again with the profile folder made absolute, because the script
# changes to the repository root.
args=()
[ "${write_docs}" = 1 ] || args+=(--no-docs)
if [ -n "${profile_dir}" ]; then
  profile_dir="$(realpath -m "${profile_dir}")"
  args+=(--profile "${profile_dir}")
fi

script="$(realpath "$0")"
cd "$(dirname "${script}")/.."
if [ -z "${DATABASE_URL:-}" ]; then
  exec hack/with-postgres.sh "${script}" "${args[@]}"
fi

DURATION="${DURATION:-15}"
WARMUP="${WARMUP:-3}"
CONNECTIONS="${CONNECTIONS:-64}"
GET_ROUNDS="${GET_ROUNDS:-3}"
STREAM_BYTES="${STREAM_BYTES:-1073741824}"
STREAM_ROUNDS="${STREAM_ROUNDS:-3}"
RATE_LIMIT="${RATE_LIMIT:-2097152}"
RATE_SECONDS="${RATE_SECONDS:-10}"
RATE_CONNECTIONS="${RATE_CONNECTIONS:-16}"

# Pods, which the path resolver also takes as account ids, and their limits.
POD_GET=enforcer-bench-get             # bandwidth 1 GiB/s: the bucket runs, and 1 KiB GETs stay far below it
POD_STREAM=enforcer-bench-stream       # storage 4 GiB, bandwidth 0 (not throttled)
POD_LIMITED=enforcer-bench-limited     # bandwidth RATE_LIMIT
POD_UNLIMITED=enforcer-bench-unlimited # bandwidth 0 (not throttled)
GET_BANDWIDTH=1073741824
STREAM_STORAGE=4294967296
ENDLESS_BYTES=68719476736 # 64 GiB: longer than any rate run reads

log() { echo "bench: $*" >&2; }

# Tools ---------------------------------------------------------------------------------------

install_missing_tools() {
  local missing=()
  command -v wrk >/dev/null 2>&1 || missing+=(wrk)
  command -v nginx >/dev/null 2>&1 || missing+=(nginx)
  command -v psql >/dev/null 2>&1 || missing+=(postgresql-client)
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then
    log "missing tools: ${missing[*]}; install them (Debian: apt-get install ${missing[*]})"
    return 1
  fi
  log "installing ${missing[*]} with apt-get"
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
}

# Processes and clean-up ----------------------------------------------------------------------

tmp="$(mktemp -d /tmp/enforcer-bench.XXXXXX)"
pids=()
enforcer_pid=""

stop_process() {
  local pid="$1"
  kill -TERM "${pid}" 2>/dev/null || return 0
  for _ in $(seq 1 150); do
    kill -0 "${pid}" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "${pid}" 2>/dev/null || true
  wait "${pid}" 2>/dev/null || true
}

cleanup() {
  local pid
  for pid in ${enforcer_pid} "${pids[@]}"; do
    stop_process "${pid}"
  done
  delete_account_rows 2>/dev/null || true
  rm -rf "${tmp}"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

used_ports=" "
# free_port prints a port on 127.0.0.1 that nothing listens on and this run has not handed out.
free_port() {
  local port
  for _ in $(seq 1 200); do
    port=$((20000 + RANDOM % 20000))
    case "${used_ports}" in *" ${port} "*) continue ;; esac
    if ! port_in_use "${port}"; then
      used_ports="${used_ports}${port} "
      echo "${port}"
      return 0
    fi
  done
  log "no free port found on 127.0.0.1 after 200 tries"
  return 1
}

# wait_for_port waits up to $2 seconds until something listens on 127.0.0.1:$1.
wait_for_port() {
  local port="$1" seconds="$2"
  for _ in $(seq 1 $((seconds * 10))); do
    port_in_use "${port}" && return 0
    sleep 0.1
  done
  log "nothing listens on 127.0.0.1:${port} after ${seconds}s"
  return 1
}

build() {
  log "building the enforcer, the upstream, the Go reference proxy and the transfer client"
  mkdir -p "${tmp}/bin"
  if [ -n "${profile_dir}" ]; then
    printf '{"Replace":{"%s":"%s"}}\n' "${PWD}/cmd/enforcer/zz_enforcer_pprof.go" \
      "${PWD}/bench/pprof/enforcer_pprof.go" >"${tmp}/overlay.json"
    go build -tags enforcerpprof -overlay "${tmp}/overlay.json" -o "${tmp}/bin/enforcer" ./cmd/enforcer
  else
    go build -o "${tmp}/bin/enforcer" ./cmd/enforcer
  fi
  go build -o "${tmp}/bin/upstream" ./bench/upstream
  go build -o "${tmp}/bin/goproxy" ./bench/goproxy
  go build -o "${tmp}/bin/transfer" ./bench/transfer
}

start_upstream() {
  "${tmp}/bin/upstream" -listen 127.0.0.1:0 -address-file "${tmp}/upstream.addr" 2>"${tmp}/upstream.log" &
  pids+=($!)
  for _ in $(seq 1 100); do
    [ -s "${tmp}/upstream.addr" ] && break
    sleep 0.1
  done
  [ -s "${tmp}/upstream.addr" ] || { cat "${tmp}/upstream.log" >&2; log "the upstream did not start"; return 1; }
  upstream_addr="$(cat "${tmp}/upstream.addr")"
}

start_nginx() {
  nginx_port="$(free_port)"
  mkdir -p "${tmp}/nginx"
  # The same location serves the GETs and the streams. Buffering is off in both directions, as
  # streaming needs and as the enforcer behaves.
  cat >"${tmp}/nginx/nginx.conf" <<EOF
worker_processes $(nproc);
pid ${tmp}/nginx/nginx.pid;
error_log ${tmp}/nginx/error.log warn;
daemon off;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${tmp}/nginx/body;
  proxy_temp_path ${tmp}/nginx/proxy;
  fastcgi_temp_path ${tmp}/nginx/fastcgi;
  uwsgi_temp_path ${tmp}/nginx/uwsgi;
  scgi_temp_path ${tmp}/nginx/scgi;
  upstream pods {
    server ${upstream_addr};
    keepalive ${CONNECTIONS};
  }
  server {
    listen 127.0.0.1:${nginx_port};
    client_max_body_size 0;
    location / {
      proxy_pass http://pods;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host \$host;
      proxy_request_buffering off;
      proxy_buffering off;
    }
  }
}
EOF
  nginx -e "${tmp}/nginx/error.log" -p "${tmp}/nginx" -c "${tmp}/nginx/nginx.conf" &
  pids+=($!)
  wait_for_port "${nginx_port}" 10 || { cat "${tmp}/nginx/error.log" >&2; return 1; }
}

start_goproxy() {
  goproxy_port="$(free_port)"
  "${tmp}/bin/goproxy" -listen "127.0.0.1:${goproxy_port}" -upstream "http://${upstream_addr}" 2>"${tmp}/goproxy.log" &
  pids+=($!)
  wait_for_port "${goproxy_port}" 10 || { cat "${tmp}/goproxy.log" >&2; return 1; }
}

start_enforcer() {
  enforcer_port="$(free_port)"
  local env=()
  if [ -n "${profile_dir}" ]; then
    pprof_port="$(free_port)"
    env=(ENFORCER_PPROF_ADDRESS="127.0.0.1:${pprof_port}")
  fi
  enforcer_command=("${tmp}/bin/enforcer" --listen "127.0.0.1:${enforcer_port}"
    --upstream "http://${upstream_addr}" --pod-resolver path
    --metrics-bind-address 0 --health-probe-bind-address 0 --shutdown-timeout 10s --log-level warn)
  env "${env[@]}" "${enforcer_command[@]}" 2>"${tmp}/enforcer.log" &
  enforcer_pid=$!
  # The enforcer listens once the database is reachable and its schema is in place.
  wait_for_port "${enforcer_port}" 60 || { cat "${tmp}/enforcer.log" >&2; return 1; }
}

# Database rows of the benchmark accounts -------------------------------------------------------

sql() { psql "${DATABASE_URL}" -X -q -v ON_ERROR_STOP=1 -At -c "$1"; }

delete_account_rows() {
  local accounts="'${POD_GET}','${POD_STREAM}','${POD_LIMITED}','${POD_UNLIMITED}'"
  sql "DELETE FROM identity_account_quota WHERE account_id IN (${accounts});
    DELETE FROM identity_account_usage WHERE account_id IN (${accounts});
    DELETE FROM identity_pod_usage WHERE pod_id IN (${accounts});
    DELETE FROM quota_resource_sizes WHERE pod_id IN (${accounts});" >/dev/null
}

# insert_quotas runs before any request of these accounts, so each first request reads its row.
insert_quotas() {
  sql "INSERT INTO identity_account_quota (account_id, storage_limit_bytes, bandwidth_limit_bps) VALUES
    ('${POD_GET}', NULL, ${GET_BANDWIDTH}),
    ('${POD_STREAM}', ${STREAM_STORAGE}, 0),
    ('${POD_LIMITED}', NULL, ${RATE_LIMIT}),
    ('${POD_UNLIMITED}', NULL, 0);" >/dev/null
}

# Load of the machine -------------------------------------------------------------------------

cpu_sample() { awk '/^cpu / { total = 0; for (i = 2; i <= 9; i++) total += $i; print total, $5 + $6 }' /proc/stat; }

# busy_percent prints the share of CPU time that was busy over one second, while the servers of
# this run are idle, so it is the load of other work on the machine.
busy_percent() {
  local t1 i1 t2 i2
  read -r t1 i1 < <(cpu_sample)
  sleep 1
  read -r t2 i2 < <(cpu_sample)
  awk -v t="$((t2 - t1))" -v i="$((i2 - i1))" 'BEGIN { printf "%.0f", (t > 0 ? 100 * (t - i) / t : 0) }'
}

# note_load waits up to 30 s until other work uses 25% of the CPU time or less, then records
# the load average and the busy share under the name $1.
note_load() {
  local name="$1" busy
  for _ in $(seq 1 10); do
    busy="$(busy_percent)"
    [ "${busy}" -le 25 ] && break
    log "other work keeps ${busy}% of the CPUs busy; waiting before '${name}'"
    sleep 2
  done
  loads+=("| ${name} | $(cut -d' ' -f1-3 /proc/loadavg) | ${busy}% |")
}
loads=()

# Measurements --------------------------------------------------------------------------------

# to_ms converts a wrk duration such as 812.00us, 1.25ms or 1.02s to milliseconds.
to_ms() {
  awk -v v="$1" 'BEGIN {
    if (v ~ /us$/) { sub(/us$/, "", v); printf "%.3f", v / 1000 }
    else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.3f", v }
    else if (v ~ /m$/) { sub(/m$/, "", v); printf "%.3f", v * 60000 }
    else if (v ~ /s$/) { sub(/s$/, "", v); printf "%.3f", v * 1000 }
    else { print "nan" } }'
}

median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { printf "%.3f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# difference prints $1 - $2 with a sign and two decimals.
difference() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%+.2f", a - b }'; }

# ratio prints $1 / $2 with $3 decimals.
ratio() { awk -v a="$1" -v b="$2" -v d="${3:-2}" 'BEGIN { printf "%.*f", d, (b > 0 ? a / b : 0) }'; }

targets=(upstream nginx goproxy enforcer)
declare -A label=([upstream]="upstream direct" [nginx]=nginx [goproxy]="Go proxy" [enforcer]=enforcer)
declare -A url rps p99 errors upload download
wrk_command=(wrk -t"$(nproc)" -c"${CONNECTIONS}" -d"${DURATION}s" --latency)

# run_get measures target $1 once: a warm-up, then the wrk run whose numbers count.
run_get() {
  local target="$1" round="$2" out
  note_load "GET ${label[${target}]}, round ${round}"
  wrk -t"$(nproc)" -c"${CONNECTIONS}" -d"${WARMUP}s" "${url[${target}]}/${POD_GET}/file" >"${tmp}/warmup.txt"
  out="${tmp}/wrk-${target}-${round}.txt"
  "${wrk_command[@]}" "${url[${target}]}/${POD_GET}/file" >"${out}"
  rps[${target}]+="$(awk '/^Requests\/sec:/ { print $2 }' "${out}") "
  p99[${target}]+="$(to_ms "$(awk '$1 == "99%" { print $2 }' "${out}")") "
  errors[${target}]=$(( ${errors[${target}]:-0} + $(awk '/Non-2xx or 3xx/ { n += $NF } /Socket errors/ { gsub(",", ""); n += $4 + $6 + $8 + $10 } END { print n + 0 }' "${out}") ))
  if [ "${target}" = enforcer ]; then
    # The metering check compares these GETs with the egress that the enforcer recorded.
    get_requests=$((get_requests + $(awk '/requests in/ { n += $1 } END { print n }' "${tmp}/warmup.txt" "${out}")))
  fi
  log "GET ${target} round ${round}: $(awk '/^Requests\/sec:/ { print $2 }' "${out}") req/s, p99 $(awk '$1 == "99%" { print $2 }' "${out}")"
}

# run_stream uploads and then downloads STREAM_BYTES once through target $1.
run_stream() {
  local target="$1" round="$2" out
  note_load "stream ${label[${target}]}, round ${round}"
  out="$("${tmp}/bin/transfer" upload -url "${url[${target}]}/${POD_STREAM}/upload" -bytes "${STREAM_BYTES}")"
  upload[${target}]+="$(field mibps "${out}") "
  out="$("${tmp}/bin/transfer" download -url "${url[${target}]}/${POD_STREAM}/download?size=${STREAM_BYTES}" -bytes "${STREAM_BYTES}")"
  download[${target}]+="$(field mibps "${out}") "
  log "stream ${target} round ${round}: upload $(echo "${upload[${target}]}" | awk '{ print $NF }') MiB/s, download $(echo "${download[${target}]}" | awk '{ print $NF }') MiB/s"
}

# field prints the value of key $1 in a key=value line $2.
field() { echo "$2" | tr ' ' '\n' | awk -F= -v k="$1" '$1 == k { print $2 }'; }

rate_url() { echo "${url[enforcer]}/$1/stream?size=${ENDLESS_BYTES}"; }

# run_rate downloads from the limited account on $1 connections and from the unlimited account
# on one connection at the same time. With $1 = 0 only the unlimited account downloads.
run_rate() {
  local connections="$1" limited_pid="" unlimited
  if [ "${connections}" -gt 0 ]; then
    note_load "bandwidth, limited account on ${connections} connection(s)"
  else
    note_load "bandwidth, unlimited account alone"
  fi
  if [ "${connections}" -gt 0 ]; then
    "${tmp}/bin/transfer" rate -url "$(rate_url "${POD_LIMITED}")" -connections "${connections}" \
      -duration "${RATE_SECONDS}s" >"${tmp}/limited.txt" &
    limited_pid=$!
  fi
  unlimited="$("${tmp}/bin/transfer" rate -url "$(rate_url "${POD_UNLIMITED}")" -connections 1 -duration "${RATE_SECONDS}s")"
  rate_unlimited[${connections}]="$(field mibps "${unlimited}")"
  if [ -n "${limited_pid}" ]; then
    wait "${limited_pid}"
    rate_limited[${connections}]="$(field mibps "$(cat "${tmp}/limited.txt")")"
    log "bandwidth with the limited account on ${connections} connection(s): limited ${rate_limited[${connections}]} MiB/s, unlimited ${rate_unlimited[${connections}]} MiB/s"
  else
    log "bandwidth of the unlimited account alone: ${rate_unlimited[${connections}]} MiB/s"
  fi
}
declare -A rate_limited rate_unlimited

# Profiling -----------------------------------------------------------------------------------

# profile_while captures a CPU profile of the enforcer for $2 seconds into $1 while it runs the
# remaining arguments as the load.
profile_while() {
  local file="$1" seconds="$2"
  shift 2
  curl -sf -o "${file}" "http://127.0.0.1:${pprof_port}/debug/pprof/profile?seconds=${seconds}" &
  local curl_pid=$!
  sleep 0.5
  "$@" >/dev/null
  wait "${curl_pid}"
  log "wrote ${file}"
}

upload_repeatedly() {
  for _ in $(seq 1 "$1"); do
    "${tmp}/bin/transfer" upload -url "${url[enforcer]}/${POD_STREAM}/upload" -bytes "${STREAM_BYTES}"
  done
}

download_repeatedly() {
  for _ in $(seq 1 "$1"); do
    "${tmp}/bin/transfer" download -url "${url[enforcer]}/${POD_STREAM}/download?size=${STREAM_BYTES}" -bytes "${STREAM_BYTES}"
  done
}

run_profiles() {
  mkdir -p "${profile_dir}"
  "${wrk_command[@]}" -d"${WARMUP}s" "${url[enforcer]}/${POD_GET}/file" >/dev/null
  profile_while "${profile_dir}/get.pprof" "$((DURATION - 2))" "${wrk_command[@]}" "${url[enforcer]}/${POD_GET}/file"
  profile_while "${profile_dir}/upload.pprof" 5 upload_repeatedly 3
  profile_while "${profile_dir}/download.pprof" 5 download_repeatedly 3
  cp "${tmp}/bin/enforcer" "${profile_dir}/enforcer"
  local name
  for name in get upload download; do
    echo "== ${name}"
    go tool pprof -top -nodecount=25 "${profile_dir}/enforcer" "${profile_dir}/${name}.pprof" 2>/dev/null | sed -n '1,32p'
  done
}

# Report --------------------------------------------------------------------------------------

goal() { if awk -v v="$1" -v g="$2" "BEGIN { exit !(v $3 g) }"; then echo met; else echo missed; fi; }

machine_lines() {
  echo "- CPU: $(nproc) cores, $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
  echo "- memory: $(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo), Linux $(uname -r)"
  echo "- $(go version | cut -d' ' -f3-), $(nginx -v 2>&1 | sed 's/^nginx version: //'), $(wrk -v 2>&1 | head -1 | awk '{ print "wrk " $2 }'), PostgreSQL $(sql 'SHOW server_version' | cut -d' ' -f1)"
}

write_section() {
  local get_rps_ratio p99_added up_ratio down_ratio
  get_rps_ratio="$(ratio "${med_rps[enforcer]}" "${med_rps[nginx]}")"
  p99_added="$(difference "${med_p99[enforcer]}" "${med_p99[nginx]}")"
  up_ratio="$(ratio "${med_upload[enforcer]}" "${med_upload[nginx]}")"
  down_ratio="$(ratio "${med_download[enforcer]}" "${med_download[nginx]}")"
  local limit_mib
  limit_mib="$(awk -v l="${RATE_LIMIT}" 'BEGIN { printf "%g", l / 1048576 }')"

  cat <<EOF
## Enforcer

Measured with \`bench/enforcer.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC'). Every server and client ran on
one machine and talked over 127.0.0.1, so the proxies, the upstream, PostgreSQL and the load
generators shared the same $(nproc) cores, together with any other work on the machine (see the
load table below). Figures are medians of ${GET_ROUNDS} wrk rounds and ${STREAM_ROUNDS} transfers per target, run
in turns so that a busy moment does not hit one target only.

$(machine_lines)

The upstream is \`bench/upstream\`, a Go server that answers GETs with a 1 KiB body, generates
streamed bodies and discards uploads. nginx proxies to it with an \`upstream\` block
(\`keepalive ${CONNECTIONS}\`, \`proxy_http_version 1.1\`, \`Connection ""\`), request and response
buffering off, and \`worker_processes $(nproc)\`. The Go proxy is \`bench/goproxy\`, a plain
\`httputil.ReverseProxy\` with a pool of copy buffers: the cost of Go's \`net/http\`, for
comparison, since the enforcer runs on fasthttp instead. The enforcer runs with the path resolver,
metering and throttling on and its default flush and refresh intervals. The GET account has
\`bandwidth_limit_bps\` = ${GET_BANDWIDTH} (1 GiB/s): its token bucket runs on every write, and the
GETs stay far below the limit. The streaming account has a storage limit of 4 GiB and
\`bandwidth_limit_bps\` = 0 (not throttled).

| measurement | upstream direct | nginx | Go proxy | enforcer | enforcer vs Go proxy | enforcer vs nginx | goal | |
| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |
| 1 KiB GET, requests/s | ${med_rps[upstream]} | ${med_rps[nginx]} | ${med_rps[goproxy]} | ${med_rps[enforcer]} | ×$(ratio "${med_rps[enforcer]}" "${med_rps[goproxy]}") | ×${get_rps_ratio} | ≥ 0.6 | $(goal "${get_rps_ratio}" 0.6 '>=') |
| 1 KiB GET, p99 latency (ms) | ${med_p99[upstream]} | ${med_p99[nginx]} | ${med_p99[goproxy]} | ${med_p99[enforcer]} | $(difference "${med_p99[enforcer]}" "${med_p99[goproxy]}") ms | ${p99_added} ms | < +2 ms | $(goal "${p99_added}" 2 '<') |
| $(mib "${STREAM_BYTES}") upload, MiB/s | ${med_upload[upstream]} | ${med_upload[nginx]} | ${med_upload[goproxy]} | ${med_upload[enforcer]} | ×$(ratio "${med_upload[enforcer]}" "${med_upload[goproxy]}") | ×${up_ratio} | ≥ 0.9 | $(goal "${up_ratio}" 0.9 '>=') |
| $(mib "${STREAM_BYTES}") download, MiB/s | ${med_download[upstream]} | ${med_download[nginx]} | ${med_download[goproxy]} | ${med_download[enforcer]} | ×$(ratio "${med_download[enforcer]}" "${med_download[goproxy]}") | ×${down_ratio} | ≥ 0.9 | $(goal "${down_ratio}" 0.9 '>=') |

wrk keeps ${CONNECTIONS} requests in flight, so its p99 at full load is mostly queueing time and
falls as the requests per second rise. \`bench/enforcer.sh --profile DIR\` writes CPU profiles of
the enforcer under the same loads, to find where a missed goal loses its time.

Every round and transfer:

| target | requests/s per round | p99 ms per round | upload MiB/s | download MiB/s | errors and non-2xx |
| --- | --- | --- | --- | --- | ---: |
$(for t in "${targets[@]}"; do echo "| ${label[${t}]} | $(join "${rps[${t}]}") | $(join "${p99[${t}]}") | $(join "${upload[${t}]}") | $(join "${download[${t}]}") | ${errors[${t}]:-0} |"; done)

Transfer times: $(mib "${STREAM_BYTES}") at the median rate takes $(awk -v b="${STREAM_BYTES}" -v r="${med_upload[enforcer]}" 'BEGIN { printf "%.2f", b / 1048576 / r }') s to upload and $(awk -v b="${STREAM_BYTES}" -v r="${med_download[enforcer]}" 'BEGIN { printf "%.2f", b / 1048576 / r }') s to download through the enforcer.

Metering check: the enforcer recorded ${metered_egress} bytes of egress for the GET account,
and wrk completed ${get_requests} GETs through it, ${expected_egress} bytes. The enforcer also counts
the responses to requests that were still in flight when a wrk run stopped, up to ${CONNECTIONS} a run. It recorded ${metered_ingress} bytes of ingress for the
streaming account, which uploaded $((STREAM_ROUNDS * STREAM_BYTES)) bytes.

### Bandwidth accuracy

One account is limited to ${RATE_LIMIT} bytes/s (${limit_mib} MiB/s) and downloads for ${RATE_SECONDS} s. A second
account with \`bandwidth_limit_bps\` = 0 downloads on one connection at the same time. The
goal is 95–105% of the limit. The bucket starts full and holds 0.1 s at the limit, so that burst
adds about $(awk -v s="${RATE_SECONDS}" 'BEGIN { printf "%.0f", 10 / s }')% to a ${RATE_SECONDS} s run.

| limited account | achieved | of the limit | goal | unlimited account | vs unlimited alone |
| --- | ---: | ---: | --- | ---: | ---: |
| none | | | | ${rate_unlimited[0]} MiB/s | |
| 1 connection | ${rate_limited[1]} MiB/s | $(pct "${rate_limited[1]}")% | $(in_band "$(pct "${rate_limited[1]}")") | ${rate_unlimited[1]} MiB/s | ×$(ratio "${rate_unlimited[1]}" "${rate_unlimited[0]}") |
| ${RATE_CONNECTIONS} connections | ${rate_limited[${RATE_CONNECTIONS}]} MiB/s | $(pct "${rate_limited[${RATE_CONNECTIONS}]}")% | $(in_band "$(pct "${rate_limited[${RATE_CONNECTIONS}]}")") | ${rate_unlimited[${RATE_CONNECTIONS}]} MiB/s | ×$(ratio "${rate_unlimited[${RATE_CONNECTIONS}]}" "${rate_unlimited[0]}") |

### Load at the start of each measurement

The load average is of the whole machine and includes the previous measurement. "Busy" is the
share of CPU time used over the second before the measurement, while this run's servers were
idle, so it is the load of other work. Before each measurement the script waits, for up to 30 s,
until that share is 25% or less.

| measurement | load average (1, 5, 15 min) | busy |
| --- | --- | ---: |
$(printf '%s\n' "${loads[@]}")

### Commands

\`\`\`
bench/enforcer.sh
$(printf '%q ' "${wrk_command[@]}")http://127.0.0.1:PORT/${POD_GET}/file   # after a ${WARMUP} s warm-up, per target
transfer upload -url http://127.0.0.1:PORT/${POD_STREAM}/upload -bytes ${STREAM_BYTES}
transfer download -url 'http://127.0.0.1:PORT/${POD_STREAM}/download?size=${STREAM_BYTES}' -bytes ${STREAM_BYTES}
transfer rate -url 'http://127.0.0.1:PORT/${POD_LIMITED}/stream?size=${ENDLESS_BYTES}' -connections N -duration ${RATE_SECONDS}s
upstream -listen 127.0.0.1:0 -address-file FILE
nginx -e DIR/error.log -p DIR -c DIR/nginx.conf   # the configuration that bench/enforcer.sh writes
goproxy -listen 127.0.0.1:PORT -upstream http://127.0.0.1:PORT
DATABASE_URL=URL enforcer --listen 127.0.0.1:PORT --upstream http://127.0.0.1:PORT --pod-resolver path \\
  --metrics-bind-address 0 --health-probe-bind-address 0 --shutdown-timeout 10s --log-level warn
\`\`\`
EOF
}

# join prints the space-separated values $1 separated by commas.
join() { echo "$1" | xargs | sed 's/ /, /g'; }
mib() { awk -v b="$1" 'BEGIN { if (b % 1073741824 == 0) printf "%d GiB", b / 1073741824; else printf "%g MiB", b / 1048576 }'; }
pct() { awk -v r="$1" -v l="${RATE_LIMIT}" 'BEGIN { printf "%.1f", 100 * r * 1048576 / l }'; }
in_band() { if awk -v p="$1" 'BEGIN { exit !(p >= 95 && p <= 105) }'; then echo met; else echo missed; fi; }

# update_docs replaces the "## Enforcer" section of docs/benchmarks.md with the file $1 and
# keeps every other section.
update_docs() {
  local section="$1" doc=docs/benchmarks.md
  if [ ! -f "${doc}" ]; then
    printf '# Benchmarks\n\n' >"${doc}"
  fi
  awk -v section="${section}" '
    function emit(   line) { while ((getline line < section) > 0) print line; close(section); done = 1 }
    /^## / { if (skipping) { skipping = 0; print "" } }
    $0 == "## Enforcer" { emit(); skipping = 1; next }
    !skipping { print; last = $0 }
    END { if (!done) { if (last != "") print ""; emit() } }
  ' "${doc}" >"${tmp}/benchmarks.md"
  cp "${tmp}/benchmarks.md" "${doc}"
  log "updated the Enforcer section of ${doc}"
}

# Main ----------------------------------------------------------------------------------------

install_missing_tools
build
start_upstream
start_nginx
start_goproxy
start_enforcer
delete_account_rows
insert_quotas
url[upstream]="http://${upstream_addr}"
url[nginx]="http://127.0.0.1:${nginx_port}"
url[goproxy]="http://127.0.0.1:${goproxy_port}"
url[enforcer]="http://127.0.0.1:${enforcer_port}"
log "upstream ${url[upstream]}, nginx ${url[nginx]}, Go proxy ${url[goproxy]}, enforcer ${url[enforcer]}, files in ${tmp}"

if [ -n "${profile_dir}" ]; then
  run_profiles
  exit 0
fi

get_requests=0
for round in $(seq 1 "${GET_ROUNDS}"); do
  for target in "${targets[@]}"; do
    run_get "${target}" "${round}"
  done
done
for round in $(seq 1 "${STREAM_ROUNDS}"); do
  for target in "${targets[@]}"; do
    run_stream "${target}" "${round}"
  done
done
run_rate 0
run_rate 1
run_rate "${RATE_CONNECTIONS}"

# Stopping the enforcer writes its last usage, which the metering check reads.
stop_process "${enforcer_pid}"
enforcer_pid=""
metered_egress="$(sql "SELECT COALESCE(SUM(egress_bytes), 0) FROM identity_account_usage WHERE account_id = '${POD_GET}'")"
metered_ingress="$(sql "SELECT COALESCE(SUM(ingress_bytes), 0) FROM identity_account_usage WHERE account_id = '${POD_STREAM}'")"
expected_egress=$((get_requests * 1024))

declare -A med_rps med_p99 med_upload med_download
for target in "${targets[@]}"; do
  # shellcheck disable=SC2086 # the lists are space-separated numbers
  med_rps[${target}]="$(median ${rps[${target}]} | awk '{ printf "%.0f", $1 }')"
  # shellcheck disable=SC2086
  med_p99[${target}]="$(median ${p99[${target}]} | awk '{ printf "%.2f", $1 }')"
  # shellcheck disable=SC2086
  med_upload[${target}]="$(median ${upload[${target}]} | awk '{ printf "%.0f", $1 }')"
  # shellcheck disable=SC2086
  med_download[${target}]="$(median ${download[${target}]} | awk '{ printf "%.0f", $1 }')"
done

write_section >"${tmp}/section.md"
cat "${tmp}/section.md"
if [ "${write_docs}" = 1 ]; then
  update_docs "${tmp}/section.md"
fi
