#!/usr/bin/env bash
# One command from a fresh Debian machine to the whole test suite: installs everything, then
# runs unit, UI and lab tests (the lab tests build real clusters in network namespaces: root).
set -euo pipefail
cd "$(dirname "$0")/.."
./dev/install.sh
set +e
.venv/bin/python -m pytest -ra "$@"
rc=$?
set -e
if [ "$rc" = 5 ]; then
  echo "dev/test.sh: pytest collected no tests" >&2
  exit 1
fi
exit "$rc"
