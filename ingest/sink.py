"""The store side of ingest: one batch, one transaction.

``write_batch`` writes a batch's dead letters and new events, brings the state of every
application that got a new event up to date, and changes the rollups by the difference
between those applications' old and new contributions. Nothing is committed here: the
caller commits the transaction, then Kafka's offsets. Redelivered events are recognised
by ``event_id`` in ``event_ids`` and change nothing, so a batch may be written any
number of times.

An application's new state goes on from its stored row when all its new events come
after the row's last event (the usual case: ``fold.advance``); otherwise (a late event)
it is folded again from all its stored events. Batches travel to the server as one JSON
document per statement, which the server takes apart: far cheaper than a parameter per
value.

Concurrent consumers (a rebalance hands a partition over while the old owner still
writes) are serialised per application with transaction-scoped advisory locks taken in
sorted order, and every read of an application happens after its lock. Rollup rows are
changed by additions in key order, so two transactions never deadlock on them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from typing import Any, cast
from zoneinfo import ZoneInfo

import orjson
import psycopg
from psycopg import sql
from psycopg.rows import class_row
from psycopg.types.multirange import Multirange

from ingest.contract import Decoded
from ingest.fold import ApplicationState, StoredEvent, advance, fold, order
from store.rollups import COUNTERS, FIRST_DAY, KEY, TABLES

Connection = psycopg.Connection[tuple[object, ...]]

INSERT_DEAD_LETTERS = """
INSERT INTO dead_letters (topic, partition, "offset", payload, reason)
SELECT * FROM unnest(%(topics)b::text[], %(partitions)b::int[], %(offsets)b::bigint[],
                     %(payloads)b::bytea[], %(reasons)b::text[])
ON CONFLICT (topic, partition, "offset") DO NOTHING
"""
# %(batch)s: a JSON array of [event_id, occurred_at, event_type, application_id,
# procedure_code, agency_code, unit_code, payload, source], sorted by event_id.
STORE_EVENTS = """
WITH batch AS (
    SELECT b->>0 AS event_id, (b->>1)::timestamptz AS occurred_at, b->>2 AS event_type,
           b->>3 AS application_id, b->>4 AS procedure_code, b->>5 AS agency_code,
           b->>6 AS unit_code, b->7 AS payload, b->>8 AS source
      FROM jsonb_array_elements(%(batch)s::jsonb) AS b
), claimed AS (
    INSERT INTO event_ids (event_id, occurred_at)
    SELECT event_id, occurred_at FROM batch
    ON CONFLICT (event_id) DO NOTHING
    RETURNING event_id
)
INSERT INTO events (event_id, occurred_at, event_type, application_id, procedure_code,
                    agency_code, unit_code, payload, source)
SELECT b.* FROM batch b JOIN claimed USING (event_id)
RETURNING event_id
"""
# A batch's statements are planned as costly enough for JIT, whose compiling takes longer than
# the statements run.
NO_JIT = "SET LOCAL jit = off"
LOCK = "SELECT count(pg_advisory_xact_lock(k)) FROM unnest(%(keys)s::bigint[]) AS k"
EVENTS_OF = """
SELECT event_id, event_type, occurred_at, application_id, procedure_code, agency_code, unit_code,
       payload AS attrs
  FROM events WHERE application_id = ANY(%(apps)s)
