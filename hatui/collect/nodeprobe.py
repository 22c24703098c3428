"""The per-second node probe: addresses (for VIP ownership) and whether keepalived runs.

One remote command gives both, so a node costs one SSH channel a second, not two. It works on
old hosts too (CentOS 6/7, seeds 000/001): `ip -j` exists only from iproute2 4.13, so the
probe falls back to `ip -o addr`; keepalived's pid file is wherever the cluster file says, else
the first of the usual places, else the keepalived process whose parent is not keepalived
(found in /proc, no pidof needed).
"""

from __future__ import annotations

import json
import re
import shlex

from hatui.state.observations import AddressObs, KeepalivedProcObs

SEPARATOR = "@@hatui-probe@@"
JSON_MARK = "@@hatui-ip json"
ONELINE_MARK = "@@hatui-ip oneline"
PID_FILE = "/run/keepalived.pid"  # keepalived's default parent pid file (1.x: /var/run, a link)
# where keepalived's parent pid file is found on the distributions the seeds run
PID_FILES = (
    PID_FILE,
    "/var/run/keepalived.pid",
    "/run/keepalived/keepalived.pid",
    "/var/run/keepalived/keepalived.pid",
)

_SAFE_PATH = re.compile(r"/[A-Za-z0-9_./@+:,=~-]*")


def find_pid_script(pid_file: str | None = None) -> str:
    """Shell that sets $p to keepalived's parent pid and $pf to where it was found ('' if not).
    The pid file survives a SIGKILL, so the caller still checks the process."""
    files = ([pid_file] if pid_file else []) + [f for f in PID_FILES if f != pid_file]
    for f in files:
        if not _SAFE_PATH.fullmatch(f):
            raise ValueError(f"{f!r}: expected a plain absolute path")
    return f"""\
p=; pf=
for f in {" ".join(files)}; do
  if [ -s "$f" ]; then p=$(cat "$f" 2>/dev/null); pf=$f; break; fi
done
if [ -z "$p" ]; then
  # only a keepalived of this host's network stack: a container's (or a lab node's, all in one
  # pid namespace) is another node's; unreadable namespaces (not root) are not compared
  me=$(readlink /proc/$$/ns/net 2>/dev/null)
  for d in /proc/[0-9]*; do
    [ "$(cat "$d/comm" 2>/dev/null)" = keepalived ] || continue
    ns=$(readlink "$d/ns/net" 2>/dev/null)
    [ -z "$me" ] || [ -z "$ns" ] || [ "$ns" = "$me" ] || continue
    pp=$(sed 's/.*) //' "$d/stat" 2>/dev/null | cut -d' ' -f2)
    [ "$(cat "/proc/$pp/comm" 2>/dev/null)" = keepalived ] && continue
    p=${{d#/proc/}}; pf=/proc; break
  done
fi
case "$p" in *[!0-9]*) p=;; esac"""


def _keepalived_check(pid_file: str | None) -> str:
    # a killed daemon may linger as a zombie, and pids get reused: check what the pid is
    looked = ", ".join(([pid_file] if pid_file else []) + [f for f in PID_FILES if f != pid_file])
    return (
        find_pid_script(pid_file)
        + f"""
[ -n "$p" ] || {{ echo "down no pid file ({looked}) and no keepalived process"; exit 0; }}"""
        + """
[ -r /proc/$p/stat ] || { echo "down pid $p from $pf is gone"; exit 0; }
s=$(sed 's/.*) //' /proc/$p/stat | cut -d' ' -f1)
c=$(cat /proc/$p/comm 2>/dev/null)
if [ "$s" = Z ]; then echo "down pid $p is a zombie (killed)";
elif [ "$c" != keepalived ]; then echo "down pid $p is $c, not keepalived";
else echo "up $p $pf"; fi"""
    )


# `ip -j` needs iproute2 4.13+; older ones refuse it: then the one-line form
_ADDRESSES = f"""\
if out=$(ip -j addr show 2>/dev/null) && [ -n "$out" ]; then echo '{JSON_MARK}'; echo "$out";
else echo '{ONELINE_MARK}'; ip -o addr show; fi"""


BEGIN = "@@hatui-probe-begin@@"
END = "@@hatui-probe-end@@"
SAME = "@@hatui-probe-same@@"  # this reading is the one before it, taken again now


