"""The `hatui` command: the console, and the engine's subcommands."""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from typing import TYPE_CHECKING, NoReturn

from hatui.errors import HatuiError, InputError
from hatui.exitcodes import Exit, for_error

if TYPE_CHECKING:  # the runbook modules load only when a runbook runs
    from hatui.cluster import Cluster
    from hatui.runbook.runner import Runbook

DESCRIPTION = """\
hatui: a terminal operations console for MySQL/MariaDB high-availability clusters held
together by keepalived (VRRP virtual IPs).

  hatui --cluster prod.yml            open the console on a cluster
  hatui --cluster prod.yml --watch    the read-only wallboard
"""

EPILOG = """\
subcommands:
  validate --cluster FILE        check a cluster file and print every problem with file:line:col
  status --cluster FILE [--json] one snapshot of every node, VIP and alert; exit 0 OK,
                                 1 warning, 2 critical, 3 unknown (the Nagios convention)
  timeline [--json] NODE=FILE .. saved keepalived logs of several nodes (syslog, journald JSON
                                 or console format) as one time-ordered incident timeline
  trust-host --cluster FILE NODE record NODE's SSH host key in its known_hosts (explicit opt-in;
                                 prints the fingerprint; never replaces a changed key)
  lint --cluster FILE [--json]   check every node's keepalived config over SSH, alone and against
                                 the other nodes (drift, VRID, auth, priorities, scripts, ...)
  lint [--json] FILE ...         the same checks on local keepalived.conf files
  exporter --cluster FILE [--cluster FILE ...] [--listen ADDR:PORT]
                                 the readings, alerts and incidents as Prometheus metrics (read-only,
                                 like the wallboard; loopback:9877 by default)
  make-writable --cluster FILE NODE
                                 no server is writable and writes go to NODE (a restarted primary):
                                 prove it holds everything, then make it writable
  skip-applied --cluster FILE NODE [--keep-local | --take-source]
                                 NODE's replication stopped on a row it already holds (1062/1032,
                                 e.g. a retried insert after a partition): prove every row is there
                                 as the transaction leaves it, then skip that one transaction
  serve --cluster FILE [...] [--listen ADDR:PORT] [--token-file F] [--tls-cert C --tls-key K]
                                 the read-only wallboard in browsers: one collector however many
                                 watch (loopback:8470 by default; a token for anything else)
  check-mysql [options]          keepalived vrrp_script: exit 0 when the local MySQL/MariaDB is
                                 healthy, 1 when not (see `hatui check-mysql --help`)
  lab up                         build the lab: a real 3-node keepalived + MariaDB cluster in
                                 network namespaces (needs root); prints its cluster file
  lab down                       remove every namespace, process and file the lab made
  lab status [--json]            what runs in the lab and which node holds the VIP
  lab fault KIND NODE            inject a fault: kill-mysqld stop-mysqld start-mysqld
                                 kill-keepalived stop-keepalived start-keepalived
                                 partition heal stop-sshd start-sshd
  lab console [--watch]          open the console on the lab, from the lab's operator namespace

Run `hatui SUBCOMMAND --help` for the options of each.
"""


class _Parser(argparse.ArgumentParser):
    """argparse, with the exit code of a bad command line from the one table (argparse's own is 2,
    which here means CRITICAL)."""

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        if message:
            self._print_message(message, sys.stderr)
        sys.exit(Exit.USAGE if status == 2 else status)


