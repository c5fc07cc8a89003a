#!/usr/bin/env bash
# Creates (or updates) the project's Python virtualenv with JupyterLab 4 + jupyter-collaboration,
# ipykernel and the packages the example modules' tests import. Re-running is cheap: pip is only
# called again when requirements.txt changed since the last successful install.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${OPE_VENV:-.venv}"
requirements="scripts/requirements.txt"
stamp="$venv/.ope-requirements"

if [ ! -x "$venv/bin/python" ]; then
  echo "==> creating Python virtualenv in $venv"
  python3 -m venv "$venv"
fi
if [ -f "$stamp" ] && cmp -s "$requirements" "$stamp"; then
  exit 0
fi
echo "==> installing JupyterLab, jupyter-collaboration and test packages into $venv (first time takes a minute or two)"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements"
"$venv/bin/jupyter-lab" --version >/dev/null
"$venv/bin/python" -c "import jupyter_collaboration, ipykernel, pytest, pymysql, sql, pyspark, selenium"
cp "$requirements" "$stamp"
echo "==> $venv ready: JupyterLab $("$venv/bin/jupyter-lab" --version)"
