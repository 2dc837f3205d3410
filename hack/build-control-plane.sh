#!/usr/bin/env bash
# Builds kube-apiserver, kubectl and etcd from the pinned Go modules and prints the folder that
# contains them, for KUBEBUILDER_ASSETS. Nothing prebuilt is downloaded: every binary is compiled
# here from modules served by the Go module proxy.
#
# The binaries are cached under ${XPOD_QUOTA_CACHE:-$HOME/.cache/xpod-quota}/control-plane/<version>,
# outside the repository, so every clone on the same machine reuses them; a second run prints the
# folder at once.
set -euo pipefail

KUBE_VERSION="${KUBE_VERSION:-v1.37.2}"
ETCD_VERSION="${ETCD_VERSION:-v3.7.0}"
CACHE_ROOT="${XPOD_QUOTA_CACHE:-${HOME}/.cache/xpod-quota}"
OUT="${CACHE_ROOT}/control-plane/kube-${KUBE_VERSION}-etcd-${ETCD_VERSION}"

have_all() {
  [ -x "${OUT}/kube-apiserver" ] && [ -x "${OUT}/kubectl" ] && [ -x "${OUT}/etcd" ]
}

if have_all; then
  echo "${OUT}"
  exit 0
fi

log() { echo "build-control-plane: $*" >&2; }

staging_version="v0.${KUBE_VERSION#v1.}"
work="$(mktemp -d)"
trap 'rm -rf "${work}"' EXIT
mkdir -p "${OUT}"

# Kubernetes refers to its staging modules as v0.0.0 and replaces them with local folders that the
# published module does not contain, so every one of them is pinned to the matching release here.
build_kubernetes() {
  local dir="${work}/kube"
  mkdir -p "${dir}"
  cd "${dir}"
  go mod init xpod.dev/control-plane-build >/dev/null 2>&1
  local gomod
  gomod="$(go mod download -json "k8s.io/kubernetes@${KUBE_VERSION}" | sed -n 's/.*"GoMod": "\(.*\)",/\1/p')"
  local staging
  staging="$(grep -E '^[[:space:]]+k8s\.io/[a-z0-9-]+ v0\.0\.0$' "${gomod}" | awk '{print $1}')"
  {
    echo "require k8s.io/kubernetes ${KUBE_VERSION}"
    for m in ${staging}; do
      echo "replace ${m} => ${m} ${staging_version}"
    done
  } >>go.mod
  cat >tools.go <<'GO'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
GO
  log "resolving k8s.io/kubernetes ${KUBE_VERSION} modules"
  go mod tidy -e >/dev/null 2>&1 || true
  go get "k8s.io/kubernetes@${KUBE_VERSION}" >&2

  local minor="${KUBE_VERSION#v1.}"
  minor="${minor%%.*}"
  local date
  date="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  local ldflags="-s -w"
  for pkg in k8s.io/client-go/pkg/version k8s.io/component-base/version; do
    ldflags+=" -X ${pkg}.gitMajor=1 -X ${pkg}.gitMinor=${minor} -X ${pkg}.gitVersion=${KUBE_VERSION}"
    ldflags+=" -X ${pkg}.gitTreeState=clean -X ${pkg}.buildDate=${date}"
  done
  for cmd in kube-apiserver kubectl; do
    log "building ${cmd} ${KUBE_VERSION}"
    CGO_ENABLED=0 go build -trimpath -ldflags "${ldflags}" -o "${OUT}/${cmd}.tmp" "k8s.io/kubernetes/cmd/${cmd}"
    mv "${OUT}/${cmd}.tmp" "${OUT}/${cmd}"
  done
}

# etcd is built in a module of its own because its dependency versions differ from Kubernetes'.
build_etcd() {
  local dir="${work}/etcd"
  mkdir -p "${dir}"
  cd "${dir}"
  go mod init xpod.dev/etcd-build >/dev/null 2>&1
  cat >main.go <<'GO'
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
GO
  log "building etcd ${ETCD_VERSION}"
  go get "go.etcd.io/etcd/server/v3@${ETCD_VERSION}" >&2
  go mod tidy >&2
  CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "${OUT}/etcd.tmp" .
  mv "${OUT}/etcd.tmp" "${OUT}/etcd"
}

[ -x "${OUT}/etcd" ] || build_etcd
{ [ -x "${OUT}/kube-apiserver" ] && [ -x "${OUT}/kubectl" ]; } || build_kubernetes

have_all
log "binaries ready in ${OUT}"
echo "${OUT}"
