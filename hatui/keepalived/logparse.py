"""Parse one keepalived log line (any of the forms it reaches an operator in) into an event.

Line forms, detected from the first character:
  RFC 3164 syslog   `Nov 21 14:32:55 host Keepalived_vrrp[123]: VRRP_Instance(VI_1) ...`
  ISO / RFC 5424    `2026-11-21T14:32:55.123+08:00 host Keepalived_vrrp[123]: ...`,
                    `<30>1 2026-11-21T14:32:55Z host Keepalived_vrrp 123 - - ...`
  console / -g file `Sat Nov 21 14:32:55 2026: (VI_1) Entering MASTER STATE`
                    (`keepalived -n -l -D`, what the lab writes; `-g` adds nanoseconds)
  journald JSON     one `journalctl -o json` object per line
  bare message      `(VI_1) Entering MASTER STATE`

Messages in both the 1.x (`VRRP_Instance(VI_1) ...`) and 2.x (`(VI_1) ...`) forms are
classified into an EventKind; anything unknown becomes a RAW event. parse_line never raises.
"""

from __future__ import annotations

import json
import re
import time as _time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from .events import EventKind, KeepalivedEvent
from .redact import redact

K = EventKind
_MONTHS = {
    m: i for i, m in enumerate(("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1)
}
_DAYS = frozenset(("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"))
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DETAIL_MAX = 200

# ------------------------------------------------------------------ line prefixes

_RFC3164 = re.compile(
    r"(?P<mon>[A-Z][a-z]{2}) +(?P<day>\d{1,2}) (?P<h>\d\d):(?P<m>\d\d):(?P<s>\d\d)(?:\.(?P<frac>\d+))?"
    r" +(?:(?P<host>\S+) )?(?P<tag>[^\s:\[\]]+)(?:\[(?P<pid>\d+)\])?:(?: |$)(?P<msg>.*)",
    re.S,
)
_CONSOLE = re.compile(
    r"(?:[A-Z][a-z]{2}) (?P<mon>[A-Z][a-z]{2}) +(?P<day>\d{1,2}) (?P<h>\d\d):(?P<m>\d\d):(?P<s>\d\d)"
    r"(?:\.(?P<frac>\d+))? (?P<year>\d{4}): ?(?P<msg>.*)",
    re.S,
)
_ISO = re.compile(
    r"(?P<ts>\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d(?::?\d\d)?)?)"
    r" +(?P<host>\S+) (?P<tag>[^\s:\[\]]+)(?:\[(?P<pid>\d+)\])?:(?: |$)(?P<msg>.*)",
    re.S,
)
_RFC5424 = re.compile(
    r"<\d{1,3}>\d{1,2} (?P<ts>\S+) (?P<host>\S+) (?P<tag>\S+) (?P<pid>\S+) \S+"
    r" (?:-|(?:\[(?:[^\]\\]|\\.)*\])+)(?: (?P<msg>.*))?",
    re.S,
)
_PRI = re.compile(r"<\d{1,3}>")
# syslog with the date left out (`13:03:21 host Keepalived[1657]: ...`, some rsyslog templates)
_TIME_ONLY = re.compile(
    r"(?P<h>\d\d):(?P<m>\d\d):(?P<s>\d\d)(?:\.(?P<frac>\d+))?"
    r" +(?:(?P<host>\S+) )?(?P<tag>[^\s:\[\]]+)(?:\[(?P<pid>\d+)\])?:(?: |$)(?P<msg>.*)",
    re.S,
)
# RFC 3164 written in another locale: `3月 23 09:33:06 host ...` (zh/ja), `Mär 23 ...` (de),
# `févr. 23 ...` (fr)
_RFC3164_INTL = re.compile(
    r"(?P<mon>\d{1,2}[月월]|[^\W\d_]{3,5}\.?) +(?P<day>\d{1,2})日? (?P<h>\d\d):(?P<m>\d\d):(?P<s>\d\d)"
    r"(?:\.(?P<frac>\d+))? +(?:(?P<host>\S+) )?(?P<tag>[^\s:\[\]]+)(?:\[(?P<pid>\d+)\])?:(?: |$)(?P<msg>.*)",
    re.S,
)
_LOCALE_MONTHS = {
    name: i
    for names in (
        ("jan", "feb", "mär", "apr", "mai", "jun", "jul", "aug", "sep", "okt", "nov", "dez"),  # de
        ("janv", "févr", "mars", "avr", "mai", "juin", "juil", "août", "sept", "oct", "nov", "déc"),  # fr
        ("ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sep", "oct", "nov", "dic"),  # es
        ("gen", "feb", "mar", "apr", "mag", "giu", "lug", "ago", "set", "ott", "nov", "dic"),  # it
        ("jan", "fev", "mar", "abr", "mai", "jun", "jul", "ago", "set", "out", "nov", "dez"),  # pt
        ("jan", "feb", "mrt", "apr", "mei", "jun", "jul", "aug", "sep", "okt", "nov", "dec"),  # nl
    )
    for i, name in enumerate(names, 1)
}
# Rancher's log export: `12/20/2016 9:57:43 PMKeepalived_vrrp[21]: ...` (no space before the tag)
_US_STAMP = re.compile(
    r"(?P<mo>\d{1,2})/(?P<day>\d{1,2})/(?P<year>\d{4}) (?P<h>\d{1,2}):(?P<m>\d\d):(?P<s>\d\d)"
    r" ?(?P<ampm>[AaPp][Mm]) ?(?P<tag>[^\s:\[\]]+)(?:\[(?P<pid>\d+)\])?:(?: |$)(?P<msg>.*)",
    re.S,
)

# ------------------------------------------------------------------ messages

_INST_NEW = re.compile(r"\((?P<i>[^()]*)\):? ?")
_INST_OLD = re.compile(r"VRRP_Instance\((?P<i>[^()]*)\):? ?")
_GROUP = re.compile(r"VRRP_Group\((?P<i>[^()]*)\):? ?")
_SCRIPT = re.compile(
    r"VRRP_Script\((?P<s>[^()]*)\) (?P<r>succeeded|failed|timed[ _]out|considered (?:un)?successful on reload)"
    r"(?: \((?P<why>[^)]*?)(?: (?P<rc>-?\d+))?\))?"
)
_SCRIPT_RC = re.compile(r"Script `(?P<s>[^`]*)` now returning (?P<rc>-?\d+)")
_STATE = re.compile(
    r"(?P<verb>Entering|entering|Now in|Transition to|Syncing instances to|Syncing \S+ to|Leaving)"
    r" (?P<st>[A-Za-z]+) (?:STATE|state)(?P<rest>.*)",
    re.S,
)
_DUE_TO_SCRIPT = re.compile(r" due to script (?P<s>\S+)")
_PRIO_CHANGE = re.compile(r"Changing effective priority from (?P<a>-?\d+) to (?P<b>-?\d+)")
_PRIO_SET = re.compile(r"Setting effective priority to (?P<b>-?\d+)")
_ADV_MASTER_HIGHER = re.compile(
    r"Master received advert from (?P<ip>\S+) with higher priority (?P<p>\d+), ours (?P<o>\d+)"
)
_ADV_SAME = re.compile(r"Master received advert from (?P<ip>\S+) with same priority (?P<p>\d+)")
_ADV_LOWER_FROM = re.compile(r"Received advert from (?P<ip>\S+) with lower priority (?P<p>\d+), ours (?P<o>\d+)")
_ADV_WITH = re.compile(r"Received advert with (?P<hl>higher|lower) priority (?P<p>\d+), ours (?P<o>\d+)")
_ADV_OLD = re.compile(r"Received (?P<hl>higher|lower) prio advert")
_ADV_DISCARD = re.compile(r"received lower priority \((?P<p>\d+)\) advert from (?P<ip>\S+)")
_PRIO_ZERO = re.compile(r"sent 0 priority|received priority 0|priority 0 (?:advert|message)")
_VIPS = re.compile(r"(?P<v>sett|remov)ing (?:protocol )?(?P<e>E-)?VIPs")
_GARP = re.compile(
    r"(?P<err>Error (?:\d+ \([^)]*\) )?)?[Ss]ending(?:/queueing)? (?P<what>gratuitous ARPs?|"
    r"[Uu]nsolicited [Nn]eighbour [Aa]dverts?|gratuitous NAs?|NAs?)"
    r" on (?P<ifname>\S+) for (?P<ip>\S+)"
)
_NL_IP = re.compile(r"Netlink reflector reports IP (?P<ip>\S+) (?P<what>added|removed)")
_NL_LINK = re.compile(r"(?:Netlink|Linkbeat) reports (?P<ifname>\S+) (?P<what>\S+)")
_NL_KERNEL = re.compile(r"Kernel is reporting: (?:interface (?P<ifname>\S+) )?(?P<what>.*)")
_NL_ADDR = re.compile(r"(?P<what>Assigned|Deassigned) address (?P<ip>\S+) (?:for|from) interface (?P<ifname>\S+)")
_NL_IFDOWN = re.compile(r"interface (?P<ifname>\S+) is (?P<what>down|up)")
_AUTH = re.compile(
    r"receive(?:d)? an invalid passwd|receive(?:d)? a \d+ auth, expecting \d+|Invalid auth type"
    r"|No AH header but auth type is AH|Received AH header but auth type not AH|IPSEC-AH : invalid"
    r"|invalid IPSEC SPI"
)
_INTERVAL = re.compile(
    r"advertis+ement interval (?:mismatch|changed|updated)|changing advert interval"
    r"|using locally configured advertisement interval"
)

_LIFECYCLE_PREFIXES = (
    "Starting ",
    "Stopping",
    "Stopped",
    "Terminating ",
    "Reloading",
    "Reload complete",
    "Opening file",
    "Configuration file",
    "Configuration is using",
    "Startup complete",
    "Running on ",
    "Command line:",
    "Registering ",
    "Using LinkWatch",
    "Using MII-BMSR",
    "Remove a zombie pid file",
    "VRRP child process",
    "Healthcheck child process",
    "VRRP sockpool",
    "daemon is already running",
    "CPU usage",
    "Delaying startup",
    "Processing queued reload",
    "validate conf before Reload",
    "New config failed validation",
    "Changing syslog ident",
    "Warning - keepalived has no configuration",
    "WARNING - keepalived was built for newer Linux",
    "Initializing ipvs",
    "Leaving ",
    "NOTICE: ",  # e.g. "setting config option max_auto_priority should result in better ... performance"
)
# a tracked file/process/interface whose weight puts the instance in FAULT, and back
_TRACKED_FAULT = re.compile(r"tracked (?:file|process|interface|bfd) (?P<n>\S+) (?P<v>now|leaving) FAULT state")
_SCRIPT_BUSY = re.compile(r"Track script (?P<s>\S+) is already running, expect idle - skipping run")

# ------------------------------------------------------------------ time helpers

_TsKey = tuple[object, ...]
_ts_cache: dict[_TsKey, datetime | None] = {}  # a memo of stamp text -> time, bounded below
_MISS = object()


def _lookup(key: _TsKey) -> datetime | None | object:
    return _ts_cache.get(key, _MISS)


def _resolve_tz(tz: tzinfo | str | None) -> tzinfo | None:
    if tz is None or isinstance(tz, tzinfo):
        return tz
    if isinstance(tz, str):
        return ZoneInfo(tz)
    raise TypeError(f"tz must be a tzinfo, a zone name or None, not {type(tz).__name__}")


def _localize(naive: datetime, tz: tzinfo | None) -> datetime:
    """A wall-clock time from a zone-less source, in the caller's zone (default: this machine's)."""
    if tz is not None:
        return naive.replace(tzinfo=tz)
    try:
        return naive.astimezone()  # the local zone's rules for that date (DST-correct)
    except (OverflowError, OSError, ValueError):
        return naive


def _cached(key: _TsKey, make: Callable[[], datetime | None]) -> datetime | None:
    hit = _lookup(key)
    if hit is not _MISS:
        return hit  # type: ignore[return-value]  # only datetimes and None are stored
    try:
        val = make()
    except (ValueError, OverflowError, OSError):
        val = None
    if len(_ts_cache) > 4096:
        _ts_cache.clear()
    _ts_cache[key] = val
    return val


def _micro(frac: str | None) -> int:
    return int((frac or "0")[:6].ljust(6, "0"))


def _time_3164(m: re.Match[str], year: int | None, tz: tzinfo | None) -> datetime | None:
    # the stamp's text is the key; with no year, the hour of "now" too (the year guess uses it)
    key = (
        "3164",
        m.string[m.start("mon") : m.end("s") if m["frac"] is None else m.end("frac")],
        year,
        tz,
        None if year is not None else int(_time.time()) // 3600,
    )
    hit = _lookup(key)
    if hit is not _MISS:
        return hit  # type: ignore[return-value]  # only datetimes and None are stored
    mon = _month(m["mon"])
    if mon is None:
        return None
    day, h, mi, s, us = int(m["day"]), int(m["h"]), int(m["m"]), int(m["s"]), _micro(m["frac"])

    def make() -> datetime:
        if year is not None:
            return _localize(datetime(year, mon, day, h, mi, s, us), tz)
        # no year in the line: this year, unless that lands more than two days in the future
        now = _time.time()
        y = datetime.fromtimestamp(now).year
        dt = _localize(datetime(y, mon, day, h, mi, s, us), tz)
        if dt.tzinfo is not None and dt.timestamp() > now + 2 * 86400:
            dt = _localize(datetime(y - 1, mon, day, h, mi, s, us), tz)
        return dt

    return _cached(key, make)


def _month(text: str) -> int | None:
    """A month name or number in the locales syslog is seen in (`Mar`, `3月`, `Mär`, `févr.`)."""
    if text in _MONTHS:
        return _MONTHS[text]
    t = text.rstrip(".").lower()
    if t[-1:] in ("月", "월"):
        n = _int(t[:-1])
        return n if n is not None and 1 <= n <= 12 else None
    return _LOCALE_MONTHS.get(t) or _LOCALE_MONTHS.get(t[:3]) or {m.lower(): i for m, i in _MONTHS.items()}.get(t)


def _time_of_day(m: re.Match[str], tz: tzinfo | None) -> datetime | None:
    """A stamp with the time only: today, or yesterday when today's would be in the future."""

    def make() -> datetime:
        now = datetime.now(tz) if tz is not None else datetime.now().astimezone()
        dt = now.replace(hour=int(m["h"]), minute=int(m["m"]), second=int(m["s"]), microsecond=_micro(m["frac"]))
        return dt - timedelta(days=1) if dt > now + timedelta(minutes=5) else dt

    try:
        return make()
    except (ValueError, OverflowError, OSError):
        return None


def _time_us(m: re.Match[str], tz: tzinfo | None) -> datetime | None:
    h = int(m["h"]) % 12 + (12 if m["ampm"].upper() == "PM" else 0)

    def make() -> datetime:
        return _localize(datetime(int(m["year"]), int(m["mo"]), int(m["day"]), h, int(m["m"]), int(m["s"])), tz)

    return _cached(("us", m.string[: m.end("ampm")], tz), make)


def _time_console(m: re.Match[str], tz: tzinfo | None) -> datetime | None:
    key = ("con", m.string[: m.end("year")], tz)  # lines of one second share their stamp
    hit = _lookup(key)
    if hit is not _MISS:
        return hit  # type: ignore[return-value]  # only datetimes and None are stored

    def make() -> datetime | None:
        mon = _MONTHS.get(m["mon"])
        if mon is None:
            return None
        return _localize(
            datetime(int(m["year"]), mon, int(m["day"]), int(m["h"]), int(m["m"]), int(m["s"]), _micro(m["frac"])), tz
        )

    return _cached(key, make)


def _time_iso(ts: str, tz: tzinfo | None) -> datetime | None:
    def make() -> datetime:
        t = ts.replace(",", ".")
        frac = re.search(r"\.(\d+)", t)
        if frac and len(frac.group(1)) > 6:  # nanoseconds: fromisoformat takes at most 6 digits
            t = t[: frac.start(1) + 6] + t[frac.end(1) :]
        dt = datetime.fromisoformat(t)
        return dt if dt.tzinfo is not None else _localize(dt, tz)

    return _cached(("iso", ts, tz), make)


# ------------------------------------------------------------------ messages


def _short(s: str) -> str:
    s = s.strip()
    return s if len(s) <= _DETAIL_MAX else s[: _DETAIL_MAX - 1] + "…"


def _addr(s: str) -> str:
    return s.strip("`'\"[],")


def _int(s: str | None) -> int | None:
    if s is None:
        return None
    try:
        return int(s)
    except ValueError:
        return None


def classify(msg: str) -> dict[str, Any]:
    """Fields an event gets from its message (kind, instance, state, ...). msg must be redacted."""
    msg = msg.strip()
    inst = None
    rest = msg
    c0 = msg[:1]
    if c0 == "(":
        m = _INST_NEW.match(msg)
        if m:
            inst, rest = m["i"], msg[m.end() :]
    elif c0 == "V" and msg.startswith("VRRP_"):
        if msg.startswith("VRRP_Instance("):
            m = _INST_OLD.match(msg)
            if m:
                inst, rest = m["i"], msg[m.end() :]
        elif msg.startswith("VRRP_Script("):
            m = _SCRIPT.match(msg)
            if m:
                r = m["r"].replace("_", " ")
                if r.startswith("considered"):
                    r = r[: -len(" on reload")]
                return dict(
                    kind=K.SCRIPT,
                    script=m["s"],
                    result=r,
                    rc=_int(m["rc"]),
                    detail=_short(msg[len("VRRP_Script(") :].replace(")", "", 1)),
                )
        elif msg.startswith("VRRP_Group("):
            m = _GROUP.match(msg)
            if m:
                inst, rest = m["i"], msg[m.end() :]
    d = _classify_rest(rest)
    if d is None:
        return dict(kind=K.RAW, instance=inst, detail=_short(rest))
    d["instance"] = inst
    d.setdefault("detail", _short(rest))
    return d


def _classify_rest(rest: str) -> dict[str, Any] | None:
    if "FAULT state" in rest and (m := _TRACKED_FAULT.search(rest)):
        return dict(kind=K.SCRIPT, script=m["n"], result="failed" if m["v"] == "now" else "succeeded")
    if rest.startswith("Track script ") and (m := _SCRIPT_BUSY.match(rest)):
        return dict(kind=K.SCRIPT, script=m["s"], result="still running")
    # state entry / transition
    if "STATE" in rest or "state" in rest:
        m = _STATE.match(rest)
        if m:
            st = m["st"].upper()
            d = dict(kind=K.STATE, state=st if m["verb"] != "Leaving" else None)
            sm = _DUE_TO_SCRIPT.match(m["rest"])
            if sm:
                d["script"] = sm["s"]
            why = re.match(r" \(interface (\S+) down\)", m["rest"])
            if why:
                d["address"] = why.group(1)
            return d
    if "priority" in rest or "prio " in rest:
        m = _PRIO_CHANGE.search(rest)
        if m:
            a, b = int(m["a"]), int(m["b"])
            return dict(kind=K.PRIORITY, priority=b, old_priority=a, detail=f"effective priority {a} → {b}")
        m = _PRIO_SET.search(rest)
        if m:
            b = int(m["b"])
            return dict(kind=K.PRIORITY, priority=b, detail=f"effective priority → {b}")
        m = _PRIO_ZERO.search(rest)
        if m:
            return dict(kind=K.PRIORITY_ZERO, priority=0)
        m = _ADV_MASTER_HIGHER.search(rest)
        if m:
            return dict(
                kind=K.ADVERT_HIGHER,
                priority=int(m["p"]),
                address=m["ip"],
                detail=f"advert from {m['ip']} with higher priority {m['p']}, ours {m['o']}",
            )
        m = _ADV_SAME.search(rest)
        if m:
            return dict(
                kind=K.ADVERT_HIGHER,
                priority=int(m["p"]),
                address=m["ip"],
                detail=f"advert from {m['ip']} with same priority {m['p']} and a higher address",
            )
        m = _ADV_LOWER_FROM.search(rest)
        if m:
            return dict(
                kind=K.ADVERT_LOWER,
                priority=int(m["p"]),
                address=m["ip"],
                detail=f"advert from {m['ip']} with lower priority {m['p']}, ours {m['o']}",
            )
        m = _ADV_WITH.search(rest)
        if m:
            kind = K.ADVERT_HIGHER if m["hl"] == "higher" else K.ADVERT_LOWER
            return dict(
                kind=kind, priority=int(m["p"]), detail=f"advert with {m['hl']} priority {m['p']}, ours {m['o']}"
            )
        m = _ADV_OLD.search(rest)
        if m:
            return dict(kind=K.ADVERT_HIGHER if m["hl"] == "higher" else K.ADVERT_LOWER)
        m = _ADV_DISCARD.search(rest)
        if m:
            return dict(kind=K.ADVERT_LOWER, priority=int(m["p"]), address=m["ip"])
    if "advertisement timeout" in rest:
        return dict(kind=K.ADVERT_TIMEOUT)
    if "VIPs" in rest:
        m = _VIPS.search(rest)
        if m:
            return dict(kind=K.VIP_SET if m["v"] == "sett" else K.VIP_REMOVED)
    if rest.startswith("Printing "):
        return dict(kind=K.DUMP)
    if rest.startswith(_LIFECYCLE_PREFIXES):
        life: dict[str, Any] = dict(kind=K.LIFECYCLE)
        if rest.startswith(("Stopping Keepalived", "Stopped Keepalived")) or rest == "Stopping":
            life["state"] = "STOP"
        return life
    if "ratuitous" in rest or "eighbour" in rest or " NA" in rest:
        m = _GARP.search(rest)
        if m:
            what = m["what"]
            det = f"{'error ' if m['err'] else ''}{what} on {m['ifname']} for {m['ip']}"
            return dict(kind=K.GARP, address=_addr(m["ip"]), detail=det)
    if (
        "eports" in rest
        or "ssigned address" in rest
        or "Netlink" in rest
        or "Kernel is reporting" in rest
        or " is down" in rest
        or " is up" in rest
    ):
        m = _NL_IP.search(rest)
        if m:
            return dict(kind=K.NETLINK, address=_addr(m["ip"]), detail=f"IP {_addr(m['ip'])} {m['what']}")
        m = _NL_ADDR.search(rest)
        if m:
            return dict(
                kind=K.NETLINK, address=_addr(m["ip"]), detail=f"address {m['ip']} {m['what'].lower()} on {m['ifname']}"
            )
        m = _NL_LINK.search(rest)
        if m:
            return dict(kind=K.NETLINK, detail=f"{m['ifname']} {m['what'].lower()}")
        m = _NL_KERNEL.search(rest)
        if m:
            return dict(kind=K.NETLINK)
        m = _NL_IFDOWN.search(rest)
        if m:
            return dict(kind=K.NETLINK, detail=f"{m['ifname']} {m['what']}")
        if rest.startswith("Netlink"):
            return dict(kind=K.NETLINK)
    if "auth" in rest or "passwd" in rest or "AH" in rest or "SPI" in rest:
        if _AUTH.search(rest):
            return dict(kind=K.AUTH_MISMATCH)
    if "interval" in rest:
        if _INTERVAL.search(rest):
            return dict(kind=K.INTERVAL_MISMATCH)
    if rest.startswith("Script `"):
        m = _SCRIPT_RC.match(rest)
        if m:
            return dict(kind=K.SCRIPT_RC, script=m["s"], rc=int(m["rc"]), detail=f"{m['s']} now returning {m['rc']}")
    return None


# ------------------------------------------------------------------ entry points


def _event(
    time: datetime | None,
    node: str | None,
    program: str | None,
    pid: int | None,
    raw: str,
    fields: dict[str, Any],
    cursor: str | None = None,
) -> KeepalivedEvent:
    return KeepalivedEvent(time=time, node=node, program=program, pid=pid, raw=raw, cursor=cursor, **fields)


def _to_text(line: bytes | str) -> str:
    if isinstance(line, (bytes, bytearray, memoryview)):
        text = bytes(line).decode("utf-8", errors="replace")
    elif isinstance(line, str):
        text = line
        if not text.isascii():
            # lone surrogates (from a surrogateescape decode) would break printing and JSON
            text = text.encode("utf-8", errors="replace").decode("utf-8", errors="replace")
    else:
        text = str(line)
    return text.rstrip("\r\n")


def parse_line(
    line: bytes | str, *, node: str | None = None, year: int | None = None, tz: tzinfo | str | None = None
) -> KeepalivedEvent:
    """One log line in any supported form -> an event. Never raises: the worst is a RAW event.

    node: the node name to record (default: the host the line names, if any);
    year: the year of RFC 3164 lines (they have none; default: this year, or the last if
    that would put the line more than two days in the future); tz: the zone (tzinfo or
    name) of zone-less timestamps, default this machine's local zone.
    """
    text = ""
    try:
        text = _to_text(line)
        tzi = _resolve_tz(tz)
        return _parse_text(text, node, year, tzi)
    except Exception:
        try:
            raw = redact(text)
        except Exception:
            raw = ""
        return KeepalivedEvent(time=None, node=node, kind=K.RAW, raw=raw, detail=_short(raw))


def _parse_text(text: str, node: str | None, year: int | None, tz: tzinfo | None) -> KeepalivedEvent:
    s = text.lstrip()
    c0 = s[:1]
    time = None
    host = prog = None
    pid = None
    msg = s
    if c0 == "{":
        try:
            obj = json.loads(s)
        except ValueError:
            obj = None
        if isinstance(obj, dict):
            return _journal(obj, node, year, tz)
    elif c0 == "<":
        m = _RFC5424.match(s)
        if m:
            time = _time_iso(m["ts"], tz) if m["ts"] != "-" else None
            host = None if m["host"] == "-" else m["host"]
            prog = None if m["tag"] == "-" else m["tag"]
            pid = _int(m["pid"])
            msg = (m["msg"] or "").lstrip("\ufeff")
        else:
            p = _PRI.match(s)  # a PRI in front of an RFC 3164 or ISO line
            if p:
                return _parse_text(s[p.end() :], node, year, tz)
    elif c0.isdigit():
        if m := _ISO.match(s):
            time = _time_iso(m["ts"], tz)
            host, prog, pid, msg = m["host"], m["tag"], _int(m["pid"]), m["msg"]
        elif m := _TIME_ONLY.match(s):
            time = _time_of_day(m, tz)
            host, prog, pid, msg = m["host"], m["tag"], _int(m["pid"]), m["msg"]
        elif m := _US_STAMP.match(s):
            time = _time_us(m, tz)
            prog, pid, msg = m["tag"], _int(m["pid"]), m["msg"]
        elif m := _RFC3164_INTL.match(s):
            time = _time_3164(m, year, tz)
            host, prog, pid, msg = m["host"], m["tag"], _int(m["pid"]), m["msg"]
    elif s[:3] in _MONTHS:
        m = _RFC3164.match(s)
        if m:
            time = _time_3164(m, year, tz)
            host, prog, pid, msg = m["host"], m["tag"], _int(m["pid"]), m["msg"]
    elif s[:3] in _DAYS:
        m = _CONSOLE.match(s)
        if m:
            time = _time_console(m, tz)
            msg = m["msg"]
    elif c0.isalpha() and (m := _RFC3164_INTL.match(s)) and _month(m["mon"]) is not None:
        time = _time_3164(m, year, tz)
        host, prog, pid, msg = m["host"], m["tag"], _int(m["pid"]), m["msg"]
    if time is not None and msg[:3] in _DAYS and (inner := _CONSOLE.match(msg)):
        # keepalived's console output through docker and journald/syslog: the outer stamp has no
        # year (or the collector's time), the inner one is keepalived's own
        time = _time_console(inner, tz) or time
        msg = inner["msg"]
    msg = redact(msg)
    fields = classify(msg)
    return _event(time, node or host, prog, pid, msg.strip(), fields)


def _field(obj: dict[str, Any], name: str) -> Any:
    v = obj.get(name)
    if isinstance(v, list) and v and not isinstance(v[0], int):
        v = v[0]  # a field journald stored several times: the first
    return v


def _field_text(v: Any) -> str | None:
    if v is None:
        return None
    if isinstance(v, str):
        return v
    if isinstance(v, list):  # journalctl's form for a value that is not valid UTF-8
        try:
            return bytes(x & 0xFF for x in v if isinstance(x, int)).decode("utf-8", errors="replace")
        except (TypeError, ValueError):
            return None
    return str(v)


def parse_journal_entry(
    obj: dict[str, Any], *, node: str | None = None, year: int | None = None, tz: tzinfo | str | None = None
) -> KeepalivedEvent:
    """One `journalctl -o json` entry (already decoded from JSON) -> an event. Never raises."""
    try:
        return _journal(obj, node, year, _resolve_tz(tz))
    except Exception:
        return KeepalivedEvent(time=None, node=node, kind=K.RAW)


def _journal(obj: dict[str, Any], node: str | None, year: int | None, tz: tzinfo | None) -> KeepalivedEvent:
    msg = _field_text(_field(obj, "MESSAGE")) or ""
    msg = msg.rstrip("\r\n")
    if not msg.isascii():
        msg = msg.encode("utf-8", errors="replace").decode("utf-8", errors="replace")
    inner = _parse_text(msg, node, year, tz) if msg.lstrip()[:1] != "{" else None
    if inner is None:
        msg = redact(msg)
        inner = _event(None, node, None, None, msg.strip(), classify(msg))
    when = inner.time
    us = _int(_field_text(_field(obj, "__REALTIME_TIMESTAMP")))
    if us is None:
        us = _int(_field_text(_field(obj, "_SOURCE_REALTIME_TIMESTAMP")))
    if us is not None:
        try:
            when = (
                (_EPOCH + timedelta(microseconds=us)).astimezone(tz)
                if tz is not None
                else (_EPOCH + timedelta(microseconds=us)).astimezone()
            )
        except (OverflowError, OSError, ValueError):
            when = inner.time
    prog = _field_text(_field(obj, "SYSLOG_IDENTIFIER")) or _field_text(_field(obj, "_COMM")) or inner.program
    pid = _int(_field_text(_field(obj, "_PID"))) or _int(_field_text(_field(obj, "SYSLOG_PID"))) or inner.pid
    host = node or _field_text(_field(obj, "_HOSTNAME")) or inner.node
    cursor = _field_text(_field(obj, "__CURSOR"))
    return KeepalivedEvent(
        time=when,
        node=host,
        kind=inner.kind,
        instance=inner.instance,
        state=inner.state,
        script=inner.script,
        priority=inner.priority,
        old_priority=inner.old_priority,
        detail=inner.detail,
        raw=inner.raw,
        program=prog,
        pid=pid,
        result=inner.result,
        rc=inner.rc,
        address=inner.address,
        cursor=cursor,
    )
