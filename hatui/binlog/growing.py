"""A local file another task is still writing, read as it grows: the binlog dump is parsed
while it downloads, not after (at 100,000 transactions the download and the parse take some
6 s and 4.6 s; one after the other they were most of a gap repair's read)."""

from __future__ import annotations

import io
import os
import threading
from pathlib import Path

from hatui.binlog.dump import BinlogDump, parse_dump


class GrowingFile(io.RawIOBase):
    """Bytes of `path` as they are appended; end of file only once `done` is set and every byte
    written before it was read. The writer calls grew() after each flushed write, and done()
    when it stops, whether it finished or failed (the reader then sees the end of what came)."""

    def __init__(self, path: Path):
        super().__init__()
        self._fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        self._more = threading.Event()
        self._done = threading.Event()

    # the writer's side (any thread)
    def grew(self) -> None:
        self._more.set()

    def finish(self) -> None:
        self._done.set()
        self._more.set()

    # the reader's side
    def readable(self) -> bool:
        return True

    def readinto(self, b: memoryview) -> int:  # type: ignore[override]
        while True:
            self._more.clear()  # before reading: a write after this read still wakes the wait
            n = os.readv(self._fd, [b])
            if n:
                return n
            if self._done.is_set():
                return os.readv(self._fd, [b])  # what was written just before done, or 0: the end
            self._more.wait(0.5)

    def close(self) -> None:
        if not self.closed:
            os.close(self._fd)
        super().close()


def parse_growing(src: GrowingFile, file: str, expect_end: int) -> BinlogDump:
    """parse_dump of a dump as it downloads (keep_text=False). The text is not translated
    (newline=""): a "\\r" inside a statement is replayed as it ran, not as a line break."""
    with src, io.TextIOWrapper(io.BufferedReader(src), encoding="utf-8", errors="surrogateescape", newline="") as f:
        return parse_dump(f, file, expect_end=expect_end, keep_text=False)
