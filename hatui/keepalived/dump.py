"""A node's VRRP state: from keepalived's JSON dump, its text data dump, or (last resort) its log.

The dumps are what keepalived itself believes: `keepalived --signum=JSON` (36 on 2.2.7) makes
it write $TMPDIR/keepalived.json, `--signum=DATA` keepalived.data. Both hold the VRRP password
in clear; nothing parsed here keeps it (VrrpInstance has the auth type only).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from hatui.errors import InputError

from .events import EventKind, KeepalivedEvent
from .redact import redact

JSON_STATES = {0: "INIT", 1: "BACKUP", 2: "MASTER", 3: "FAULT", 97: "DELETED", 98: "STOP"}
AUTH_TYPES = {0: None, 1: "PASS", 2: "AH"}
_DATA_AUTH = {"SIMPLE_PASSWORD": "PASS", "IPSEC_AH": "AH", "none": None}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class DumpParseError(InputError, ValueError):
    """A dump that is not what keepalived writes (wrong file, truncated, corrupt)."""


class TrackedScript(NamedTuple):
    name: str  # the vrrp_script name (the JSON dump gives its command instead)
    weight: int | None  # None when the dump does not say
    status: str | None  # "GOOD" / "BAD" from the data dump, else None


@dataclass(frozen=True)
class VrrpInstance:
    name: str
    state: str  # INIT BACKUP MASTER FAULT STOP (DELETED)
    vrid: int | None = None
    interface: str | None = None
    base_priority: int | None = None
    effective_priority: int | None = None
    vips: tuple[str, ...] = ()  # addresses, without prefix length
    last_transition: datetime | None = None
    advert_int: float | None = None  # seconds
    nopreempt: bool | None = None
    auth_type: str | None = None  # "PASS", "AH" or None: never the password
    track_scripts: tuple[TrackedScript, ...] = ()
    master_router: str | None = None  # the master a BACKUP last heard (data dump)
    master_priority: int | None = None  # that master's priority (BACKUP only)
    wantstate: str | None = None


@dataclass(frozen=True)
class VrrpSnapshot:
    instances: tuple[VrrpInstance, ...]
    source: str  # "json" | "data" | "events"
    taken_at: datetime | None = None

    def instance(self, name: str) -> VrrpInstance | None:
        for i in self.instances:
            if i.name == name:
                return i
        return None


# ------------------------------------------------------------------ helpers


def _epoch(v: Any) -> datetime | None:
    """keepalived's seconds.micros since the epoch -> aware UTC datetime (0 = never)."""
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    if f <= 0:
        return None
    try:
        return _EPOCH + timedelta(microseconds=round(f * 1_000_000))
    except (OverflowError, ValueError):  # inf / nan (Python's json accepts them)
        return None


def _vip_address(text: str) -> str:
    """'198.18.0.100/24 dev eth0 scope global set' -> '198.18.0.100'."""
    first = text.strip().split(None, 1)[0] if text.strip() else ""
    return first.split("/", 1)[0]


def _what(v: Any) -> str:
    s = type(v).__name__
    if isinstance(v, (dict, list)):
        return f"a JSON {'object' if isinstance(v, dict) else 'list'}"
    if isinstance(v, str):
        return f"the string {redact(v)[:40]!r}"
    return f"{s} {v!r}"[:60]


# ------------------------------------------------------------------ JSON dump


def parse_json_dump(text: str | bytes, *, taken_at: datetime | None = None) -> VrrpSnapshot:
    """keepalived.json (a list of {"data", "stats"} objects; newer keepalived with
    json_version 2 wraps it as {"vrrp": [...]}) -> snapshot. Raises DumpParseError."""
    name = "keepalived.json"
    if isinstance(text, (bytes, bytearray)):
        text = bytes(text).decode("utf-8", errors="replace")
    if not text.strip():
        raise DumpParseError(
            f"{name}: the file is empty (keepalived writes it asynchronously: was it read before keepalived finished?)"
        )
    try:
        doc = json.loads(text)
    except RecursionError:  # "[[[[..." from a broken or hostile file
        raise DumpParseError(f"{name}: nests too deeply; expected a JSON list of instances") from None
    except ValueError as exc:
        pos = getattr(exc, "lineno", None)
        where = f" at line {pos} column {getattr(exc, 'colno', '?')}" if pos else ""
        msg = getattr(exc, "msg", str(exc))
        raise DumpParseError(f"{name}: not valid JSON{where}: {msg} (truncated or still being written?)") from None
    if isinstance(doc, dict) and "vrrp" in doc:
        doc = doc["vrrp"]
    if not isinstance(doc, list):
        raise DumpParseError(f"{name}: expected a JSON list of instances, found {_what(doc)}")
    out = []
    for i, item in enumerate(doc):
        where = f"{name}: instance #{i + 1}"
        if not isinstance(item, dict) or not isinstance(item.get("data"), dict):
            raise DumpParseError(f'{where}: expected an object with a "data" object, found {_what(item)}')
        out.append(_json_instance(item["data"], where))
    return VrrpSnapshot(tuple(out), "json", taken_at)