def _parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="hatui", description=DESCRIPTION, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--cluster",
        metavar="FILE",
        action="append",
        help="cluster file (YAML); several with --watch cycle on the wallboard",
    )
    p.add_argument("--watch", action="store_true", help="read-only wallboard: nothing can be changed from it")
    p.add_argument(
        "--record",
        metavar="FILE",
        help="record what the console observes, concludes and runs to FILE (one cluster); `hatui replay FILE`",
    )
    p.add_argument(
        "--no-flight-recorder",
        action="store_true",
        help="do not keep the last 24 h in the state folder (the console's always-on flight recorder)",
    )
    sub = p.add_subparsers(dest="command", metavar="SUBCOMMAND")

    v = sub.add_parser("validate", help="check a cluster file")
    v.add_argument("--cluster", metavar="FILE", action="append", required=True)

    s = sub.add_parser("status", help="one snapshot of a cluster (Nagios exit codes)")
    s.add_argument("--cluster", metavar="FILE", required=True)
    s.add_argument("--json", action="store_true", help="machine-readable output")
    s.add_argument(
        "--timeout", type=float, default=8.0, metavar="S", help="give up on a node after S seconds (default 8)"
    )
    s.add_argument(
        "--record",
        metavar="FILE",
        help="also add what was read to this recording (created if new; run it from cron to build a history)",
    )

    rp = sub.add_parser("replay", help="a recording: the cluster as it was at a moment (read-only)")
    rp.add_argument("file", metavar="FILE", help="a recording (--record, or the console's flight recorder)")
    rp.add_argument(
        "--at",
        metavar="TIME",
        help="the moment: 2026-12-06T03:12:00, 03:12[:07] (on the recording's first day), +SECONDS, Unix seconds",
    )
    rp.add_argument("--json", action="store_true", help="as `hatui status --json` said it (plus replayed_at)")
    rp.add_argument("--from", dest="start", metavar="TIME", help="open the replay at this moment (default: the start)")
    rp.add_argument("--watch", action="store_true", help="replay on the wallboard")

    t = sub.add_parser("timeline", help="merge saved keepalived logs into one timeline", add_help=False)
    t.add_argument("rest", nargs=argparse.REMAINDER)

    th = sub.add_parser("trust-host", help="record a node's SSH host key (explicit opt-in)")
    th.add_argument("--cluster", metavar="FILE", required=True)
    th.add_argument("node", metavar="NODE")
    th.add_argument(
        "--fingerprint", metavar="SHA256:...", help="refuse unless the key has this fingerprint (checked out of band)"
    )
    th.add_argument(
        "--yes", action="store_true", help="trust the key shown without asking (only after checking it another way)"
    )
    th.add_argument("--jump-host", action="store_true", help="trust the node's jump host instead")

    so = sub.add_parser("switchover", help="planned switchover: move the writer and its VIP to another master")
    so.add_argument("--cluster", metavar="FILE", required=True)
    so.add_argument("--to", metavar="NODE", required=True, help="the new writer")
    so.add_argument("--dry-run", action="store_true", help="run the checks and show the steps; change nothing")
    so.add_argument("--yes", action="store_true", help="do not ask to type the target's name (scripts)")

    rg = sub.add_parser(
        "repair-gap",
        help="after a failover: recover the transactions the old writer's binlogs hold and the new writer never got",
    )
    rg.add_argument("--cluster", metavar="FILE", required=True)
    rg.add_argument("--from", dest="old", metavar="OLD", required=True, help="the old writer (dead or fenced)")
    rg.add_argument("--to", dest="new", metavar="NEW", required=True, help="the current writer")
    rg.add_argument(
        "--on-conflict",
        choices=("stop", "skip", "apply"),
        default="stop",
        help="when a recovered change touches a row the new writer changed since: stop (default: "
        "apply nothing), skip (apply only what comes before the conflicts, keep the rest in "
        "the recovery folder) or apply (the old writer's rows win)",
    )
    rg.add_argument("--dry-run", action="store_true", help="extract and show, check conflicts; apply nothing")
    rg.add_argument("--yes", action="store_true", help="do not ask to type the target's name (scripts)")

    rp = sub.add_parser(
        "repoint", help="point replicas that still pull from a dead source at the current writer (GTIDs)"
    )
    rp.add_argument("--cluster", metavar="FILE", required=True)
    rp.add_argument(
        "nodes",
        metavar="NODE",
        nargs="*",
        help="the replicas to repoint (default: every replica whose source is down or unreachable)",
    )
    rp.add_argument("--dry-run", action="store_true", help="run the checks and show the steps; change nothing")
    rp.add_argument("--yes", action="store_true", help="do not ask to type the writer's name (scripts)")

    ex = sub.add_parser(
        "exporter", help="the engine's readings, alerts and incidents as Prometheus metrics (read-only)"
    )
    ex.add_argument("--cluster", metavar="FILE", action="append", required=True, help="a cluster file (repeatable)")
    ex.add_argument(
        "--listen",
        metavar="ADDR:PORT",
        default="127.0.0.1:9877",
        help="where Prometheus scrapes /metrics (default 127.0.0.1:9877: loopback only)",
    )

    mw = sub.add_parser(
        "make-writable",
        help="make the node where writes go writable again when no server is (a restarted primary behind routers)",
    )
    mw.add_argument("--cluster", metavar="FILE", required=True)
    mw.add_argument("node", metavar="NODE", help="the node the routers (or the writer's VIP) send writes to")
    mw.add_argument("--dry-run", action="store_true", help="run the checks and show the step; change nothing")
    mw.add_argument("--yes", action="store_true", help="do not ask to type the node's name (scripts)")

    sa = sub.add_parser(
        "skip-applied",
        help="skip the one transaction a replica stopped on (1062/1032) after proving it holds its rows",
    )
    sa.add_argument("--cluster", metavar="FILE", required=True)
    sa.add_argument("node", metavar="NODE", help="the replica whose SQL thread stopped on a row conflict")
    how = sa.add_mutually_exclusive_group()
    how.add_argument(
        "--keep-local",
        action="store_true",
        help="the rows differ and NODE's version wins: skip the transaction anyway (saved first)",
    )
    how.add_argument(
        "--take-source",
        action="store_true",
        help="the rows differ and the source's version wins: NODE's row (saved first) is removed without a "
        "binlog entry so the transaction's insert applies (duplicate key only)",
    )
    sa.add_argument("--dry-run", action="store_true", help="run the checks and show the steps; change nothing")
    sa.add_argument("--yes", action="store_true", help="do not ask to type the node's name (scripts)")

    se = sub.add_parser(
        "serve",
        help="the read-only wallboard in browsers (one collector per cluster however many watch)",
        description="The --watch wallboard served to browsers (textual-serve). One read-only collector per "
        "cluster feeds every browser's wallboard; the browsers' processes hold no credential and open no "
        "connection to any node. Listens on loopback unless told otherwise; anything else needs an access "
        "token (--token-file, or HATUI_SERVE_TOKEN in the environment, never the command line): open "
        "http(s)://ADDR:PORT/?token=TOKEN once, the browser keeps it in a cookie.",
    )
    se.add_argument("--cluster", metavar="FILE", action="append", help="a cluster file (repeatable)")
    se.add_argument(
        "--listen", metavar="ADDR:PORT", default="127.0.0.1:8470", help="default 127.0.0.1:8470 (loopback only)"
    )
    se.add_argument("--token-file", metavar="FILE", help="the access token (first line; the file mode 0600)")
    se.add_argument("--tls-cert", metavar="FILE", help="serve HTTPS with this certificate (PEM)")
    se.add_argument("--tls-key", metavar="FILE", help="... and its private key (PEM)")
    se.add_argument(
        "--max-viewers",
        type=int,
        default=16,
        metavar="N",
        help="browsers at once (each is a wallboard process of ~60 MB; default 16)",
    )
    se.add_argument("--viewer", metavar="SOCKET", help=argparse.SUPPRESS)  # one browser's wallboard

    fo = sub.add_parser(
        "failover",
        help="the writer died and nothing took over: promote the most advanced replica (recovering what "
        "only the others or the dead writer's binlogs hold), repoint the rest, turn the writer's address",
    )
    fo.add_argument("--cluster", metavar="FILE", required=True)
    fo.add_argument(
        "--to", metavar="NODE", help="the new writer (default: the most advanced candidate; shown with why)"
    )
    fo.add_argument(
        "--discard-errant",
        action="store_true",
        help="when the most advanced candidate has transactions no other server has: promote the best one "
        "without them and leave it to `hatui rejoin --discard-errant`",
    )
    fo.add_argument("--dry-run", action="store_true", help="show every candidate and the plan; change nothing")
    fo.add_argument("--yes", action="store_true", help="do not ask to type the new writer's name (scripts)")

    sb = sub.add_parser(
        "split-brain", help="both masters hold the VIP or take writes: save the loser's writes, fence it"
    )
    sb.add_argument("--cluster", metavar="FILE", required=True)
    sb.add_argument(
        "--keep",
        metavar="NODE",
        help="the side that survives (default: the one with more writes the other lacks, then the one whose "
        "keepalived runs)",
    )
    sb.add_argument("--dry-run", action="store_true", help="show both sides and the plan; change nothing")
    sb.add_argument("--yes", action="store_true", help="do not ask to type the survivor's name (scripts)")

    rj = sub.add_parser("rejoin", help="make a repaired old writer a healthy replica of the current writer")
    rj.add_argument("--cluster", metavar="FILE", required=True)
    rj.add_argument("node", metavar="NODE")
    rj.add_argument(
        "--discard-errant",
        action="store_true",
        help="when it holds transactions the writer never had: save them to a file, then roll "
        "them back on the node (MariaDB)",
    )
    rj.add_argument("--dry-run", action="store_true", help="run the checks and show the steps; change nothing")
    rj.add_argument("--yes", action="store_true", help="do not ask to type the node's name (scripts)")

    li = sub.add_parser("lint", help="check keepalived configs: each node alone and the nodes against each other")
    li.add_argument("--cluster", metavar="FILE", help="read every node's effective config over SSH")
    li.add_argument("--json", action="store_true", help="a JSON list of {severity, node, file, line, code, message}")
    li.add_argument(
        "--config-id",
        metavar="ID",
        help="for local files: the id `@ID` lines are kept for (keepalived -i; default: this host's short name)",
    )
    li.add_argument(
        "--no-keepalived-t", action="store_true", help="with --cluster: do not run `keepalived -t` on the nodes"
    )
    li.add_argument(
        "--root",
        metavar="DIR",
        help="for local files: a copy of a node's files; every absolute path (FILE, "
        "includes, scripts) is read under DIR, as the node would see it",
    )
    li.add_argument(
        "files",
        nargs="*",
        metavar="[NODE=]FILE",
        help="local keepalived.conf files, one per node (NODE names it in the findings)",
    )

    rb = sub.add_parser("runbook", help="an interrupted runbook: status, rollback or resume")
    rb.add_argument("action", choices=("status", "rollback", "resume"))
    rb.add_argument("--cluster", metavar="FILE", required=True)
    rb.add_argument("--yes", action="store_true", help="rollback/resume without asking (scripts)")

    lab = sub.add_parser(
        "lab", help="the network-namespace lab (needs root)", formatter_class=argparse.RawDescriptionHelpFormatter
    )
    lab.add_argument("--subnet", help="lab subnet (default 198.18.0.0/24 or $HATUI_LAB_SUBNET)")
    lab.add_argument("--dir", help="lab state folder (default /var/lib/hatui-lab or $HATUI_LAB_DIR)")
    lsub = lab.add_subparsers(dest="lab_command", metavar="ACTION", required=True)
    up = lsub.add_parser("up", help="build the lab (idempotent) and print its cluster file")
    from hatui.lab.spec import TOPOLOGIES, VIP_MOVERS  # light: the lab package loads its machinery lazily

    up.add_argument(
        "--topology",
        choices=TOPOLOGIES,
        default="dual-master",
        help="dual-master (seed 000, default), primary-replicas (seed 002: routers with HAProxy in "
        "front of a primary and two replicas), mmm (seed 004: writer VIP and reader VIPs)",
    )
    up.add_argument(
        "--gtid", choices=("on", "off"), default="on", help="off: replication by binlog file/position (seed 001)"
    )
    up.add_argument(
        "--vip-mover",
        choices=VIP_MOVERS,
        default="track-file",
        help="how keepalived can be told to move the VIP: track_file (2.x), a flag-file script (seed 003), none",
    )
    up.add_argument("--dual-vip", action="store_true", help="a second VRRP instance, master on another node (seed 003)")
    up.add_argument("--unicast", action="store_true", help="unicast_peer adverts instead of multicast (seed 003)")
    up.add_argument(
        "--old-host",
        action="store_true",
        help="CentOS 6/7-like nodes: `ip` refuses -j, keepalived answers like 1.x, pid files under /var/run",
    )
    up.add_argument(
        "--clusters",
        type=int,
        default=1,
        metavar="N",
        help="a fleet: N independent clusters of the topology side by side (nodes c1-db1, ..., each its "
        "own VIPs, VRIDs and cluster file lab-cK.yml); a /24 holds 15",
    )
    up.add_argument(
        "--check-interval",
        type=int,
        metavar="S",
        help="seconds between keepalived's health checks (default 1; 5 for a fleet, so the nodes' own "
        "checks leave the two cores to what is measured)",
    )
    up.add_argument(
        "--check",
        choices=("hatui", "client"),
        help="keepalived's health check: hatui check-mysql (default) or one mariadb client query "
        "(default for a fleet: a tenth of the CPU)",
    )
    lsub.add_parser("down", help="remove everything the lab made (idempotent)")
    st = lsub.add_parser("status", help="what runs in the lab")
    st.add_argument("--json", action="store_true", help="machine-readable output")
    from hatui.lab.spec import FAULT_KINDS  # the names only: the lab's machinery loads for `lab` alone

    f = lsub.add_parser("fault", help="inject a fault into one node", formatter_class=_WholeWords)
    f.add_argument("kind", choices=list(FAULT_KINDS), metavar="KIND", help=", ".join(FAULT_KINDS))
    f.add_argument("node", metavar="NODE", help="a node of the lab (db1, db2, db3; r1, r2 with routers)")
    c = lsub.add_parser("console", help="open the console on the lab")
    c.add_argument("--watch", action="store_true", help="read-only wallboard")
    return p


