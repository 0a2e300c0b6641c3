"""Alert episodes as people see them: listed (active or all), summed up for a part of the
country, acknowledged. The dashboard's statements on ``alerts``, parametrised, in one place;
free of Dash, so the command line may call them too.

An episode is one row of ``alerts`` (migration 0013), written by the alert engine: ``firing``
until it is ``resolved``. Values are the KPI's own (a fraction for ratios), thresholds as the
target says them (percent for ratios). Acknowledging records who and when, once: a second
acknowledgement keeps the first.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import psycopg
from psycopg.rows import class_row

Connection = psycopg.Connection[tuple[object, ...]]

SEVERITY_ORDER = ("critical", "warning", "info")  # most severe first
NAME_MAX = 80  # characters of who acknowledges

# Firing ones first, the most severe and newest first; then the resolved ones, newest first.
LIST = """
SELECT id, target_name, unit_code, kpi, agency_code, comparison, threshold, window_name, severity, state,
       fired_at, fired_value, fired_volume, resolved_at, resolved_value, resolved_reason,
       acknowledged_by, acknowledged_at
  FROM alerts
 WHERE (NOT %(active_only)s OR state = 'firing')
   AND (%(units)s::text[] IS NULL OR unit_code = ANY(%(units)s::text[]))
 ORDER BY state = 'firing' DESC,
          CASE WHEN state <> 'firing' THEN 0
               WHEN severity = 'critical' THEN 0 WHEN severity = 'warning' THEN 1 ELSE 2 END,
          fired_at DESC, id DESC
 LIMIT %(limit)s
"""
# How many fire, and the rank of the most severe (0 critical, 1 warning, 2 info).
SUMMARY = """
SELECT count(*), min(CASE severity WHEN 'critical' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END)
  FROM alerts
 WHERE state = 'firing' AND (%(units)s::text[] IS NULL OR unit_code = ANY(%(units)s::text[]))
"""
ACKNOWLEDGE = """
UPDATE alerts SET acknowledged_by = %(by)s, acknowledged_at = now()
 WHERE id = %(id)s AND acknowledged_at IS NULL
"""
ONE = """
SELECT id, target_name, unit_code, kpi, agency_code, comparison, threshold, window_name, severity, state,
       fired_at, fired_value, fired_volume, resolved_at, resolved_value, resolved_reason,
       acknowledged_by, acknowledged_at
  FROM alerts
 WHERE id = %(id)s
"""


@dataclass(frozen=True)
class Episode:
    """One firing episode of a (target, unit), as the alert engine wrote it."""

    id: int
    target_name: str
    unit_code: str
    kpi: str
    agency_code: str | None
    comparison: str
    threshold: Decimal  # percent for ratios
    window_name: str
    severity: str
    state: str  # firing or resolved
    fired_at: datetime
    fired_value: Decimal | None  # the KPI's own scale: a fraction for ratios
    fired_volume: int | None
    resolved_at: datetime | None
    resolved_value: Decimal | None
    resolved_reason: str | None  # recovered, insufficient, target_removed
    acknowledged_by: str | None
    acknowledged_at: datetime | None

    @property
    def firing(self) -> bool:
        return self.state == "firing"


@dataclass(frozen=True)
class Summary:
    """Firing alerts in a part of the country: how many, and the most severe of them."""

    count: int
    worst: str | None  # a severity, None when nothing fires


@dataclass(frozen=True)
class Acknowledgement:
    """The episode after an acknowledgement, and whether this one was recorded (False: it had
    been acknowledged already, and keeps its first acknowledgement)."""

    episode: Episode
    recorded: bool


class BadName(ValueError):
    """Who acknowledges is empty, too long or holds control characters (``reason`` says which)."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"who acknowledges: {reason}")
        self.reason = reason  # empty, too_long, control


def checked_name(raw: object) -> str:
    """Who acknowledges, trimmed (inner runs of spaces made one); ``BadName`` when it is empty,
    longer than ``NAME_MAX`` or holds control characters."""
    text = " ".join(str(raw or "").split())
    reason = (
        "empty"
        if not text
        else "too_long"
        if len(text) > NAME_MAX
        else "control"
        if any(unicodedata.category(c).startswith("C") for c in text)
        else None
    )
    if reason is not None:
        raise BadName(reason)
    return text


def listing(
    conn: Connection, *, active_only: bool, units: Collection[str] | None = None, limit: int = 200
) -> list[Episode]:
    """Episodes of ``units`` (None: everywhere): firing first, most severe and newest first, then
    (unless ``active_only``) the resolved ones, newest first."""
    params = {"active_only": active_only, "units": _units(units), "limit": limit}
    with conn.cursor(row_factory=class_row(Episode)) as cur:
        return cur.execute(LIST, params).fetchall()


def summary(conn: Connection, units: Collection[str] | None = None) -> Summary:
    """How many alerts fire in ``units`` (None: everywhere), and the most severe one's severity."""
    row = conn.execute(SUMMARY, {"units": _units(units)}).fetchone()
    count, rank = (int(row[0]), row[1]) if row else (0, None)  # type: ignore[call-overload]
    return Summary(count, None if rank is None else SEVERITY_ORDER[int(rank)])  # type: ignore[call-overload]


def get(conn: Connection, alert_id: int) -> Episode | None:
    with conn.cursor(row_factory=class_row(Episode)) as cur:
        return cur.execute(ONE, {"id": alert_id}).fetchone()


def acknowledge(conn: Connection, alert_id: int, by: str) -> Acknowledgement | None:
    """Record that ``by`` (see ``checked_name``) acknowledged episode ``alert_id`` now, unless
    someone did before; None when there is no such episode."""
    name = checked_name(by)
    with conn.transaction():
        recorded = conn.execute(ACKNOWLEDGE, {"id": alert_id, "by": name}).rowcount > 0
        episode = get(conn, alert_id)
    return None if episode is None else Acknowledgement(episode, recorded)


def _units(units: Collection[str] | None) -> list[str] | None:
    return None if units is None else sorted(units)
