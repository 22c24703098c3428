"""What is sent over an SSH channel: the stop-on-close wrapper, sudo wrapping, and results.

Why a wrapper: when the client closes a channel, OpenSSH's sshd closes the pipes to the command
but does not signal it (signal requests are ignored for root sessions, and without a pty there is
no SIGHUP). A command that neither writes nor reads stdin (`sleep`, `journalctl -f` waiting for
the next entry, a hung `mysql` client) would run on for ever after a timeout or after the console
stopped reading. `tail -F` happens to notice a closed stdout, most programs do not.

So every command runs under a small POSIX sh wrapper (`dash` on Debian) that keeps the channel's
stdin open and watches it: the command runs in its own session (setsid, so its process group is
its own), with stdin from /dev/null; a watcher `cat`s the channel's stdin and, at end of file --
which sshd delivers when the channel closes or the connection ends -- kills the command's whole
process group with SIGTERM. When the command ends by itself the wrapper exits with its status.
We never send EOF on stdin ourselves: closing the channel is how a command is stopped.

A pty would also give SIGHUP on close, but it merges stderr into stdout and makes programs
behave as for a terminal (pagers in `journalctl`/`systemctl`, colours), so it is not used.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

#: the stop-on-close wrapper; $1 is the command (run by `sh -c`), $0 names the wrapper in `ps`
_WRAPPER = (
    "exec 3<&0 0</dev/null; "
    'setsid sh -c "$1" 3<&- & p=$!; '
    "{ cat <&3; kill -TERM -$p || kill -TERM $p; } >/dev/null 2>&1 & w=$!; "
    "exec 3<&-; "
    "wait $p; s=$?; kill $w 2>/dev/null; exit $s"
)
#: $0 of the wrapper: how hatui's commands are recognised in `ps` on a node
WRAPPER_NAME = "hatui-cmd"


def stop_on_close(command: str, *, sudo: bool = False) -> str:
    """The exec request for `command`: run it so that closing the channel ends it.

    `exec sh -c WRAPPER hatui-cmd COMMAND` (with sudo: `exec sudo -n -- sh -c WRAPPER ...`): the
    login shell is replaced, and the command is interpreted by POSIX `sh` whatever the user's
    login shell is. Under sudo the whole wrapper runs as root, so it may signal the command's
    process group (a wrapper running as the login user could not kill a root command); sudo
    hands it the channel's stdin, whose end of file still reaches the watcher."""
    prefix = "exec sudo -n -- " if sudo else "exec "
    return f"{prefix}sh -c {shlex.quote(_WRAPPER)} {WRAPPER_NAME} {shlex.quote(command)}"


def needs_sudo_wrap(*, sudo: bool, user: str, sudo_allowed: bool) -> bool | None:
    """The sudo rule. `sudo=True` means "this command needs root".

    - not needed (sudo=False), or the SSH user is root: run as is -> False
    - needed, user is not root, node has `ssh.sudo: true`: run under `sudo -n --` -> True
      (-n: never prompt; a sudo that wants a password fails at once, "sudo: a password is
      required", instead of hanging the channel)
    - needed, user is not root, no `ssh.sudo`: refuse -> None (the caller raises SshError;
      nothing is sent to the node)
    """
    if not sudo or user == "root":
        return False
    return True if sudo_allowed else None


def remote_command(command: str, *, sudo_wrapped: bool, reads_stdin: bool = False) -> str:
    """The full exec request for a command, under sudo when `sudo_wrapped`. A command fed on
    stdin gets the channel's stdin itself, not the watcher: the channel closing ends its input,
    which ends it (the end of file is its stop signal, as the watcher's is)."""
    if reads_stdin:
        return f"{'exec sudo -n -- ' if sudo_wrapped else 'exec '}sh -c {shlex.quote(command)}"
    return stop_on_close(command, sudo=sudo_wrapped)


def shorten(command: str, limit: int = 60) -> str:
    """A command as shown in messages: one line, at most `limit` characters."""
    one = " ".join(command.split())
    return one if len(one) <= limit else one[: limit - 1] + "\u2026"


@dataclass(frozen=True)
class CommandResult:
    """What a command run on a node produced. stdout/stderr are decoded as UTF-8 with
    errors="replace" (a log line in Latin-1 never raises)."""

    command: str
    exit_status: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def ok(self) -> bool:
        return self.exit_status == 0