def _json_instance(d: dict[str, Any], where: str) -> VrrpInstance:
    iname = d.get("iname")
    if not isinstance(iname, str) or not iname:
        raise DumpParseError(f'{where}: no instance name ("iname")')
    where = f"{where} ({iname})"
    state = d.get("state")
    if isinstance(state, bool) or not isinstance(state, int):
        raise DumpParseError(f'{where}: "state" should be a number, found {_what(state)}')

    def num(key: str, typ: Callable[[Any], Any] = int) -> Any:
        v = d.get(key)
        if v is None:
            return None
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise DumpParseError(f'{where}: "{key}" should be a number, found {_what(v)}')
        try:
            return typ(v)
        except (OverflowError, ValueError):
            raise DumpParseError(f'{where}: "{key}" should be a finite number, found {v!r}') from None

    vips = d.get("vips") or []
    if not isinstance(vips, list) or not all(isinstance(v, str) for v in vips):
        raise DumpParseError(f'{where}: "vips" should be a list of strings, found {_what(vips)}')
    scripts = d.get("track_script") or []
    if not isinstance(scripts, list):
        raise DumpParseError(f'{where}: "track_script" should be a list, found {_what(scripts)}')
    nopreempt = d.get("nopreempt")
    auth = d.get("auth_type")
    wantstate = d.get("wantstate")
    return VrrpInstance(
        name=iname,
        state=JSON_STATES.get(state, f"UNKNOWN({state})"),
        vrid=num("vrid"),
        interface=d.get("ifp_ifname") if isinstance(d.get("ifp_ifname"), str) else None,
        base_priority=num("base_priority"),
        effective_priority=num("effective_priority"),
        vips=tuple(_vip_address(v) for v in vips if v.strip()),
        last_transition=_epoch(d.get("last_transition")),
        advert_int=num("adver_int", float),
        nopreempt=bool(nopreempt) if isinstance(nopreempt, (bool, int)) else None,
        auth_type=AUTH_TYPES.get(auth, f"UNKNOWN({auth})") if isinstance(auth, int) else None,
        # the JSON dump names a tracked script by its command, quoted: keep it without quotes
        track_scripts=tuple(TrackedScript(str(s).strip("'\""), None, None) for s in scripts),
        # keepalived keeps the last master's priority after it stops being BACKUP: stale then
        master_priority=num("master_priority") if state == 1 else None,
        wantstate=JSON_STATES.get(wantstate) if isinstance(wantstate, int) else None,
    )


# ------------------------------------------------------------------ text data dump

_SECTION = re.compile(r"^-{3,}< (?P<name>.+?) >-{3,}\s*$")
_KV = re.compile(r"^(?P<indent> *)(?P<key>[A-Za-z][^=]*?) = ?(?P<val>.*)$")
_TRACK_ITEM = re.compile(r"^\s*(?P<name>\S+?),? weight (?P<w>-?\d+)")
_INTERVAL = re.compile(r"(?P<n>\d+(?:\.\d+)?) ?(?P<unit>milli-sec|ms|sec|s)?")


def parse_data_dump(text: str | bytes, *, taken_at: datetime | None = None) -> VrrpSnapshot:
    """keepalived.data (the text dump) -> snapshot of its VRRP Topology. Raises DumpParseError."""
    name = "keepalived.data"
    if isinstance(text, (bytes, bytearray)):
        text = bytes(text).decode("utf-8", errors="replace")
    if not text.strip():
        raise DumpParseError(
            f"{name}: the file is empty (keepalived writes it asynchronously: was it read before keepalived finished?)"
        )
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        m = _SECTION.match(line)
        if m:
            current = sections.setdefault(m["name"].strip(), [])
            continue
        if current is not None:
            current.append(line)
    if "VRRP Topology" not in sections:
        found = ", ".join(sections) or "none"
        first = redact(text.strip().splitlines()[0])[:60] if text.strip() else ""
        raise DumpParseError(
            f"{name}: no '------< VRRP Topology >------' section (sections found: {found}; "
            f"first line {first!r}): not a keepalived data dump, or one cut short"
        )

    script_status = _scripts(sections.get("VRRP Scripts", []))
    raw_instances: list[tuple[str, list[str]]] = []
    for line in sections["VRRP Topology"]:
        m = re.match(r"^ ?VRRP Instance = (?P<name>.+?)\s*$", line)
        if m:
            raw_instances.append((m["name"], []))
        elif raw_instances:
            raw_instances[-1][1].append(line)
    if not raw_instances:
        raise DumpParseError(f"{name}: the VRRP Topology section lists no 'VRRP Instance = ...'")
    out = tuple(_data_instance(n, lines, script_status, name) for n, lines in raw_instances)
    return VrrpSnapshot(out, "data", taken_at)


