#!/usr/bin/env bash
# Installs everything hatui and its lab need on Debian 12 or newer (run as root):
#  - Debian packages for the lab, only those missing: keepalived, mariadb-server, mariadb-client,
#    openssh-server, iproute2, util-linux, haproxy, socat, iputils-arping, tmux, prometheus, chromium, python3-venv. Their own services
#    are NOT started (the lab runs its own copies inside network namespaces).
#  - a Python virtual environment in .venv with hatui and its test dependencies, at exactly the
#    versions in constraints.txt (what CI ran; ./dev/lock.sh refreshes it).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
  echo "dev/install.sh: run as root (it installs Debian packages; the lab needs network namespaces)" >&2
  exit 1
fi

need=()
have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/sbin/$1" ]; }
have keepalived         || need+=(keepalived)
have mariadbd           || need+=(mariadb-server)
have mariadb            || need+=(mariadb-client)
have sshd               || need+=(openssh-server)
have ssh                || need+=(openssh-client)
have ip                 || need+=(iproute2)
have nsenter            || need+=(util-linux)
have tmux               || need+=(tmux)   # the console's smoke test runs it in a real terminal
have haproxy            || need+=(haproxy)  # the lab's router layer (seed 002)
have socat              || need+=(socat)    # its health check, on HAProxy's stats socket
have arping             || need+=(iputils-arping)  # a switchover's target announces the VIP it takes
have promtool           || need+=(prometheus)  # `hatui exporter`'s test scrapes with a real Prometheus
have chromium           || need+=(chromium)    # `hatui serve`'s test watches the wallboard in a real browser
have python3            || need+=(python3)
python3 -c 'import ensurepip, venv' 2>/dev/null || need+=(python3-venv)

if [ ${#need[@]} -gt 0 ]; then
  echo "installing Debian packages: ${need[*]}"
  # Keep the distro's mariadb/keepalived/ssh services from starting during the install.
  added_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    added_policy=1
  fi
  trap '[ "$added_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d' EXIT
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

python3 - <<'PY'
import sys
if sys.version_info < (3, 11):
    sys.exit(f"hatui needs Python 3.11 or newer; python3 is {sys.version.split()[0]}")
PY

# Reinstall the Python side only when pyproject.toml or the pinned versions changed.
stamp=.venv/.installed-$(cat pyproject.toml constraints.txt | sha1sum | cut -c1-12)
if [ ! -e "$stamp" ]; then
  echo "creating the Python environment in .venv (versions from constraints.txt)"
  [ -x .venv/bin/python ] || python3 -m venv .venv
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -c constraints.txt -e '.[test]'
  rm -f .venv/.installed-* && touch "$stamp"
fi
echo "hatui is installed: $(pwd)/.venv/bin/hatui"
