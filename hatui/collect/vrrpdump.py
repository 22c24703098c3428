"""Ask keepalived for its VRRP state: JSON dump, else the text data dump (both need root).

keepalived writes the dump asynchronously after the signal, into its own $TMPDIR (default /tmp),
so the script finds that folder as keepalived sees it (its TMPDIR from /proc/PID/environ, under
/proc/PID/root: right even with systemd's PrivateTmp or a mount namespace), removes the old file,
signals the parent pid and waits for a complete new file. A file there that is a symbolic link
or not root's is not keepalived's: it is neither removed nor read (a user of the node could
plant one in a shared /tmp to feed the console a false state, or point it at /etc/shadow).
The signal number comes from the node's own keepalived (`--signum`), since it differs by build.
Consoles only: the read-only wallboard never signals keepalived nor removes its files; it
reads VRRP state from keepalived's log.
"""

from __future__ import annotations

import re
import shlex

from hatui.collect.nodeprobe import find_pid_script

MARK = "@@hatui-dump "  # followed by "json" or "data" on its own line, then the dump


def dump_command(
    kind: str = "json", timeout: float = 2.0, *, pid_file: str | None = None, keepalived: str = "keepalived"
) -> str:
    """Shell to run as root on the node; prints MARK+kind then the dump, or exits non-zero
    (3 no keepalived, 4 no such dump, 5 signal failed, 6 no dump in time, 7 a foreign file).
    keepalived's pid is found as the probe finds it (hatui.collect.nodeprobe); a keepalived
    without --signum (1.x) gets SIGUSR1 for the data dump, which 1.x and 2.x both answer."""
    if kind not in ("json", "data"):
        raise ValueError(f"dump kind {kind!r}: expected json or data")
    if not re.fullmatch(r"[A-Za-z0-9_./-]+", keepalived):
        raise ValueError(f"{keepalived!r}: expected a plain path")
    steps = int(timeout / 0.05)
    fallback = "sig=USR1" if kind == "data" else f"{{ echo 'keepalived has no {kind} dump' >&2; exit 4; }}"
    script = f"""\
{find_pid_script(pid_file)}
[ -n "$p" ] || {{ echo 'no keepalived pid file or process' >&2; exit 3; }}
sig=$({keepalived} --signum={kind.upper()} 2>/dev/null) || {fallback}
d=$(tr '\\0' '\\n' < /proc/$p/environ 2>/dev/null | sed -n 's/^TMPDIR=//p' | head -n 1)
case "$d" in /*) ;; *) d=/tmp;; esac
f="/proc/$p/root$d/keepalived.{kind}"
own() {{ [ -f "$f" ] && [ ! -L "$f" ] && [ "$(stat -c %u "$f")" = 0 ]; }}
if [ -e "$f" ] || [ -L "$f" ]; then
  own || {{ echo "$d/keepalived.{kind} is not keepalived's (a link, or not root's): not touched" >&2; exit 7; }}
  rm -f -- "$f"
fi
kill -s "$sig" "$p" || exit 5
i=0
while [ $i -lt {steps} ]; do
  if [ -s "$f" ]; then
    own || {{ echo "$d/keepalived.{kind} is not keepalived's (a link, or not root's): not read" >&2; exit 7; }}
    a=$(stat -c %s "$f"); sleep 0.05; b=$(stat -c %s "$f")
    [ "$a" = "$b" ] && {{ echo '{MARK}{kind}'; cat -- "$f"; exit 0; }}
  else sleep 0.05; fi
  i=$((i+1))
done
echo 'keepalived wrote no {kind} dump within {timeout:g} s' >&2; exit 6"""
    return "exec sh -c " + shlex.quote(script)


def split_dump(stdout: str) -> tuple[str, str] | None:
    """(kind, text) from the command's output, or None when the marker is missing."""
    head, sep, rest = stdout.partition(MARK)
    if not sep:
        return None
    kind, _, text = rest.partition("\n")
    return kind.strip(), text
