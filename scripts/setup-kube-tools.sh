#!/usr/bin/env bash
# Creates the Kubernetes checks' tools virtualenv (.build/kube-tools): the Python `kubernetes` client,
# `kubernetes-validate` and `jsonschema` (see kube-tools-requirements.txt). It is separate from the
# project's .venv on purpose. Re-running is cheap: pip runs again only when the requirements changed.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${OPE_KUBE_TOOLS:-.build/kube-tools}"
requirements="scripts/kube-tools-requirements.txt"
stamp="$venv/.ope-requirements"
if [ ! -x "$venv/bin/python" ]; then
  echo "==> creating the Kubernetes tools virtualenv in $venv"
  mkdir -p "$(dirname "$venv")"
  python3 -m venv "$venv"
fi
if [ -f "$stamp" ] && cmp -s "$requirements" "$stamp"; then
  exit 0
fi
echo "==> installing the Kubernetes client and manifest validators into $venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements"
"$venv/bin/python" -c "import kubernetes, kubernetes_validate, jsonschema, yaml"
cp "$requirements" "$stamp"