class _WholeWords(argparse.HelpFormatter):
    """Help lines wrapped between words only: a fault's name (kill-keepalived) stays whole."""

    def _split_lines(self, text: str, width: int) -> list[str]:
        import textwrap

        return textwrap.wrap(" ".join(text.split()), width, break_on_hyphens=False)


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(argv)
    except BrokenPipeError:
        # `hatui timeline ... | head`: the reader left; say nothing more, like other CLI tools
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return Exit.BROKEN_PIPE
    except HatuiError as exc:  # every failure meant for the operator ends here, by type
        if not isinstance(exc, _NotLoaded):  # its problems are printed already
            print(f"hatui: {exc}", file=sys.stderr)
        return for_error(exc)
    except KeyboardInterrupt:
        print("hatui: interrupted", file=sys.stderr)
        return Exit.INTERRUPTED


def _main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["timeline"]:
        # its own parser: argparse's REMAINDER would take `--json` etc. as hatui's options
        from hatui.keepalived.timeline import timeline_main

        if any(a == "--record" or a.startswith("--record=") for a in argv[1:]):
            from hatui.record.timeline import read_for_timeline

            return timeline_main(argv[1:], read_recording=read_for_timeline)
        return timeline_main(argv[1:])
    if argv[:1] == ["check-mysql"]:
        # keepalived runs it every interval: import nothing the check does not need
        from hatui.checkmysql import main as check_mysql_main

        return check_mysql_main(argv[1:])
    args = _parser().parse_args(argv)
    if args.command == "lint":
        return _lint(args, argv)
    if args.command == "validate":
        return _validate(args.cluster)
    if args.command == "lab":
        return _lab(args)
    if args.command == "status":
        return _status(args, argv)
    if args.command == "replay":
        return _replay(args)
    if args.command == "trust-host":
        return _trust_host(args, argv)
    if args.command == "exporter":
        return _exporter(args, argv)
    if args.command == "serve":
        return _serve(args, argv)
    if args.command in (
        "switchover",
        "runbook",
        "repair-gap",
        "rejoin",
        "repoint",
        "split-brain",
        "failover",
        "make-writable",
        "skip-applied",
    ):
        return _runbook(args, argv)
    if not args.cluster:
        _parser().print_help()
        return Exit.USAGE
    return _console(args, argv)