"""

STATE_COLUMNS = tuple(f.name for f in fields(ApplicationState))
_columns = sql.SQL(", ").join(map(sql.Identifier, STATE_COLUMNS))
_key = sql.SQL(", ").join(map(sql.Identifier, KEY))
_counters = [sql.Identifier(c) for c in COUNTERS]
STATES = sql.SQL("SELECT {} FROM applications WHERE application_id = ANY(%(apps)s)").format(_columns)
# An upsert of one rollup table: the delta's sums per key (days, or months and years by their first day).
_ADD = """
{cte} AS (
    INSERT INTO {table} ({key}, {counters})
    SELECT {day}, unit_code, agency_code, procedure_code, channel, {sums}
      FROM delta
     GROUP BY 1, 2, 3, 4, 5
    HAVING {changed}
     ORDER BY 1, 2, 3, 4, 5
    ON CONFLICT ({key}) DO UPDATE SET {additions}
    RETURNING {name} AS rollup, {key}, received = 0 AND resolved = 0 AS empty
)"""


def _add(table: str, day: str) -> sql.Composed:
    return sql.SQL(_ADD).format(
        cte=sql.Identifier(f"added_to_{table}"),
        table=sql.Identifier(table),
        name=sql.Literal(table),
        key=_key,
        day=sql.SQL(day),
        counters=sql.SQL(", ").join(_counters),
        sums=sql.SQL(", ").join(sql.SQL("sum(sign * {})").format(c) for c in _counters),
        changed=sql.SQL(" OR ").join(sql.SQL("sum(sign * {}) <> 0").format(c) for c in _counters),
        additions=sql.SQL(", ").join(
            sql.SQL("{0} = {1}.{0} + EXCLUDED.{0}").format(c, sql.Identifier(table)) for c in _counters
        ),
    )


# %(states)s: a JSON array of application rows. Writes them, and adds to every rollup their
# new contributions minus the old ones (read in the same snapshot, before the upsert), in
# key order; returns the rollup rows written, with whether they are now empty.
WRITE_STATES = sql.SQL("""
WITH new AS (
    SELECT * FROM json_populate_recordset(NULL::applications, %(states)s::json)
), old AS (
    SELECT a.* FROM applications a WHERE a.application_id IN (SELECT application_id FROM new)
), written AS (
    INSERT INTO applications ({columns}, updated_at)
    SELECT {columns}, now() FROM new
    ON CONFLICT (application_id) DO UPDATE SET ({columns}, updated_at) = ({excluded}, now())
), delta AS (
    SELECT c.*, 1 AS sign FROM new n, rollup_contributions(n, %(tz)s) c
    UNION ALL
    SELECT c.*, -1 FROM old o, rollup_contributions(o, %(tz)s) c
),{additions}
{added}
""").format(
    columns=_columns,
    excluded=sql.SQL(", ").join(sql.SQL("EXCLUDED.{}").format(sql.Identifier(c)) for c in STATE_COLUMNS),
    additions=sql.SQL(",").join(_add(table, FIRST_DAY[table]) for table in TABLES),
    added=sql.SQL(" UNION ALL ").join(
        sql.SQL("SELECT * FROM {}").format(sql.Identifier(f"added_to_{table}")) for table in TABLES
    ),
)
# Every counter is part of received or resolved: a row with both at 0 is empty, and a
# from-scratch computation would not have it.
_KEY_PARAMS = ("days", "units", "agencies", "procedures", "channels")
DELETE_EMPTY = {
    table: sql.SQL("""
DELETE FROM {table}
 WHERE ({key}) IN (SELECT * FROM unnest(%(days)s::date[], %(units)s::text[], %(agencies)s::text[],
                                         %(procedures)s::text[], %(channels)s::text[]))
   AND received = 0 AND resolved = 0
""").format(table=sql.Identifier(table), key=_key)
    for table in TABLES
}


@dataclass(frozen=True)
class Accepted:
    """A valid event and where it was read from (``topic/partition/offset``)."""

    decoded: Decoded
    source: str


@dataclass(frozen=True)
class DeadLetter:
    topic: str
    partition: int
    offset: int
    value: bytes
    reason: str


@dataclass(frozen=True)
class BatchResult:
    stored: int  # events new to the store
    duplicates: int  # valid events already stored (redelivery, producer retries)
    dead_letters: int
    applications: int  # applications refolded
    rollup_rows: int
    changed_units: frozenset[str] = field(default_factory=frozenset)
    latest_event_at: datetime | None = None
    earliest_event_at: datetime | None = None  # of the new events: the first instant they change
    rollup_days: frozenset[date] = frozenset()  # local days whose daily rollup rows changed


def write_batch(
    conn: Connection, accepted: Sequence[Accepted], dead: Sequence[DeadLetter], tz: ZoneInfo
) -> BatchResult:
    """Write one batch inside the caller's open transaction (see the module docstring)."""
    conn.execute(NO_JIT)
    if dead:
        conn.execute(
            INSERT_DEAD_LETTERS,
            {
                "topics": [d.topic for d in dead],
                "partitions": [d.partition for d in dead],
                "offsets": [d.offset for d in dead],
                "payloads": [d.value for d in dead],
                "reasons": [d.reason for d in dead],
            },
        )
    unique = {a.decoded.event.event_id: a for a in accepted}
    new = _store_events(conn, [unique[k] for k in sorted(unique)])
    if not new:
        return BatchResult(0, len(accepted), len(dead), 0, 0)
    by_app: dict[str, list[StoredEvent]] = {}
    for item in new:
        by_app.setdefault(item.decoded.event.application_id, []).append(_stored(item))
    apps = sorted(by_app)
    _lock(conn, [("app", a) for a in apps])
    old = read_states(conn, apps)
    states = _next_states(conn, by_app, old, tz)
    written = conn.execute(WRITE_STATES, {"states": _states_json(states), "tz": tz.key}).fetchall()
    for table in TABLES:
        empty = [row[1:6] for row in written if row[0] == table and row[6]]
        if empty:
            columns = zip(*empty, strict=True)
            conn.execute(DELETE_EMPTY[table], dict(zip(_KEY_PARAMS, map(list, columns), strict=True)))
    return BatchResult(
        stored=len(new),
        duplicates=len(accepted) - len(new),
        dead_letters=len(dead),
        applications=len(states),
        rollup_rows=len(written),
        changed_units=frozenset(s.unit_code for s in [*states, *old.values()]),
        latest_event_at=max(a.decoded.event.occurred_at for a in new),
        earliest_event_at=min(a.decoded.event.occurred_at for a in new),
        rollup_days=frozenset(cast(date, row[1]) for row in written if row[0] == "rollup_daily"),
    )