def _scripts(lines: list[str]) -> dict[str, str]:
    status: dict[str, str] = {}
    cur = None
    for line in lines:
        m = re.match(r"^ ?VRRP Script = (?P<name>\S+)", line)
        if m:
            cur = m["name"]
            continue
        m = re.match(r"^ +Status = (?P<s>\S+)", line)
        if m and cur is not None and cur not in status:
            status[cur] = m["s"]
    return status


def _data_instance(iname: str, lines: list[str], script_status: dict[str, str], name: str) -> VrrpInstance:
    where = f"{name}: instance {iname}"
    kv: dict[str, str] = {}
    lists: dict[str, list[str]] = {}
    current_list: list[str] | None = None
    flags: list[str] = []
    for line in lines:
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip(" "))
        body = line.strip()
        if current_list is not None and indent >= 5:
            current_list.append(body)
            continue
        current_list = None
        # a list header: "Virtual IP (1):", "Tracked scripts :", "Virtual IP = 1" (older)
        mh = re.match(
            r"^(?P<key>Virtual IP|Virtual IP Excluded|Tracked scripts|Tracked interfaces"
            r"|Unicast Peers?|Virtual Routes|Virtual Rules|Tracked processes|Tracked files)"
            r"(?: \(\d+\))? ?(?::|= ?\d+)\s*$",
            body,
        )
        if mh:
            current_list = lists.setdefault(mh["key"], [])
            continue
        m = _KV.match(line)
        if m and indent >= 2:
            kv.setdefault(m["key"].strip(), m["val"].strip())
        elif indent >= 2:
            flags.append(body)

    state = kv.get("State")
    if not state:
        raise DumpParseError(f"{where} has no 'State = ' line (a truncated dump?)")

    def as_int(key: str) -> int | None:
        v = kv.get(key)
        if v is None:
            return None
        try:
            return int(v.split()[0])
        except (ValueError, IndexError):
            raise DumpParseError(f"{where}: '{key} = {v[:30]}' is not a number") from None

    advert = None
    if "Advert interval" in kv:
        m = _INTERVAL.match(kv["Advert interval"])
        if m:
            advert = float(m["n"]) / (1000.0 if m["unit"] in ("milli-sec", "ms") else 1.0)
    nopreempt = None
    if "Preempt" in kv:
        nopreempt = kv["Preempt"].startswith("disabled")
    elif "Preempt disabled" in flags:
        nopreempt = True
    auth = kv.get("Authentication type")
    last = kv.get("Last transition")
    weights = []
    for item in lists.get("Tracked scripts", []):
        m = _TRACK_ITEM.match(item)
        if m:
            weights.append(TrackedScript(m["name"], int(m["w"]), script_status.get(m["name"])))
        elif item.split():
            n = item.split()[0].rstrip(",")
            weights.append(TrackedScript(n, None, script_status.get(n)))
    interface = kv.get("Interface")
    return VrrpInstance(
        name=iname,
        state=state.split()[0],
        vrid=as_int("Virtual Router ID"),
        interface=interface.split(",")[0].split()[0] if interface else None,
        base_priority=as_int("Priority"),
        effective_priority=as_int("Effective priority") if "Effective priority" in kv else as_int("Priority"),
        vips=tuple(_vip_address(v) for v in lists.get("Virtual IP", []) if v.strip()),
        last_transition=_epoch(last.split()[0]) if last else None,
        advert_int=advert,
        nopreempt=nopreempt,
        auth_type=_DATA_AUTH.get(auth, auth) if auth is not None else None,
        track_scripts=tuple(weights),
        master_router=kv.get("Master router"),
        master_priority=as_int("Master priority"),
        wantstate=(kv.get("Wantstate") or kv.get("Want State") or None),
    )


# ------------------------------------------------------------------ from the log