class _NotLoaded(InputError):
    """A cluster file did not load (its problems are printed already)."""


def _load(paths: list[str]) -> list[Cluster]:
    """Every cluster file, or _NotLoaded (UNKNOWN for every command) after printing why."""
    from hatui.cluster import ClusterFileError, load_cluster

    clusters = []
    for path in paths:
        try:
            cluster = load_cluster(path)
        except ClusterFileError as exc:
            print(exc, file=sys.stderr)
            raise _NotLoaded(f"{path}: not loaded") from None
        for w in cluster.warnings:
            print(w, file=sys.stderr)
        clusters.append(cluster)
    return clusters


def _validate(paths: list[str]) -> int:
    clusters = _load(paths)
    for c in clusters:
        print(f"{c.source}: ok: cluster {c.name!r} ({c.topology}), {len(c.nodes)} nodes, {len(c.vips)} VIPs")
    return Exit.OK


def _enter_namespace(clusters: list[Cluster], argv: list[str]) -> None:
    """Re-run this command inside the clusters' network namespace (returns only when there is
    none); NamespaceError (UNKNOWN) when it cannot."""
    from hatui.netns_exec import NamespaceError, reexec_in

    namespaces = {c.namespace for c in clusters if c.namespace}
    if len(namespaces) > 1:
        raise NamespaceError("the cluster files name different network namespaces: " + ", ".join(sorted(namespaces)))
    if namespaces:
        reexec_in(namespaces.pop(), argv)


