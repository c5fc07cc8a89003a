#!/usr/bin/env bash
# Load test of the lobby and the team rooms (workspaces off), as the issue asks: N = 1,000 and
# N = 10,000 simulated participants on this machine, against an optimised build.
# Usage: scripts/loadtest.sh [N ...]   (default: 1000 10000)
set -euo pipefail
cd "$(dirname "$0")/.."
# Each participant holds a WebSocket in the server and one in the client process.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
echo "open files limit: $(ulimit -n)"
# ope-bench runs the load and starts the `ope serve` beside it.
swift build -c release --product ope
swift build -c release --product ope-bench
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1000 10000)
for n in "${sizes[@]}"; do
  .build/release/ope-bench loadtest --users "$n" --modules examples/modules
done
