#!/usr/bin/env bash
# Creates (or updates) the project's Python virtualenv with JupyterLab 4 + jupyter-collaboration,
# ipykernel and the packages the example modules' tests import. Re-running is cheap: pip is only
# called again when requirements.txt changed since the last successful install.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/venv-lib.sh
venv="${OPE_VENV:-.venv}"
requirements="scripts/requirements.txt"
status=0
ensure_venv "$venv" "$requirements" "JupyterLab, jupyter-collaboration and test packages" || status=$?
[ "$status" = 0 ] && exit 0
[ "$status" = 10 ] || exit "$status"
"$venv/bin/jupyter-lab" --version >/dev/null
"$venv/bin/python" -c "import jupyter_collaboration, ipykernel, pytest, pymysql, sql, pyspark, selenium"
mark_venv "$venv" "$requirements"
echo "==> $venv ready: JupyterLab $("$venv/bin/jupyter-lab" --version)"
