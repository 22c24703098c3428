#!/usr/bin/env bash
# One command from a fresh Debian machine to the whole test suite: installs everything, then
# runs unit, UI and lab tests (the lab tests build real clusters in network namespaces: root).
set -euo pipefail
cd "$(dirname "$0")/.."
./dev/install.sh
# the checks a maintainer expects, before the (longer) tests
echo "ruff: lint and format"
.venv/bin/ruff check --quiet .
.venv/bin/ruff format --check --quiet .
echo "mypy: hatui/ (strict for the pure modules)"
.venv/bin/mypy --no-error-summary
echo "import-linter: layers, no cycles, no UI in the engine"
.venv/bin/lint-imports --no-cache >/dev/null || .venv/bin/lint-imports --no-cache
set +e
.venv/bin/python -m pytest -ra "$@"
rc=$?
set -e
if [ "$rc" = 5 ]; then
  echo "dev/test.sh: pytest collected no tests" >&2
  exit 1
fi
exit "$rc"
