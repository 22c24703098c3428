"""Run a full-screen command in a pseudo-terminal, as a person at a terminal would."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time

ANSI = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Z0-9]|\x1b\][^\x07]*\x07")


class PtyApp:
    def __init__(self, argv: list[str], cols: int = 120, rows: int = 32, env: dict | None = None):
        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        self.proc = subprocess.Popen(
            argv,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            close_fds=True,
            env={**os.environ, "TERM": "xterm-256color", **(env or {})},
            start_new_session=True,
        )
        os.close(slave)
        self.raw = b""

    def text(self) -> str:
        return ANSI.sub(b"", self.raw).decode(errors="replace")

    def _pump(self, wait: float = 0.1) -> None:
        """Append whatever the program wrote within `wait` seconds."""
        r, _, _ = select.select([self.master], [], [], wait)
        if r:
            try:
                self.raw += os.read(self.master, 65536)
            except OSError:  # the program closed the terminal
                pass

    def read_until(self, needles: list[str], timeout: float = 20.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(n in self.text() for n in needles):
                return self.text()
            self._pump()
        raise AssertionError(f"did not see {needles} on screen; saw:\n{self.text()[-1500:]}")

    def send(self, keys: str) -> None:
        os.write(self.master, keys.encode())

    def wait(self, timeout: float = 10.0) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._pump()
            if self.proc.poll() is not None:
                return self.proc.returncode
        self.close()
        raise AssertionError("the program did not exit")

    def close(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        try:
            os.close(self.master)
        except OSError:
            pass


def hatui_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "hatui", *args]