def _status(args, argv: list[str]) -> int:
    import asyncio

    from hatui.status import render, take_status

    clusters = _load([args.cluster])
    _enter_namespace(clusters, argv)
    snap = asyncio.run(take_status(clusters[0], timeout=args.timeout))
    text, code = render(snap, args.json)
    if args.record:
        from hatui.record.recorder import record_snapshot

        record_snapshot(args.record, snap)
    print(text)
    return code


def _replay(args) -> int:
    import json
    from datetime import datetime

    from hatui.record.file import Recording
    from hatui.record.replay import parse_moment, store_at
    from hatui.status import render

    rec = Recording(args.file)
    try:
        span = rec.span()
        if span is None:
            raise InputError(f"{args.file}: the recording holds no reading yet")
        if args.at is None:
            if args.json:
                raise InputError("--json needs --at TIME: the state at one moment")
            start = parse_moment(args.start, rec) if args.start else None
            ui = importlib.import_module("screens.replay")  # the console, fed from the file
            return ui.run(rec, watch=args.watch, at=start)
        t = parse_moment(args.at, rec)
        if span is None or not span[0] <= t <= span[1] + 60:
            raise InputError(
                f"{args.at}: outside the recording ({args.file} holds "
                + (
                    f"{datetime.fromtimestamp(span[0]).astimezone():%Y-%m-%d %H:%M:%S} to "
                    f"{datetime.fromtimestamp(span[1]).astimezone():%H:%M:%S})"
                    if span
                    else "no reading)"
                )
            )
        snap = store_at(rec, t).snapshot(max_events=None)
        text, code = render(snap, args.json)
        if args.json:
            d = json.loads(text)
            d["replayed_at"] = datetime.fromtimestamp(t).astimezone().isoformat(timespec="milliseconds")
            text = json.dumps(d, indent=2, default=str)
        else:
            text = f"REPLAY of {args.file} at {datetime.fromtimestamp(t).astimezone():%Y-%m-%d %H:%M:%S}\n{text}"
        print(text)
        return code
    finally:
        rec.close()


