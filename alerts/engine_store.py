"""The alert engine's statements (migrations 0013, 0014), all of them: states, transitions,
episodes opened and closed, the notification outbox. (Listing and acknowledging episodes, for
the dashboard and ``ioc alerts history/ack``, is ``alerts.episodes``.)

Values are the KPI's own (a fraction for ratios); thresholds are as the target says them
(percent for ratios). Every statement is parametrised.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from alerts.machine import State

Connection = psycopg.Connection[tuple[object, ...]]

# One key for the whole engine (advisory locks are per database): the active evaluator holds it.
LOCK_KEY = 0x10C_A1E27
TRY_LOCK = "SELECT pg_try_advisory_lock(%(key)s)"

STATES = "SELECT target_name, unit_code, state, since, better_since FROM alert_states"
SAVE_STATE = """
INSERT INTO alert_states (target_name, unit_code, state, since, value, volume, evaluated_at, better_since)
VALUES (%(target)s, %(unit)s, %(state)s, %(since)s, %(value)s, %(volume)s, %(at)s, %(better_since)s)
ON CONFLICT (target_name, unit_code) DO UPDATE SET
    state = EXCLUDED.state, since = EXCLUDED.since, value = EXCLUDED.value, volume = EXCLUDED.volume,
    evaluated_at = EXCLUDED.evaluated_at, better_since = EXCLUDED.better_since
"""
DROP_STATE = "DELETE FROM alert_states WHERE target_name = %(target)s AND unit_code = %(unit)s"
TRANSITION = """
INSERT INTO alert_transitions (target_name, unit_code, from_state, to_state, at, value, volume, threshold,
                               alert_id)
VALUES (%(target)s, %(unit)s, %(from_state)s, %(to_state)s, %(at)s, %(value)s, %(volume)s, %(threshold)s,
        %(alert_id)s)
"""
FIRING = "SELECT id, target_name, unit_code FROM alerts WHERE state = 'firing'"
OPEN_ALERT = """
INSERT INTO alerts (target_name, unit_code, kpi, agency_code, comparison, threshold, window_name, severity,
                    state, fired_at, fired_value, fired_volume)
VALUES (%(target)s, %(unit)s, %(kpi)s, %(agency)s, %(comparison)s, %(threshold)s, %(window)s, %(severity)s,
        'firing', %(at)s, %(value)s, %(volume)s)
RETURNING *
"""
RESOLVE_ALERT = """
UPDATE alerts SET state = 'resolved', resolved_at = %(at)s, resolved_value = %(value)s,
                  resolved_volume = %(volume)s, resolved_reason = %(reason)s
 WHERE id = %(id)s AND state = 'firing'
RETURNING *
"""
NOTIFY = """
INSERT INTO alert_notifications (alert_id, kind, destination, idempotency_key, payload)
VALUES (%(alert_id)s, %(kind)s, %(destination)s, %(key)s, %(payload)s)
ON CONFLICT (idempotency_key) DO NOTHING
"""
# A row with ``attempts`` at the limit (``%(attempts)s``, 0: none) is given up: kept, not sent.
DUE = """
SELECT id, destination, idempotency_key, payload, attempts FROM alert_notifications
 WHERE delivered_at IS NULL AND next_attempt_at <= now() AND (%(attempts)s = 0 OR attempts < %(attempts)s)
 ORDER BY id LIMIT %(limit)s
"""
NEXT_DUE = """
SELECT min(next_attempt_at) FROM alert_notifications
 WHERE delivered_at IS NULL AND (%(attempts)s = 0 OR attempts < %(attempts)s)
"""
DELIVERED = """
UPDATE alert_notifications SET delivered_at = now(), attempts = attempts + 1, last_error = NULL
 WHERE id = %(id)s
"""
FAILED = """
UPDATE alert_notifications
   SET attempts = attempts + 1, last_error = %(error)s, next_attempt_at = now() + %(wait)s
 WHERE id = %(id)s
"""


@dataclass(frozen=True)
class Due:
    """A notification to send (or send again)."""

    id: int
    destination: str
    idempotency_key: str
    payload: dict[str, Any]
    attempts: int


def number(value: Fraction | int | None) -> Decimal | None:
    """A KPI value as stored: exact for counts, 12 decimal places for fractions."""
    if value is None:
        return None
    if isinstance(value, int):
        return Decimal(value)
    return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(Decimal("1e-12"))


def try_lock(conn: Connection) -> bool:
    row = conn.execute(TRY_LOCK, {"key": LOCK_KEY}).fetchone()
    return bool(row and row[0])


def states(conn: Connection) -> dict[tuple[str, str], State]:
    rows = conn.execute(STATES).fetchall()
    return {(str(r[0]), str(r[1])): State(r[2], r[3], r[4]) for r in rows}  # type: ignore[arg-type]


def firing(conn: Connection) -> dict[tuple[str, str], int]:
    """The open episodes: (target, unit) → alert id."""
    return {(str(r[1]), str(r[2])): int(r[0]) for r in conn.execute(FIRING).fetchall()}  # type: ignore[call-overload]


def save_states(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        with conn.cursor() as cur:
            cur.executemany(SAVE_STATE, rows)


def drop_state(conn: Connection, target: str, unit: str) -> None:
    conn.execute(DROP_STATE, {"target": target, "unit": unit})


def transition(conn: Connection, row: dict[str, Any]) -> None:
    conn.execute(TRANSITION, row)


def open_alert(conn: Connection, row: dict[str, Any]) -> dict[str, Any]:
    with conn.cursor(row_factory=dict_row) as cur:
        found = cur.execute(OPEN_ALERT, row).fetchone()
    assert found is not None
    return found


def resolve_alert(conn: Connection, row: dict[str, Any]) -> dict[str, Any] | None:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(RESOLVE_ALERT, row).fetchone()


def notify(
    conn: Connection, alert_id: int, *, kind: str, destination: str, key: str, payload: object
) -> None:
    conn.execute(
        NOTIFY,
        {
            "alert_id": alert_id,
            "kind": kind,
            "destination": destination,
            "key": key,
            "payload": Jsonb(payload),
        },
    )


def due(conn: Connection, *, attempts: int, limit: int = 50) -> list[Due]:
    """The rows to send now, not given up after ``attempts`` (0: never given up)."""
    found = conn.execute(DUE, {"limit": limit, "attempts": attempts}).fetchall()
    return [Due(*row) for row in found]  # type: ignore[arg-type]


def next_due(conn: Connection, *, attempts: int) -> datetime | None:
    row = conn.execute(NEXT_DUE, {"attempts": attempts}).fetchone()
    return row[0] if row else None  # type: ignore[return-value]


def delivered(conn: Connection, notification_id: int) -> None:
    conn.execute(DELIVERED, {"id": notification_id})


def failed(conn: Connection, notification_id: int, error: str, *, wait_s: float) -> None:
    conn.execute(FAILED, {"id": notification_id, "error": error[:1000], "wait": timedelta(seconds=wait_s)})
