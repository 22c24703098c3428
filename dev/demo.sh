#!/usr/bin/env bash
# One command from a fresh Debian machine to the console on a real cluster:
# installs everything, brings up the lab (3 nodes: keepalived + MariaDB, in network
# namespaces) and opens the console on it. `sudo .venv/bin/hatui lab down` removes the lab.
set -euo pipefail
cd "$(dirname "$0")/.."
./dev/install.sh
.venv/bin/hatui lab up
exec .venv/bin/hatui lab console "$@"