def _lint(args, argv: list[str]) -> int:
    import asyncio

    from hatui.lint.cli import lint_cluster, lint_local, report

    if bool(args.cluster) == bool(args.files):
        print("hatui lint: give either --cluster FILE or keepalived.conf files", file=sys.stderr)
        return Exit.USAGE
    if args.files:
        findings = lint_local(args.files, root=args.root, config_id=args.config_id)
        return report(findings, as_json=args.json, checked=f"{len(args.files)} file(s)")
    clusters = _load([args.cluster])
    _enter_namespace(clusters, argv)
    findings = asyncio.run(lint_cluster(clusters[0], run_t=not args.no_keepalived_t))
    return report(findings, as_json=args.json, checked=f"cluster {clusters[0].name}")


def _runbook(args, argv: list[str]) -> int:
    from hatui.runbook.cli import run_recovery, run_runbook

    clusters = _load([args.cluster])
    _enter_namespace(clusters, argv)
    cluster = clusters[0]
    if args.command == "runbook":
        return run_recovery(cluster, args.action, yes=args.yes)
    runbook: Runbook
    try:
        if args.command == "switchover":
            from hatui.runbook.switchover import Switchover

            runbook = Switchover(cluster, args.to)
        elif args.command == "repair-gap":
            from hatui.runbook.repair_gap import RepairGap

            runbook = RepairGap(cluster, args.old, args.new, on_conflict=args.on_conflict)
        elif args.command == "split-brain":
            from hatui.runbook.split_brain import SplitBrain

            runbook = SplitBrain(cluster, args.keep)
        elif args.command == "failover":
            from hatui.runbook.failover import Failover

            runbook = Failover(cluster, args.to, discard_errant=args.discard_errant)
        elif args.command == "repoint":
            from hatui.runbook.repoint import Repoint

            runbook = Repoint(cluster, args.nodes)
        elif args.command == "make-writable":
            from hatui.runbook.make_writable import MakeWritable

            runbook = MakeWritable(cluster, args.node)
        elif args.command == "skip-applied":
            from hatui.runbook.skip_applied import SkipApplied

            resolve = "keep-local" if args.keep_local else "take-source" if args.take_source else None
            runbook = SkipApplied(cluster, args.node, resolve)
        else:
            from hatui.runbook.rejoin import Rejoin

            runbook = Rejoin(cluster, args.node, discard_errant=args.discard_errant)
    except ValueError as exc:  # a node that is not in the cluster, or not of the right kind
        print(f"hatui: {exc}", file=sys.stderr)
        return Exit.USAGE
    return run_runbook(cluster, runbook, dry_run=args.dry_run, yes=args.yes, interactive=sys.stdin.isatty())


