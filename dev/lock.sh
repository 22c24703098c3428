#!/usr/bin/env bash
# Refreshes constraints.txt: the exact versions dev/install.sh installs (and CI tests).
# One line: ./dev/lock.sh   (then run ./dev/test.sh and commit constraints.txt with the result)
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 -m venv "$tmp/venv"
"$tmp/venv/bin/python" -m pip install -q --upgrade pip
"$tmp/venv/bin/python" -m pip install -q -e '.[test]'
{
  echo "# Exact versions of everything hatui and its tests install; dev/install.sh uses it as pip"
  echo "# constraints. Refresh with ./dev/lock.sh (newest releases that fit pyproject.toml)."
  "$tmp/venv/bin/python" -m pip freeze --exclude-editable --all | grep -v '^\(pip\|setuptools\|wheel\)=='
} > constraints.txt
echo "constraints.txt: $(grep -c '==' constraints.txt) pins"
