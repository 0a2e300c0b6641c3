"""The wall display's own reads of the store: the latest events, the data's age, active alerts.

Every statement of those reads is here, parametrised. The alert engine is not built yet: its
table ``alerts`` is read only when it exists (``active_alerts`` returns None otherwise), with
no assumption on its columns beyond what each row says about itself, a seam to replace.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg.rows import class_row

from dashboard.pool import Connection

LATEST_EVENT_AT = "SELECT max(occurred_at) FROM events"
LATEST_EVENTS = """
SELECT event_id, occurred_at, event_type, unit_code, agency_code, procedure_code
  FROM events
 WHERE %(units)s::text[] IS NULL OR unit_code = ANY(%(units)s::text[])
 ORDER BY occurred_at DESC
 LIMIT %(limit)s
"""
ALERTS_TABLE = "SELECT to_regclass('public.alerts') IS NOT NULL"
ACTIVE_ALERTS = """
SELECT to_jsonb(a) FROM alerts a
 WHERE coalesce(to_jsonb(a) ->> 'state', 'firing') IN ('firing', 'pending')
 LIMIT %(limit)s
"""


@dataclass(frozen=True)
class Event:
    event_id: str
    occurred_at: datetime
    event_type: str
    unit_code: str
    agency_code: str
    procedure_code: str


def latest_event_at(conn: Connection) -> datetime | None:
    row = conn.execute(LATEST_EVENT_AT).fetchone()
    return row[0] if row else None  # type: ignore[return-value]


def latest_events(conn: Connection, units: Collection[str] | None, limit: int = 8) -> list[Event]:
    """The newest events (by when they happened) of ``units`` (None: all), newest first."""
    params = {"units": None if units is None else sorted(units), "limit": limit}
    with conn.cursor(row_factory=class_row(Event)) as cur:
        return cur.execute(LATEST_EVENTS, params).fetchall()


def active_alerts(conn: Connection, limit: int = 6) -> list[dict[str, Any]] | None:
    """Firing or pending alerts as the alert engine's rows say them; None without that table."""
    row = conn.execute(ALERTS_TABLE).fetchone()
    if not row or not row[0]:
        return None
    return [dict(r[0]) for r in conn.execute(ACTIVE_ALERTS, {"limit": limit}).fetchall()]  # type: ignore[call-overload]
