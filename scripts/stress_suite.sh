#!/usr/bin/env bash
# The whole test suite N times in a row (default 3) while stress-ng keeps both cores busy: the
# check that no test depends on the machine being quiet. Run after `make test` has built once.
#   scripts/stress_suite.sh [RUNS]
set -uo pipefail
cd "$(dirname "$0")/.."
runs="${1:-3}"
command -v stress-ng >/dev/null || { echo "stress-ng is missing (apt-get install stress-ng)" >&2; exit 1; }
export OPE_BIN="$PWD/.build/debug/ope" OPE_VENV="$PWD/.venv" OPE_TOOLS_VENV="$PWD/.venv-tools"
stress-ng --cpu "$(nproc)" --timeout 4h >/dev/null 2>&1 &
load=$!
trap 'kill $load 2>/dev/null' EXIT
failed=0
for run in $(seq 1 "$runs"); do
  start=$(date +%s)
  swift test --skip-build > ".build/stress-run-$run.log" 2>&1 || failed=$((failed + 1))
  echo "run $run: $(( $(date +%s) - start )) s, $(grep -E '^(✔|✘) Test run' ".build/stress-run-$run.log" | tail -1)"
done
exit "$failed"
