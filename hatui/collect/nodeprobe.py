"""The per-second node probe: addresses (for VIP ownership) and whether keepalived runs.

One remote command gives both, so a node costs one SSH channel a second, not two.
"""

from __future__ import annotations

import json
import shlex

from hatui.state.observations import AddressObs, KeepalivedProcObs

SEPARATOR = "@@hatui-probe@@"
PID_FILE = "/run/keepalived.pid"  # keepalived's default parent pid file (1.x: /var/run, a link)

# The pid file survives a SIGKILL, and a killed daemon may linger as a zombie: check the process
# exists, is not a zombie, and really is keepalived (pids get reused).
_KEEPALIVED_CHECK = f"""\
p=$(cat {PID_FILE} 2>/dev/null) || {{ echo 'down no pid file {PID_FILE}'; exit 0; }}
[ -r /proc/$p/stat ] || {{ echo "down pid $p from {PID_FILE} is gone"; exit 0; }}
s=$(sed 's/.*) //' /proc/$p/stat | cut -d' ' -f1)
c=$(cat /proc/$p/comm 2>/dev/null)
if [ "$s" = Z ]; then echo "down pid $p is a zombie (killed)";
elif [ "$c" != keepalived ]; then echo "down pid $p is $c, not keepalived";
else echo "up $p"; fi"""


def probe_command(with_keepalived: bool) -> str:
    script = "ip -j addr show"
    if with_keepalived:
        script += f"; echo {SEPARATOR}\n" + _KEEPALIVED_CHECK
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


def parse_keepalived_check(text: str) -> KeepalivedProcObs:
    line = text.strip().splitlines()[-1] if text.strip() else ""
    word, _, rest = line.partition(" ")
    if word == "up" and rest.strip().isdigit():
        return KeepalivedProcObs(True, int(rest))
    if word == "down":
        return KeepalivedProcObs(False, None, rest.strip())
    return KeepalivedProcObs(False, None, f"unexpected probe output {line[:80]!r}")


def parse_probe(stdout: str, with_keepalived: bool) -> tuple[AddressObs, KeepalivedProcObs | None]:
    addr_text, sep, ka_text = stdout.partition(SEPARATOR)
    addresses = parse_ip_addr(addr_text)
    if not with_keepalived:
        return addresses, None
    if not sep:
        return addresses, KeepalivedProcObs(False, None, "probe output was cut short")
    return addresses, parse_keepalived_check(ka_text)
