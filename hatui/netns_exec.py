"""Run hatui inside the network namespace a cluster file names (the lab's operator namespace)."""

from __future__ import annotations

import os
import sys

from hatui.errors import Unreachable

GUARD = "HATUI_IN_NETNS"


class NamespaceError(Unreachable):
    pass


def in_namespace(name: str) -> bool:
    try:
        target = os.stat(f"/run/netns/{name}")
    except FileNotFoundError:
        raise NamespaceError(
            f"network namespace {name!r} does not exist (for the lab: run `hatui lab up` first)"
        ) from None
    mine = os.stat("/proc/self/ns/net")
    return (mine.st_dev, mine.st_ino) == (target.st_dev, target.st_ino)


def reexec_in(name: str, argv: list[str]) -> None:
    """Replace this process with hatui running inside namespace `name`; returns if already there."""
    if in_namespace(name):
        return
    if os.environ.get(GUARD) == name:
        raise NamespaceError(f"could not enter network namespace {name!r}")
    if os.geteuid() != 0:
        raise NamespaceError(
            f"the cluster file asks to run in network namespace {name!r}, which needs root "
            f"(run with sudo, or remove `namespace:` from the cluster file)"
        )
    os.environ[GUARD] = name
    os.execvp("ip", ["ip", "netns", "exec", name, sys.executable, "-m", "hatui", *argv])
