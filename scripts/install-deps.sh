#!/usr/bin/env bash
# Installs the Debian packages OPE needs to build and test, if any are missing.
# (Swift itself comes with the machine; everything else is installed here.)
set -euo pipefail
packages=(git libsqlite3-dev sqlite3 python3-venv)
missing=()
for package in "${packages[@]}"; do
  dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "==> installing Debian packages: ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then sudo=sudo; else sudo=; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
command -v swift >/dev/null || { echo "error: swift is not on PATH (OPE needs Swift 6.1 or later)" >&2; exit 1; }
