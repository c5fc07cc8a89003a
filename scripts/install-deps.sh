#!/usr/bin/env bash
# Installs the Debian packages OPE needs to build and test, if any are missing.
# (Swift itself comes with the machine; everything else is installed here.)
set -euo pipefail
# chromium, chromium-driver: the browser end-to-end tests (driven by selenium from the venv).
# mariadb-server/-client: the sql kit's database server, which OPE starts itself (its own datadir,
# socket and port; the system's MariaDB service is not used).
# bubblewrap, util-linux (setpriv, prlimit), e2fsprogs (mkfs.ext4): the sandbox participant code runs in
# (see docs/security.md); procps (pgrep): tests look for processes left behind; zlib1g-dev: gRPC's HTTP/2
# transport (the grading service) links zlib.
packages=(git libsqlite3-dev zlib1g-dev sqlite3 python3-venv mariadb-server mariadb-client chromium chromium-driver bubblewrap util-linux e2fsprogs procps)
# The spark kit's PySpark 4 needs Java 17 or later; Debian's default JRE is that (17 on 12, 21 on 13).
java_major=$(java -version 2>&1 | sed -n 's/.* version "\([0-9]*\).*/\1/p' | head -n 1 || true)
if [ -z "$java_major" ] || [ "$java_major" -lt 17 ]; then packages+=(default-jre-headless); fi
# kubernetes-client (kubectl): the Kubernetes tests check the stand-in API server with it (unless a kubectl is already installed, e.g. a cloud SDK's, whose package owns the same file).
command -v kubectl >/dev/null 2>&1 || packages+=(kubernetes-client)
# `install-deps.sh bench`: also nginx, the baseline `ope-bench proxy` compares OPE's proxy with.
if [ "${1:-}" = "bench" ]; then packages+=(nginx-light); fi
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
