"""The wall display's own reads of the store: the latest events and the data's age.

Every statement of those reads is here, parametrised. Its active alerts come from
``alerts.episodes`` (through ``Data.alerts``), where every statement on alert episodes is.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

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
