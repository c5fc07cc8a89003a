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
if [ "$status" = 10 ]; then
  "$venv/bin/jupyter-lab" --version >/dev/null
  "$venv/bin/python" -c "import jupyter_collaboration, ipykernel, pytest, pymysql, sql, pyspark, selenium"
  mark_venv "$venv" "$requirements"
  echo "==> $venv ready: JupyterLab $("$venv/bin/jupyter-lab" --version)"
elif [ "$status" != 0 ]; then
  exit "$status"
fi

# OPE's own package inside the workspaces (python/ope-workspace): installed again whenever its
# files change (a stamp of their checksums).
package=python/ope-workspace
stamp="$venv/.ope-workspace-package"
sums=$(find "$package" -type f -not -path '*/__pycache__/*' -not -path '*.egg-info*' -not -path '*/build/*' | LC_ALL=C sort | xargs sha256sum)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$sums" ]; then
  exit 0
fi
echo "==> installing OPE's workspace package into $venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps --force-reinstall "./$package"
rm -rf "$package/build" "$package"/*.egg-info
"$venv/bin/python" -c "import ope_workspace.identity"
printf '%s' "$sums" >"$stamp"
