"""Can the lab run here? Clear answers instead of half-built namespaces."""

from __future__ import annotations

import os
import shutil

from hatui.errors import HatuiError, Refused

# binary -> Debian package that ships it
REQUIRED = {
    "ip": "iproute2",
    "unshare": "util-linux",
    "nsenter": "util-linux",
    "sshd": "openssh-server",
    "ssh-keygen": "openssh-client",
    "keepalived": "keepalived",
    "mariadbd": "mariadb-server",
    "mariadb-install-db": "mariadb-server",
    "mariadb": "mariadb-client",
    "timeout": "coreutils",
    "haproxy": "haproxy",  # the router layer of --topology primary-replicas (seed 002)
    "socat": "socat",  # the routers' health check talks to HAProxy's stats socket
}
SBIN = ("/usr/sbin", "/sbin", "/usr/bin", "/bin")


class LabError(HatuiError):
    """A lab problem with a message a person can act on."""


class LabRefused(LabError, Refused):
    """Nothing was done: the lab is not up, not root, an unknown node or fault."""


def find(binary: str) -> str | None:
    found = shutil.which(binary)
    if found:
        return found
    for d in SBIN:  # sbin is often not on a non-login PATH
        p = os.path.join(d, binary)
        if os.access(p, os.X_OK):
            return p
    return None


def missing_packages() -> list[str]:
    return sorted({pkg for b, pkg in REQUIRED.items() if find(b) is None})


def check() -> None:
    if os.geteuid() != 0:
        raise LabRefused(
            "the lab needs root: it creates network namespaces, a bridge and veth links, and runs "
            "sshd, mariadbd and keepalived inside them.\n  run it as root, e.g. `sudo hatui lab up`"
        )
    missing = missing_packages()
    if missing:
        raise LabRefused(
            "the lab needs Debian packages that are not installed: "
            + ", ".join(missing)
            + "\n  install them with: apt-get install -y "
            + " ".join(missing)
            + "\n  (or run ./dev/demo.sh, which installs everything)"
        )
