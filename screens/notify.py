"""Notifications in the console: a toast per event (and the bell), and the cluster's hooks.

The engine decides what is an event (hatui.notify.Notifier) and runs the hooks
(hatui.notify.HookRunner); this only shows them. Both the dashboard and the wallboard own one
per cluster: hooks run in --watch mode too, on the console's machine (they change nothing in
the cluster through hatui; what a hook does is the operator's choice)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable

from textual.widget import Widget

from hatui.cluster import Cluster
from hatui.notify import Delivery, Gate, HookResult, HookRunner, Notifier, NotifyEvent, RateLimiter
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

    def start(self) -> None:
        if self.runner is not None:
            self.runner.start()

    async def close(self) -> None:
        if self.runner is not None:
            await self.runner.close()

    def on_frame(self, frame: Frame) -> list[NotifyEvent]:
        events = self.notifier.observe(frame.snapshot, frame.raised, frame.cleared_now, frame.now)
        if events and self.runner is not None:
            self.runner.submit(events)
        if self.config.toast:
            shown = [d for e in events if (d := self.toasts.offer(e)) is not None]
            if (late := self.toasts.due()) is not None:
                shown.append(late)
            for d in shown:
                self._toast(d)
        if events and self.config.bell:
            self.owner.app.bell()  # once per tick, however many events it brought
        return events

    def _toast(self, d: Delivery) -> None:
        e = d.event
        severity = e.toast_severity
        title = f"{self.cluster.name} · {e.title}"
        if d.suppressed and e.kind != "suppressed":
            title += f" (+{d.suppressed} held back)"
        self.owner.app.notify(e.message, title=title, severity=severity, timeout=TOAST_SECONDS[severity], markup=False)

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
