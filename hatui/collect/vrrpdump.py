"""Ask keepalived for its VRRP state: JSON dump, else the text data dump (both need root).

keepalived writes the dump asynchronously after the signal, into its own $TMPDIR (default /tmp),
so the script removes the old file, signals the parent pid, and waits for a complete new file.
The signal number comes from the node's own keepalived (`--signum`), since it differs by build.
"""

from __future__ import annotations

import shlex

from hatui.collect.nodeprobe import PID_FILE

DUMP_DIR = "/tmp"
MARK = "@@hatui-dump "  # followed by "json" or "data" on its own line, then the dump


def dump_command(kind: str = "json", timeout: float = 2.0) -> str:
    """Shell to run as root on the node; prints MARK+kind then the dump, or exits non-zero."""
    if kind not in ("json", "data"):
        raise ValueError(f"dump kind {kind!r}: expected json or data")
    f = f"{DUMP_DIR}/keepalived.{kind}"
    steps = int(timeout / 0.05)
    script = f"""\
p=$(cat {PID_FILE} 2>/dev/null) || {{ echo 'no keepalived pid file {PID_FILE}' >&2; exit 3; }}
sig=$(keepalived --signum={kind.upper()} 2>/dev/null) || {{ echo 'keepalived has no {kind} dump' >&2; exit 4; }}
rm -f {f}
kill -s "$sig" "$p" || exit 5
i=0
while [ $i -lt {steps} ]; do
  if [ -s {f} ]; then
    a=$(stat -c %s {f}); sleep 0.05; b=$(stat -c %s {f})
    [ "$a" = "$b" ] && {{ echo '{MARK}{kind}'; cat {f}; exit 0; }}
  else sleep 0.05; fi
  i=$((i+1))
done
echo 'keepalived wrote no {kind} dump within {timeout:g} s' >&2; exit 6"""
    return f"exec sh -c {shlex.quote(script)}"


def split_dump(stdout: str) -> tuple[str, str] | None:
    """(kind, text) from the command's output, or None when the marker is missing."""
    head, sep, rest = stdout.partition(MARK)
    if not sep:
        return None
    kind, _, text = rest.partition("\n")
    return kind.strip(), text
