"""Run hatui inside the network namespace a cluster file names (the lab's operator namespace)."""

from __future__ import annotations

import ctypes
import os
import sys
import threading

from hatui.errors import Unreachable

GUARD = "HATUI_IN_NETNS"
CLONE_NEWNET = 0x40000000


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


def setns_net(name: str) -> None:
    """Move the calling thread into network namespace `name` (OSError when it cannot).

    setns(2) moves only the calling thread; threads it starts afterwards inherit the namespace,
    and a socket belongs to the namespace of the thread that creates it."""
    fd = os.open(f"/run/netns/{name}", os.O_RDONLY)  # never creates a namespace
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"setns({name}): {os.strerror(err)}")
    finally:
        os.close(fd)


def reexec_in(name: str, argv: list[str]) -> None:
    """Go on inside namespace `name`; returns there (or if already there).

    A process with one thread enters in place: setns moves the whole process then, and a second
    interpreter start with its imports and cluster file load (~0.6 s, most of a repeat runbook's
    time) is saved. Otherwise (threads already running, which would stay outside) the process
    is replaced by hatui started under `ip netns exec`."""
    if in_namespace(name):
        return
    if os.environ.get(GUARD) == name:
        raise NamespaceError(f"could not enter network namespace {name!r}")
    if os.geteuid() != 0:
        raise NamespaceError(
            f"the cluster file asks to run in network namespace {name!r}, which needs root "
            f"(run with sudo, or remove `namespace:` from the cluster file)"
        )
    os.environ[GUARD] = name  # what the namespace's processes inherit either way
    if threading.active_count() == 1:
        try:
            setns_net(name)
        except OSError as exc:
            raise NamespaceError(f"could not enter network namespace {name!r}: {exc.strerror}") from None
        if not in_namespace(name):
            raise NamespaceError(f"could not enter network namespace {name!r}")
        return
    os.execvp("ip", ["ip", "netns", "exec", name, sys.executable, "-m", "hatui", *argv])