def _trust_host(args, argv: list[str]) -> int:
    import asyncio

    from hatui.ssh import SshError, fetch_host_key, known_hosts_path, trust_host_key

    clusters = _load([args.cluster])
    cluster = clusters[0]
    node = cluster.nodes.get(args.node)
    if node is None:
        print(
            f"hatui trust-host: {args.cluster}: no node {args.node!r}; expected one of: " + ", ".join(cluster.nodes),
            file=sys.stderr,
        )
        return Exit.USAGE
    _enter_namespace(clusters, argv)
    target = f"{node.name}'s jump host" if args.jump_host else f"{node.name} ({node.host}:{node.ssh.port})"
    expected = args.fingerprint
    try:
        if expected is None:
            key_type, fp, _ = asyncio.run(fetch_host_key(node, jump_host=args.jump_host))
            print(f"{target} offers a {key_type} host key with fingerprint {fp}")
            if not args.yes:
                if not sys.stdin.isatty():
                    print(
                        "hatui trust-host: not trusting it without a check: compare the fingerprint "
                        "with the host's own (ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub), then "
                        "run again with --fingerprint or --yes",
                        file=sys.stderr,
                    )
                    return Exit.WARNING
                if input("Trust it? Type yes: ").strip() != "yes":
                    print("hatui trust-host: not trusted", file=sys.stderr)
                    return Exit.WARNING
            expected = fp
        fp = asyncio.run(
            trust_host_key(node, expected_fingerprint=expected, jump_host=args.jump_host, cluster_file=cluster.source)
        )
    except SshError as exc:
        print(f"hatui trust-host: {exc}", file=sys.stderr)
        return for_error(exc)
    print(f"{target}: trusted host key {fp}, recorded in {known_hosts_path(node)}")
    return Exit.OK


def _exporter(args, argv: list[str]) -> int:

    from hatui.exporter import Exporter, parse_listen

    try:
        host, port = parse_listen(args.listen)
    except ValueError as exc:
        print(f"hatui exporter: {exc}", file=sys.stderr)
        return Exit.USAGE
    clusters = _load(args.cluster)
    _enter_namespace(clusters, argv)
    print(f"hatui exporter: {', '.join(c.name for c in clusters)} on http://{host}:{port}/metrics", flush=True)
    return _until_signalled("exporter", host, port, lambda until: Exporter(clusters).run(host, port, until=until))


def _until_signalled(what: str, host: str, port: int, run) -> int:
    """A listening service until SIGTERM/SIGINT, then stopped cleanly (its SSH sessions closed,
    its port freed): `run(until)` returns once the event is set."""
    import asyncio
    import signal

    async def main() -> None:
        until = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, until.set)
        await run(until)

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        print(f"hatui {what}: cannot listen on {host}:{port}: {exc}", file=sys.stderr)
        return Exit.UNKNOWN
    return Exit.OK


def _serve(args, argv: list[str]) -> int:
    if args.viewer:
        ui = importlib.import_module("screens.serve")  # the UI layer: the engine does not import it

        return int(ui.run_viewer(args.viewer))
    if not args.cluster:
        raise InputError("hatui serve: --cluster FILE is required")
    from hatui.serve.access import TOKEN_ENV, access

    clusters = _load(args.cluster)
    _enter_namespace(clusters, argv)
    acc = access(args.listen, token_file=args.token_file, cert=args.tls_cert, key=args.tls_key)
    os.environ.pop(TOKEN_ENV, None)  # read: no child process inherits it
    ui = importlib.import_module("screens.serve")

    names = ", ".join(c.name for c in clusters)
    guard = "an access token is needed" if acc.token else "no access token: loopback only"

    def ready(server, hub) -> None:
        print(f"hatui serve: {names} on {acc.url()} ({guard}; read-only)", flush=True)

    return _until_signalled(
        "serve",
        acc.host,
        acc.port,
        lambda until: ui.serve(clusters, acc, until=until, max_viewers=args.max_viewers, ready=ready),
    )


