"""The option file `hatui failover` leaves on a replaced writer so that its mysqld, if it starts
again, starts read-only; and how a node that becomes the writer again sheds it. Pure (shell
command text).

Once that node is the writer again (a switchover back, make-writable), the file must go: left
behind, the writer's next restart brings it back read-only with every write failing (the chaos
soak found exactly that on seed 002's deployment)."""

from __future__ import annotations

import shlex

from hatui.binlog.locate import defaults_command

FENCE_FILE = "zz-hatui-fenced.cnf"
FENCE_DIRS = ("/etc/mysql/conf.d", "/etc/mysql/mariadb.conf.d", "/etc/my.cnf.d")
FENCE_PATHS = tuple(f"{d}/{FENCE_FILE}" for d in FENCE_DIRS)


def fence_restart_command(super_read_only: bool) -> str:
    """Write an option file that makes mysqld start read-only, into the first drop-in folder the
    host has, and prove with my_print_defaults that mysqld reads it (the last read_only it sees
    is ON); a file mysqld would not read is removed and the command fails."""
    lines = [
        "[mysqld]",
        "# hatui failover: this server was the writer and was replaced; it must not come back",
        "# writable. hatui removes it when this server is made the writer again.",
        "read_only = ON",
    ] + (["super_read_only = ON"] if super_read_only else [])
    body = " ".join(shlex.quote(line) for line in lines)
    dirs = " ".join(FENCE_DIRS)
    return (
        f'f=""; for d in {dirs}; do if [ -d "$d" ]; then f="$d/{FENCE_FILE}"; break; fi; done; '
        '[ -n "$f" ] || { echo "no option-file folder (conf.d) on this host" >&2; exit 3; }; '
        f'printf "%s\\n" {body} > "$f" && '
        f"{{ {defaults_command()}; }} | grep -iE '^--read[-_]only' | tail -n 1 | grep -qiE '=(on|1)$' "
        '|| { echo "mysqld does not read $f (my.cnf does not include its folder)" >&2; rm -f "$f"; exit 4; }'
    )


def fence_check_command() -> str:
    """Prints the path of every fence file the host has (nothing when none)."""
    return "for f in " + " ".join(FENCE_PATHS) + '; do [ -e "$f" ] && echo "$f"; done; true'


def unfence_command() -> str:
    """Removes the fence file wherever it is; idempotent."""
    return "rm -f " + " ".join(FENCE_PATHS)
