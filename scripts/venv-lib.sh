# Sourced by the setup-*venv.sh scripts: one way to make a virtualenv from a requirements file.
# ensure_venv DIR REQUIREMENTS WHAT: creates DIR if needed and installs REQUIREMENTS into it; pip
# runs again only when the requirements changed since the last successful install (a stamp file).
# Returns 0 with nothing done when DIR is up to date, 10 after installing.
ensure_venv() {
  local venv="$1" requirements="$2" what="$3" stamp="$1/.ope-requirements"
  if [ ! -x "$venv/bin/python" ]; then
    echo "==> creating a Python virtualenv in $venv"
    python3 -m venv "$venv"
  fi
  if [ -f "$stamp" ] && cmp -s "$requirements" "$stamp"; then
    return 0
  fi
  echo "==> installing $what into $venv (first time takes a minute or two)"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements"
  return 10
}

# Marks DIR as installed from REQUIREMENTS (after the caller checked that it works).
mark_venv() {
  cp "$2" "$1/.ope-requirements"
}
