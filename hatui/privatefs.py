"""Files only the operator may read: what hatui keeps (journals, audit logs, recovered rows,
binlog dumps) holds row data and who did what. Folders are 0700, files 0600, and nothing is
ever opened through a symbolic link or inside a folder someone else owns, so a shared or
pre-planted state folder cannot redirect a write (a `journal.tmp` symlinked to /etc/shadow).
Standard library only."""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from hatui.errors import Refused

__all__ = ["PrivatePathError", "append_private", "open_private", "private_dir", "replace_private", "write_private"]

_WRITE = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC
_APPEND = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC


class PrivatePathError(Refused):
    """A state folder or file hatui would write is not safely its own."""


def _check_dir(path: Path) -> None:
    st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode):
        raise PrivatePathError(
            f"{path} is a symbolic link: hatui keeps its state only in real folders "
            "(remove the link, or point HATUI_STATE_DIR at a folder of yours)"
        )
    if not stat.S_ISDIR(st.st_mode):
        raise PrivatePathError(f"{path} is not a folder")
    if st.st_uid != os.geteuid():
        raise PrivatePathError(
            f"{path} belongs to uid {st.st_uid}, not to you (uid {os.geteuid()}): someone "
            "else could change what hatui writes there; use a folder of your own"
        )
    if st.st_mode & 0o077:
        os.chmod(path, 0o700, follow_symlinks=False)


def private_dir(path: Path, root: Path | None = None) -> Path:
    """Create `path` (0700) and check it and every folder from `root` down to it: each must be a
    real folder of this user; group/other bits are removed. `root` defaults to `path` itself."""
    path = Path(path)
    root = Path(root) if root is not None else path
    os.makedirs(path, mode=0o700, exist_ok=True)
    try:
        rel = path.relative_to(root)
    except ValueError:
        raise PrivatePathError(f"{path} is not inside {root}") from None
    current = root
    _check_dir(current)
    for part in rel.parts:
        current = current / part
        _check_dir(current)
    return path


def _data(data: str | bytes) -> bytes:
    return data.encode("utf-8", "surrogateescape") if isinstance(data, str) else data


def _open(path: Path, flags: int) -> int:
    try:
        fd = os.open(path, flags, 0o600)
    except OSError as exc:
        if exc.errno == 40:  # ELOOP: the last component is a symbolic link
            raise PrivatePathError(f"{path} is a symbolic link: refusing to write through it") from None
        raise
    os.fchmod(fd, 0o600)
    return fd


def write_private(path: Path, data: str | bytes) -> None:
    """Create or overwrite a 0600 file, never through a symbolic link."""
    fd = _open(path, _WRITE)
    with os.fdopen(fd, "wb") as f:
        f.write(_data(data))


def append_private(path: Path, data: str | bytes) -> None:
    """Append to a 0600 file (O_APPEND: short lines from several writers never interleave)."""
    fd = _open(path, _APPEND)
    try:
        os.write(fd, _data(data))
    finally:
        os.close(fd)


def open_private(path: Path):  # -> BinaryIO
    """A 0600 file opened for writing in binary, never through a symbolic link."""
    return os.fdopen(_open(path, _WRITE), "wb")


def replace_private(path: Path, data: str | bytes) -> None:
    """Write a 0600 file atomically: a fresh temporary file in the same folder (O_EXCL, so a
    planted name is never followed), then renamed over `path`."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(_data(data))
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
