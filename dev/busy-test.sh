#!/usr/bin/env bash
# The whole suite on a busy machine: one core kept busy by a bounded CPU hog (stress-ng, from
# Debian), started and stopped by its PID, while ./dev/test.sh runs. Usage:
#   ./dev/busy-test.sh [pytest args]        (root; installs stress-ng when missing)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v stress-ng >/dev/null 2>&1 || {
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends stress-ng >/dev/null
}
# bounded: it ends by itself after 2 hours even if this script is killed
stress-ng --cpu 1 --cpu-load 100 --timeout 7200 --quiet &
hog=$!
trap 'kill "$hog" 2>/dev/null || true; wait "$hog" 2>/dev/null || true' EXIT
echo "busy-test: stress-ng --cpu 1 running as pid $hog"
set +e
./dev/test.sh "$@"
rc=$?
set -e
echo "busy-test: ./dev/test.sh exited $rc with one core busy"
exit "$rc"