def probe_stream_command(with_keepalived: bool, pid_file: str | None = None, interval: float = 1.0) -> str:
    """The probe as one long-lived command: a reading every `interval` seconds between BEGIN and
    END lines (or SAME when it equals the one before), on one SSH channel instead of a new
    session a second. Each reading runs in a
    command substitution, a subshell (the check's `exit` ends the reading, not the loop). When the channel closes, the
    next line written fails (SIGPIPE) and the loop ends with it: no orphan outlives a reading."""
    script = _ADDRESSES
    if with_keepalived:
        script += f"\necho {SEPARATOR}\n" + _keepalived_check(pid_file)
    # the reading is taken whole, then written at once: one SSH packet a second, not one per
    # line (each packet wakes the console; at a fleet's scale that was a visible share of its
    # CPU). A reading equal to the one before is one SAME line: ~20 bytes to decrypt and nothing
    # to parse, not the addresses' JSON again; still a line a second, so a quiet stream is news
    loop = (
        f"o=; while :; do r=$(\n{script}\n); "
        f'if [ "$r" = "$o" ]; then echo {SAME}; else printf \'{BEGIN}\\n%s\\n{END}\\n\' "$r"; o=$r; fi; '
        f"sleep {interval:g}; done"
    )
    return f"exec sh -c {shlex.quote(loop)}"


def probe_command(with_keepalived: bool, pid_file: str | None = None) -> str:
    script = _ADDRESSES
    if with_keepalived:
        script += f"\necho {SEPARATOR}\n" + _keepalived_check(pid_file)
    return f"exec sh -c {shlex.quote(script)}"


def parse_ip_addr(text: str) -> AddressObs:
    """`ip -j addr` output → every address on the node (IPv4 and IPv6, no prefix length)."""
    try:
        data = json.loads(text)
        if not isinstance(data, list):
            raise ValueError("expected a JSON list of interfaces")
        pairs = []
        for iface in data:
            for a in iface.get("addr_info", []) or []:
                if "local" in a:
                    pairs.append((str(iface.get("ifname", "?")), str(a["local"])))
    except (ValueError, AttributeError, TypeError) as e:
        return AddressObs(error=f"cannot read `ip -j addr` output: {e}")
    return AddressObs(frozenset(addr for _, addr in pairs), tuple(pairs))


def parse_ip_oneline(text: str) -> AddressObs:
    """`ip -o addr` output (`2: eth0    inet 10.0.0.1/24 brd ... scope global eth0`)."""
    pairs = []
    for line in text.splitlines():
        f = line.split()
        if len(f) >= 4 and f[2] in ("inet", "inet6"):
            pairs.append((f[1].rstrip(":").split("@")[0], f[3].split("/")[0]))
    if not pairs and text.strip():
        return AddressObs(error=f"cannot read `ip -o addr` output: {text.strip().splitlines()[0][:80]!r}")
    return AddressObs(frozenset(a for _, a in pairs), tuple(pairs))


def parse_addresses(text: str) -> AddressObs:
    """The address part of the probe: JSON or one-line, as the host could give it."""
    head, _, body = text.lstrip().partition("\n")
    if head.strip() == JSON_MARK:
        return parse_ip_addr(body)
    if head.strip() == ONELINE_MARK:
        return parse_ip_oneline(body)
    return parse_ip_addr(text)  # the bare JSON of an older probe


def parse_keepalived_check(text: str) -> KeepalivedProcObs:
    line = text.strip().splitlines()[-1] if text.strip() else ""
    word, _, rest = line.partition(" ")
    pid, _, where = rest.strip().partition(" ")
    if word == "up" and pid.isdigit():
        return KeepalivedProcObs(True, int(pid), "" if where in ("", PID_FILE) else f"pid from {where}")
    if word == "down":
        return KeepalivedProcObs(False, None, rest.strip())
    return KeepalivedProcObs(False, None, f"unexpected probe output {line[:80]!r}")


def parse_probe(stdout: str, with_keepalived: bool) -> tuple[AddressObs, KeepalivedProcObs | None]:
    addr_text, sep, ka_text = stdout.partition(SEPARATOR)
    addresses = parse_addresses(addr_text)
    if not with_keepalived:
        return addresses, None
    if not sep:
        return addresses, KeepalivedProcObs(False, None, "probe output was cut short")
    return addresses, parse_keepalived_check(ka_text)