@dataclass
class _Acc:
    name: str
    state: str = "INIT"
    confirmed: str | None = None
    last_transition: datetime | None = None
    effective: int | None = None
    interface: str | None = None
    vips: list[str] = field(default_factory=list)
    collecting: bool = False
    scripts: dict[str, str | None] = field(default_factory=dict)


def infer_from_events(events: Iterable[KeepalivedEvent]) -> VrrpSnapshot:
    """Last resort when no dump can be had: replay one node's log events (oldest first).

    Per instance: the latest state, the latest effective priority (priority events), the VIPs
    (addresses announced by gratuitous ARP after "setting VIPs"), the time of the last state
    change. A daemon stop marks every instance seen so far STOP. 1.x "Transition to MASTER"
    only announces a change: the entry ("Entering MASTER STATE") sets last_transition.
    """
    acc: dict[str, _Acc] = {}
    last_time = None
    for e in events:
        if e.time is not None:
            last_time = e.time
        if e.kind is EventKind.LIFECYCLE and e.state == "STOP":
            for a in acc.values():
                a.state = a.confirmed = "STOP"
                a.last_transition = e.time or a.last_transition
                a.collecting = False
            continue
        if e.instance is None:
            if e.kind is EventKind.GARP and e.address:
                for a in acc.values():
                    if a.collecting and e.address not in a.vips:
                        a.vips.append(e.address)
            continue
        found = acc.get(e.instance)
        if found is None:
            found = acc[e.instance] = _Acc(e.instance)
        a = found
        if e.kind is EventKind.STATE and e.state:
            a.state = e.state
            if not e.detail.startswith("Transition to") and e.state != a.confirmed:
                a.confirmed = e.state
                a.last_transition = e.time
        elif e.kind is EventKind.PRIORITY and e.priority is not None:
            a.effective = e.priority
        elif e.kind is EventKind.VIP_SET:
            a.collecting = True
        elif e.kind is EventKind.VIP_REMOVED:
            a.collecting = False
        elif e.kind is EventKind.GARP and e.address:
            if e.address not in a.vips:
                a.vips.append(e.address)
            m = re.search(r" on (\S+) for ", e.detail)
            if m and a.interface is None:
                a.interface = m.group(1)
    out = tuple(
        VrrpInstance(
            name=a.name,
            state=a.state,
            interface=a.interface,
            effective_priority=a.effective,
            vips=tuple(a.vips),
            last_transition=a.last_transition,
        )
        for a in acc.values()
    )
    return VrrpSnapshot(out, "events", last_time)


# ------------------------------------------------------------------ the log, folded in at once

# An instance's state as its log line says it; "Transition to" only announces the entry
_FOLDED = frozenset({"MASTER", "BACKUP", "FAULT", "INIT"})


def fold_event(snap: VrrpSnapshot | None, e: KeepalivedEvent) -> VrrpSnapshot | None:
    """`snap` with what one log line changes, applied at once (a new snapshot), or None when the
    line changes nothing a VRRP pane shows. A dump (every 10 s, and right after a transition)
    confirms and fills in the rest: this only makes the state true within a tick of the line
    (the pane lagged the log by up to a dump interval). Its source says "log" until then.

    - "(VI_1) Entering MASTER STATE" (2.x) / "VRRP_Instance(VI_1) Entering MASTER STATE" (1.x),
      "Now in FAULT state": that instance's state, and when it changed;
    - "Changing effective priority from 90 to 91": its effective priority;
    - keepalived stopping: every instance STOP.
    """
    instances = list(snap.instances) if snap is not None else []
    when = e.time
    if e.kind is EventKind.LIFECYCLE and e.state == "STOP":
        if not instances:
            return None
        out = tuple(replace(i, state="STOP", last_transition=when or i.last_transition) for i in instances)
        return VrrpSnapshot(out, "log", when)
    if e.instance is None:
        return None
    state: str | None = None
    priority: int | None = None
    if e.kind is EventKind.STATE and e.state in _FOLDED and not e.detail.startswith("Transition to"):
        state = e.state
    elif e.kind is EventKind.PRIORITY and e.priority is not None:
        priority = e.priority
    else:
        return None

    def changed(inst: VrrpInstance) -> VrrpInstance:
        if state is not None:
            return replace(inst, state=state, last_transition=when)
        return replace(inst, effective_priority=priority)

    for k, inst in enumerate(instances):
        if inst.name == e.instance:
            if (state or inst.state) == inst.state and (priority is None or priority == inst.effective_priority):
                return None  # says what is known already
            instances[k] = changed(inst)
            break
    else:
        instances.append(changed(VrrpInstance(e.instance, "INIT")))
    return VrrpSnapshot(tuple(instances), "log", when)