def _console(args, argv: list[str]) -> int:
    from pathlib import Path

    from hatui.statedir import state_dir

    clusters = _load(args.cluster)
    record = Path(args.record) if args.record else None
    if record is not None:
        if len(clusters) > 1:
            raise InputError("--record takes one cluster: record each to its own file")
        from hatui.record.file import RecordingWriter

        RecordingWriter(record, clusters[0]).close()  # an unusable file is said now, not in the console
    _enter_namespace(clusters, argv)
    # The engine never imports the UI at module level; the CLI hands over to it here, by name.
    ui = importlib.import_module("screens.app")
    flight = None if args.no_flight_recorder or args.watch else state_dir()
    return ui.run(clusters, watch=args.watch, record=record, flight_state=flight)


def _lab(args) -> int:
    from hatui.lab import Lab, LabError, default_spec
    from hatui.lab.lab import saved_spec
    from hatui.lab.spec import LabOptions

    try:
        if args.lab_command == "up":
            options = LabOptions(
                gtid=args.gtid == "on",
                vip_mover=args.vip_mover,
                dual_vip=args.dual_vip,
                unicast=args.unicast,
                old_host=args.old_host,
                check_interval=args.check_interval or (1 if args.clusters == 1 else 5),
                check=args.check or ("hatui" if args.clusters == 1 else "client"),
            )
            spec = default_spec(
                subnet=args.subnet, state_dir=args.dir, topology=args.topology, options=options, clusters=args.clusters
            )
        else:  # whatever is up there, as it was built
            spec = saved_spec(default_spec(subnet=args.subnet, state_dir=args.dir))
    except ValueError as exc:
        print(f"hatui lab: {exc}", file=sys.stderr)
        return Exit.USAGE
    lab = Lab(spec, say=lambda m: print(f"lab: {m}", flush=True))
    try:
        if args.lab_command == "up":
            lab.up()
            for path in spec.cluster_files:
                print(path)
            return Exit.OK
        if args.lab_command == "down":
            lab.down()
            return Exit.OK
        if args.lab_command == "status":
            return _lab_status(lab, args.json)
        if args.lab_command == "fault":
            print(lab.fault(args.kind, args.node))
            return Exit.OK
        if args.lab_command == "console":
            if not lab.is_up():
                raise LabError("the lab is not up: run `hatui lab up` first")
            argv = ["--cluster", str(spec.cluster_file)] + (["--watch"] if args.watch else [])
            return main(argv)
    except LabError as exc:
        print(f"hatui lab: {exc}", file=sys.stderr)
        return for_error(exc)
    except KeyboardInterrupt:
        print("hatui lab: interrupted", file=sys.stderr)
        return Exit.INTERRUPTED
    return Exit.USAGE


def _lab_status(lab, as_json: bool) -> int:
    s = lab.status()
    if as_json:
        print(json.dumps(s, indent=2))
        return Exit.OK if s["up"] else Exit.UNKNOWN
    from hatui.lab.spec import LabOptions

    files = s["cluster_files"]
    where = f"cluster file: {files[0]}" if len(files) == 1 else f"{len(files)} clusters: {', '.join(files)}"
    print(f"lab: {'up' if s['up'] else 'down'}   {where}")
    print(f"topology: {s['topology']} ({LabOptions(**s['options']).describe()})")
    for address, v in s["vips"].items():
        print(f"VIP {address} ({v['role']}, {v['instance']}): held by {', '.join(v['holders']) or 'nobody'}")
    print(f"{'node':7} {'address':15} {'sshd':>12} {'mysqld':>12} {'haproxy':>12} {'keepalived':>12}  network")
    for name, n in s["nodes"].items():

        def cell(d):
            if not d:
                return "-"
            return f"{'up' if d['running'] else 'DOWN'} {d['pid']}"

        net = "partitioned" if n.get("partitioned") else ("ok" if "partitioned" in n else "-")
        print(
            f"{name:7} {n['address']:15} {cell(n.get('sshd')):>12} {cell(n.get('mysqld')):>12} "
            f"{cell(n.get('haproxy')):>12} {cell(n.get('keepalived')):>12}  {net}"
        )
    missing = [ns for ns, ok in s["namespaces"].items() if not ok]
    if missing and s["up"] is False and len(missing) < len(s["namespaces"]):
        print("missing namespaces: " + ", ".join(missing))
    return Exit.OK if s["up"] else Exit.UNKNOWN
