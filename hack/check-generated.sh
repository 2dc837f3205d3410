#!/usr/bin/env bash
# Checks that the generated files (CRD, RBAC, DeepCopy) match what is committed. Run it after
# `make manifests generate`. In CI (CI set) a difference fails the run. Elsewhere it is a warning,
# because a work tree under development legitimately differs from the last commit.
set -euo pipefail
cd "$(dirname "$0")/.."

paths=(config/crd/bases config/rbac/role.yaml api/v1alpha1/zz_generated.deepcopy.go)
if git diff --quiet -- "${paths[@]}" && [ -z "$(git ls-files --others --exclude-standard -- "${paths[@]}")" ]; then
  exit 0
fi
echo "check-generated: generated files differ from the committed ones; commit the output of 'make manifests generate':" >&2
git status --short -- "${paths[@]}" >&2
if [ -n "${CI:-}" ]; then
  exit 1
fi
