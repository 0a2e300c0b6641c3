"""The backfill's progress as one line of text: pure, so the terminal and the log share it.

``line`` renders ``history ███████░░░ 62 % 312,400 / 503,000 events, 4,210/s, about 45 s left,
up to 2026-10-03``; without a known total only the counts and the rate. ``expected_events``
estimates the total from the plan's volume and the shape of the week, without generating
anything. ``Reporter`` decides when a line is written: on a terminal redrawn in place (``\\r``)
every report, elsewhere (a log file, ``ioc up``'s pipe) one plain line every ``every_s``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import TextIO

from simulate import shape
from simulate.stream import Plan

FULL, EMPTY = "█", "░"
MIN_BAR, MAX_BAR = 10, 30
LOG_EVERY_S = 5.0


def line(
    *,
    sent: int,
    total: int | None,
    elapsed_s: float,
    latest: date | None,
    width: int = 100,
    phase: str = "history",
) -> str:
    """One progress line of at most ``width`` characters where the bar can shrink to fit it."""
    rate = sent / elapsed_s if elapsed_s > 0 else 0.0
    parts = [f"{rate:,.0f}/s"]
    if total is not None and total > 0:
        shown_total = max(total, sent)
        fraction = min(sent / shown_total, 1.0)
        counts = f"{sent:,} / {shown_total:,} events"
        if rate > 0 and sent < shown_total:
            parts.append(f"about {_duration((shown_total - sent) / rate)} left")
    else:
        fraction = None
        counts = f"{sent:,} events"
    if latest is not None:
        parts.append(f"up to {latest.isoformat()}")
    tail = f"{counts}, {', '.join(parts)}"
    if fraction is None:
        return f"{phase} {tail}"
    percent = math.floor(fraction * 100)
    fixed = f"{phase}  {percent:>3} % {tail}"
    bar_width = max(MIN_BAR, min(MAX_BAR, width - len(fixed) - 1))
    filled = math.floor(fraction * bar_width)
    return f"{phase} {FULL * filled}{EMPTY * (bar_width - filled)} {percent:>3} % {tail}"


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{max(1, round(seconds))} s"
    if seconds < 90 * 60:
        return f"{round(seconds / 60)} min"
    return f"{seconds / 3600:.1f} h"


def expected_events(plan: Plan) -> int:
    """About how many events the plan's history holds: the applications the day and week shapes
    expect between ``plan.start`` and ``plan.now``, times the events of each, less those still to
    come at ``plan.now`` (a lifecycle's later steps)."""
    calendar = plan.world.calendar
    counter_week, online_week = shape.week_totals()
    world = plan.world
    total = world.counter_total + world.online_total
    if not total or plan.now <= plan.start:
        return 0
    per_week = plan.applications_per_day * 7.0
    counter_scale = per_week * world.counter_total / total / counter_week
    online_scale = per_week * world.online_total / total / online_week
    first, last = int(plan.start.timestamp()), int(plan.now.timestamp())
    expected = 0.0
    day = calendar.day_of(first)
    while calendar.at(day, 0) < last:
        counter_w, online_w = shape.day_weights(calendar, day)
        for index in range(shape.SLOTS_PER_DAY):
            slot_start = calendar.at(day, index * shape.SLOT_SECONDS)
            slot_end = slot_start + shape.SLOT_SECONDS
            overlap = min(slot_end, last) - max(slot_start, first)
            if overlap > 0:
                mean = counter_scale * counter_w[index] + online_scale * online_w[index]
                expected += mean * overlap / shape.SLOT_SECONDS
        day += 1
    return round(expected * plan.events_per_application * _sent_share(plan.now - plan.start))


def _sent_share(history: timedelta) -> float:
    """The share of the history's applications' events that happen before its end. A first step
    (``FIRST_SHARE`` of the events) comes at filing, the others after about ``LATER_MEAN_DAYS``
    (exponentially): averaged over applications filed evenly through ``history``. Fitted on the
    default world: within 5 % from 7 to 90 days (tests/test_progress.py)."""
    days = history / timedelta(days=1)
    if days <= 0:
        return FIRST_SHARE
    later = 1.0 - LATER_MEAN_DAYS / days * (1.0 - math.exp(-days / LATER_MEAN_DAYS))
    return FIRST_SHARE + (1.0 - FIRST_SHARE) * later


FIRST_SHARE = 0.2
LATER_MEAN_DAYS = 3.0


class Reporter:
    """Writes progress lines to ``out``: redrawn in place on a terminal, else one plain line every
    ``every_s`` (so a log stays readable); ``finish`` ends the in-place line."""

    def __init__(
        self,
        out: TextIO,
        *,
        tty: bool,
        width: Callable[[], int],
        every_s: float = LOG_EVERY_S,
        prefix: str = "",
    ) -> None:
        self._out = out
        self._tty = tty
        self._width = width
        self._every_s = every_s
        self._prefix = prefix
        self._last: float | None = None
        self._drawn = 0

    def show(self, *, sent: int, total: int | None, elapsed_s: float, latest: datetime | None) -> None:
        if not self._tty and self._last is not None and elapsed_s - self._last < self._every_s:
            return
        self._last = elapsed_s
        width = self._width() - len(self._prefix)
        text = self._prefix + line(
            sent=sent,
            total=total,
            elapsed_s=elapsed_s,
            latest=None if latest is None else latest.date(),
            width=width,
        )
        if self._tty:
            text = text[: self._width() - 1]
            self._out.write("\r" + text.ljust(self._drawn))
            self._drawn = len(text)
        else:
            self._out.write(text + "\n")
        self._out.flush()

    def finish(self) -> None:
        """End the line drawn in place (nothing to do in a log)."""
        if self._tty and self._drawn:
            self._out.write("\n")
            self._out.flush()
            self._drawn = 0