def _store_events(conn: Connection, accepted: list[Accepted]) -> list[Accepted]:
    """Insert the events whose ids are new; return them."""
    if not accepted:
        return []
    batch = orjson.dumps(
        [
            (
                e.event_id,
                e.occurred_at,
                e.event_type,
                e.application_id,
                e.procedure_code,
                e.agency_code,
                e.unit_code,
                orjson.Fragment(a.decoded.payload),
                a.source,
            )
            for a in accepted
            for e in (a.decoded.event,)
        ]
    ).decode()
    claimed = {str(r[0]) for r in conn.execute(STORE_EVENTS, {"batch": batch})}
    return [a for a in accepted if a.decoded.event.event_id in claimed]


def _stored(item: Accepted) -> StoredEvent:
    e = item.decoded.event
    return StoredEvent(
        e.event_id,
        e.event_type,
        e.occurred_at,
        e.application_id,
        e.procedure_code,
        e.agency_code,
        e.unit_code,
        attrs=e.__dict__,  # the model's fields, as a stored payload has them
    )


def _lock(conn: Connection, names: Iterable[tuple[str, ...]]) -> None:
    keys = sorted({_lock_key(name) for name in names})
    conn.execute(LOCK, {"keys": keys})


def _lock_key(name: tuple[str, ...]) -> int:
    digest = hashlib.blake2b("\x1f".join(name).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def read_states(conn: Connection, apps: list[str]) -> dict[str, ApplicationState]:
    """The stored state of those of ``apps`` that have one."""
    states = {}
    for row in conn.execute(STATES, {"apps": apps}):
        values: dict[str, Any] = dict(zip(STATE_COLUMNS, row, strict=True))
        ranges: Multirange[datetime] = values["supplement_periods"]
        values["supplement_periods"] = tuple((r.lower, r.upper) for r in ranges)
        values["supplement_requested_at"] = tuple(values["supplement_requested_at"])
        state = ApplicationState(**values)
        states[state.application_id] = state
    return states


def _next_states(
    conn: Connection,
    new: dict[str, list[StoredEvent]],
    old: dict[str, ApplicationState],
    tz: ZoneInfo,
) -> list[ApplicationState]:
    """Each application's state with its new events: advanced from the old one, or refolded."""
    states, late = [], []
    for app, events in new.items():
        events.sort(key=order)
        before = old.get(app)
        if before is None:
            states.append(fold(events, tz))
        elif order(events[0]) > (before.last_event_at, before.last_event_id):
            states.append(advance(before, events, tz))
        else:
            late.append(app)
    if late:
        everything: dict[str, list[StoredEvent]] = {}
        with conn.cursor(row_factory=class_row(StoredEvent)) as cur:
            for event in cur.execute(EVENTS_OF, {"apps": late}):
                everything.setdefault(event.application_id, []).append(event)
        states += [fold(everything[app], tz) for app in late]
    return states


def _states_json(states: list[ApplicationState]) -> str:
    rows = []
    for state in states:
        row: dict[str, Any] = dict(state.__dict__)
        row["supplement_periods"] = _multirange(state.supplement_periods)
        rows.append(row)
    return orjson.dumps(rows).decode()


def _multirange(periods: tuple[tuple[datetime, datetime | None], ...]) -> str:
    """A tstzmultirange literal: ``{[lower,upper),[lower,)}`` (an open period has no upper)."""
    spans = (f"[{lo.isoformat()},{hi.isoformat() if hi else ''})" for lo, hi in periods)
    return "{" + ",".join(spans) + "}"
