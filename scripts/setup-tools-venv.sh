#!/usr/bin/env bash
# Creates (or updates) the test tools' virtualenv (.venv-tools; OPE_TOOLS_VENV to move it) with
# schemathesis, which `make test` runs against the API. Separate from .venv, the Python that
# workspaces run. Re-running is cheap: pip runs again only when requirements-tools.txt changed.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${OPE_TOOLS_VENV:-.venv-tools}"
requirements="scripts/requirements-tools.txt"
stamp="$venv/.ope-requirements"

if [ ! -x "$venv/bin/python" ]; then
  echo "==> creating the test tools' virtualenv in $venv"
  python3 -m venv "$venv"
fi
if [ -f "$stamp" ] && cmp -s "$requirements" "$stamp"; then
  exit 0
fi
echo "==> installing schemathesis into $venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements"
"$venv/bin/schemathesis" --version >/dev/null
cp "$requirements" "$stamp"
echo "==> $venv ready: $("$venv/bin/schemathesis" --version)"
