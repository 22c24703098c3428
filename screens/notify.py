"""Notifications in the console: a toast per incident (and the bell), and the cluster's hooks.

Toasts are for incidents, never single alerts: one dead writer is one toast, replaced in place
when the incident changes (the VIP moved) and when it is resolved. A VRRP role change gets a
toast of its own only when no active incident covers its node (a planned switchover). Hooks get
every event, alerts included (each hook chooses its kinds).

The engine decides what is an event (hatui.notify.Notifier) and runs the hooks
(hatui.notify.HookRunner); this only shows them. Both the dashboard and the wallboard own one
per cluster: hooks run in --watch mode too, on the console's machine (they change nothing in
the cluster through hatui; what a hook does is the operator's choice)."""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Iterable

from textual.notifications import Notification, Notify
from textual.widget import Widget

from hatui.cluster import Cluster
from hatui.notify import (
    INC_CLEARED,
    INCIDENT_KINDS,
    MERGED_PREFIX,
    ROLE,
    Delivery,
    Gate,
    HookResult,
    HookRunner,
    Notifier,
    NotifyEvent,
    RateLimiter,
)
from hatui.views.frame import Frame

log = logging.getLogger(__name__)

TOAST_SECONDS = {"error": 15.0, "warning": 10.0, "information": 6.0}


class ClusterNotifications:
    """One cluster's notifications. `on_frame` is called every tick with the view's frame."""

    def __init__(
        self,
        owner: Widget,
        cluster: Cluster,
        *,
        clock: Callable[[], float] = time.monotonic,
        others: Iterable[Cluster] = (),
    ):
        self.owner = owner
        self.cluster = cluster
        self.config = cluster.notify
        self.notifier = Notifier(cluster)
        rate = self.config.rate_limit
        # toasts are rate-limited like a hook, so an alert storm cannot bury the screen
        self.toasts = Gate(RateLimiter(rate.max_events, rate.per_seconds, clock))
        # `others`: every cluster this console has open; their password variables are dropped too
        self.runner = HookRunner(cluster, on_result=self._on_result, others=others) if self.config.hooks else None
        self._failing: set[int] = set()  # hooks whose failure was shown (once per failing streak)
        self._shown: dict[str, Notification] = {}  # incident anchor -> its toast, replaced in place
        self.history: deque[str] = deque(maxlen=200)  # every toast shown, "title: message"

    def start(self) -> None:
        if self.runner is not None:
            self.runner.start()

    async def close(self) -> None:
        if self.runner is not None:
            await self.runner.close()

    def on_frame(self, frame: Frame) -> list[NotifyEvent]:
        events = self.notifier.observe(
            frame.snapshot, frame.raised, frame.cleared_now, frame.now, frame.incident_changes
        )
        if events and self.runner is not None:
            self.runner.submit(events)
        covered = {n for ai in frame.incidents for n in ai.incident.nodes}
        for e in events:
            if e.kind == INC_CLEARED and e.new.startswith(MERGED_PREFIX):
                old = self._shown.pop(e.subject, None)  # folded into another incident: its toast
                if old is not None:  # goes, and nothing new is said (the other one says it)
                    self._unshow(old)
        toasted = [
            e
            for e in events
            if (e.kind in INCIDENT_KINDS and not e.new.startswith(MERGED_PREFIX))
            or (e.kind == ROLE and e.node not in covered)
        ]
        if self.config.toast:
            shown = [d for e in toasted if (d := self.toasts.offer(e)) is not None]
            if (late := self.toasts.due()) is not None:
                shown.append(late)
            for d in shown:
                self._toast(d)
        if toasted and self.config.bell:
            self.owner.app.bell()  # once per tick, however many events it brought
        return events

    def _toast(self, d: Delivery) -> None:
        e = d.event
        severity = e.toast_severity
        title = f"{self.cluster.name} · {e.title}"
        if d.suppressed and e.kind != "suppressed":
            title += f" (+{d.suppressed} held back)"
        note = Notification(e.message, title, severity, TOAST_SECONDS[severity], markup=False)  # type: ignore[arg-type]  # a Literal in Textual, our str
        self.history.append(f"{title}: {e.message}")
        if e.kind in INCIDENT_KINDS:
            old = self._shown.pop(e.subject, None)
            if old is not None:
                self._unshow(old)  # the incident's toast says what it is now, not twice
            self._shown[e.subject] = note
        # shown at once, not by a message the app handles later: the next tick's replacement must
        # find it to take it back (under load both toasts of one incident stayed: CI caught it)
        self.owner.app._on_notify(Notify(note))

    def _unshow(self, note: Notification) -> None:
        app = self.owner.app
        try:
            app._unnotify(note)  # Textual has no public way to take one toast back
        except (KeyError, AttributeError):
            pass  # expired already

    def _on_result(self, r: HookResult) -> None:
        if r.ok:
            self._failing.discard(r.hook)
            return
        if r.hook in self._failing:
            return  # said once already; it is still failing
        self._failing.add(r.hook)
        try:
            self.owner.app.notify(
                f"hook {r.hook + 1} ({r.label}) {r.describe()}",
                title=f"{self.cluster.name} · notification hook failed",
                severity="error",
                timeout=TOAST_SECONDS["error"],
                markup=False,
            )
        except Exception:  # the view is gone (shutting down): the log has it
            log.debug("cannot show a hook failure", exc_info=True)
