#!/usr/bin/env bash
# Creates (or updates) the test tools' virtualenv (.venv-tools; OPE_TOOLS_VENV to move it) with
# schemathesis, which `make test` runs against the API. Separate from .venv, the Python that
# workspaces run. Re-running is cheap: pip runs again only when requirements-tools.txt changed.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/venv-lib.sh
venv="${OPE_TOOLS_VENV:-.venv-tools}"
requirements="scripts/requirements-tools.txt"
status=0
ensure_venv "$venv" "$requirements" "schemathesis" || status=$?
[ "$status" = 0 ] && exit 0
[ "$status" = 10 ] || exit "$status"
"$venv/bin/schemathesis" --version >/dev/null
mark_venv "$venv" "$requirements"
echo "==> $venv ready: $("$venv/bin/schemathesis" --version)"
