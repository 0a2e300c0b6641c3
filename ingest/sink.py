"""The store side of ingest: one batch, one transaction.

``write_batch`` writes a batch's dead letters and new events, refolds the state of
every application that got a new event, and refreshes the rollups those applications
touch (their keys before and after). Nothing is committed here: the caller commits the
transaction, then Kafka's offsets. Redelivered events are recognised by ``event_id`` in
``event_ids`` and change nothing, so a batch may be written any number of times.

Concurrent consumers (a rebalance hands a partition over while the old owner still
writes) are serialised per application and per rollup key with transaction-scoped
advisory locks taken in sorted order, and every recomputation reads after its lock, so
no update is lost and no two transactions deadlock on each other's keys.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

import psycopg
from psycopg.rows import class_row
from psycopg.types.multirange import Multirange
from psycopg.types.range import Range

from ingest.contract import Decoded
from ingest.fold import ApplicationState, StoredEvent, fold
from store import rollups
from store.rollups import RollupKey

Connection = psycopg.Connection[tuple[object, ...]]

INSERT_DEAD_LETTERS = """
INSERT INTO dead_letters (topic, partition, "offset", payload, reason)
SELECT * FROM unnest(%(topics)b::text[], %(partitions)b::int[], %(offsets)b::bigint[],
                     %(payloads)b::bytea[], %(reasons)b::text[])
ON CONFLICT (topic, partition, "offset") DO NOTHING
"""
CLAIM_IDS = """
INSERT INTO event_ids (event_id, occurred_at)
SELECT * FROM unnest(%(ids)b::text[], %(times)b::timestamptz[])
ON CONFLICT (event_id) DO NOTHING
RETURNING event_id
"""
INSERT_EVENTS = """
INSERT INTO events (event_id, occurred_at, event_type, application_id, procedure_code,
                    agency_code, unit_code, payload, source)
SELECT id, at, type, app, proc, agency, unit, payload::jsonb, source
  FROM unnest(%(ids)b::text[], %(times)b::timestamptz[], %(types)b::text[], %(apps)b::text[],
              %(procs)b::text[], %(agencies)b::text[], %(units)b::text[], %(payloads)b::text[],
              %(sources)b::text[])
       AS e(id, at, type, app, proc, agency, unit, payload, source)
"""
LOCK = "SELECT count(pg_advisory_xact_lock(k)) FROM unnest(%(keys)s::bigint[]) AS k"
OLD_KEYS = """
SELECT received_day, resolved_day, withdrawn_day, unit_code, agency_code, procedure_code
  FROM applications WHERE application_id = ANY(%(apps)s)
"""
EVENTS_OF = """
SELECT event_id, event_type, occurred_at, application_id, procedure_code, agency_code, unit_code,
       payload AS attrs
  FROM events WHERE application_id = ANY(%(apps)s)
"""
UPSERT_APPLICATION = """
INSERT INTO applications (
    application_id, procedure_code, agency_code, unit_code, channel, online_level,
    vneid_authenticated, reused_data, submitted_at, received_at, due_at, supplement_requests,
    supplement_periods, ended_at, end_kind, result, e_result, returned_at, return_channel,
    paid_vnd, paid_online, application_digitized_at, result_digitized_at, rating, events,
    last_event_at, received_day, resolved_day, withdrawn_day, updated_at)
VALUES (
    %(application_id)s, %(procedure_code)s, %(agency_code)s, %(unit_code)s, %(channel)s,
    %(online_level)s, %(vneid_authenticated)s, %(reused_data)s, %(submitted_at)s,
    %(received_at)s, %(due_at)s, %(supplement_requests)s, %(supplement_periods)s, %(ended_at)s,
    %(end_kind)s, %(result)s, %(e_result)s, %(returned_at)s, %(return_channel)s, %(paid_vnd)s,
    %(paid_online)s, %(application_digitized_at)s, %(result_digitized_at)s, %(rating)s,
    %(events)s, %(last_event_at)s, %(received_day)s, %(resolved_day)s, %(withdrawn_day)s, now())
ON CONFLICT (application_id) DO UPDATE SET
    procedure_code = EXCLUDED.procedure_code, agency_code = EXCLUDED.agency_code,
    unit_code = EXCLUDED.unit_code, channel = EXCLUDED.channel,
    online_level = EXCLUDED.online_level, vneid_authenticated = EXCLUDED.vneid_authenticated,
    reused_data = EXCLUDED.reused_data, submitted_at = EXCLUDED.submitted_at,
    received_at = EXCLUDED.received_at, due_at = EXCLUDED.due_at,
    supplement_requests = EXCLUDED.supplement_requests,
    supplement_periods = EXCLUDED.supplement_periods, ended_at = EXCLUDED.ended_at,
    end_kind = EXCLUDED.end_kind, result = EXCLUDED.result, e_result = EXCLUDED.e_result,
    returned_at = EXCLUDED.returned_at, return_channel = EXCLUDED.return_channel,
    paid_vnd = EXCLUDED.paid_vnd, paid_online = EXCLUDED.paid_online,
    application_digitized_at = EXCLUDED.application_digitized_at,
    result_digitized_at = EXCLUDED.result_digitized_at, rating = EXCLUDED.rating,
    events = EXCLUDED.events, last_event_at = EXCLUDED.last_event_at,
    received_day = EXCLUDED.received_day, resolved_day = EXCLUDED.resolved_day,
    withdrawn_day = EXCLUDED.withdrawn_day, updated_at = now()
"""


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


def write_batch(
    conn: Connection, accepted: Sequence[Accepted], dead: Sequence[DeadLetter], tz: ZoneInfo
) -> BatchResult:
    """Write one batch inside the caller's open transaction (see the module docstring)."""
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
    apps = sorted({a.decoded.event.application_id for a in new})
    if not apps:
        return BatchResult(0, len(accepted), len(dead), 0, 0)
    _lock(conn, [("app", a) for a in apps])
    keys = _old_keys(conn, apps)
    states = _refold(conn, apps, tz)
    with conn.cursor() as cur:
        cur.executemany(UPSERT_APPLICATION, [_row(s) for s in states])
    for state in states:
        keys.update(_keys_of(state))
    _lock(conn, [("rollup", *map(str, k)) for k in keys])
    written = rollups.refresh(conn, keys)
    return BatchResult(
        stored=len(new),
        duplicates=len(accepted) - len(new),
        dead_letters=len(dead),
        applications=len(states),
        rollup_rows=written,
        changed_units=frozenset(k[1] for k in keys),
        latest_event_at=max(a.decoded.event.occurred_at for a in new),
    )


def _store_events(conn: Connection, accepted: list[Accepted]) -> list[Accepted]:
    """Insert the events whose ids are new; return them."""
    if not accepted:
        return []
    events = [a.decoded.event for a in accepted]
    rows = conn.execute(
        CLAIM_IDS, {"ids": [e.event_id for e in events], "times": [e.occurred_at for e in events]}
    ).fetchall()
    claimed = {str(r[0]) for r in rows}
    new = [a for a in accepted if a.decoded.event.event_id in claimed]
    if new:
        conn.execute(
            INSERT_EVENTS,
            {
                "ids": [a.decoded.event.event_id for a in new],
                "times": [a.decoded.event.occurred_at for a in new],
                "types": [a.decoded.event.event_type for a in new],
                "apps": [a.decoded.event.application_id for a in new],
                "procs": [a.decoded.event.procedure_code for a in new],
                "agencies": [a.decoded.event.agency_code for a in new],
                "units": [a.decoded.event.unit_code for a in new],
                "payloads": [a.decoded.payload for a in new],
                "sources": [a.source for a in new],
            },
        )
    return new


def _lock(conn: Connection, names: Iterable[tuple[str, ...]]) -> None:
    keys = sorted({_lock_key(name) for name in names})
    conn.execute(LOCK, {"keys": keys})


def _lock_key(name: tuple[str, ...]) -> int:
    digest = hashlib.blake2b("\x1f".join(name).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _old_keys(conn: Connection, apps: list[str]) -> set[RollupKey]:
    keys: set[RollupKey] = set()
    for received, resolved, withdrawn, unit, agency, procedure in conn.execute(OLD_KEYS, {"apps": apps}):
        keys.update(
            (day, str(unit), str(agency), str(procedure))  # type: ignore[misc]
            for day in (received, resolved, withdrawn)
            if day is not None
        )
    return keys


def _keys_of(state: ApplicationState) -> set[RollupKey]:
    days = (state.received_day, state.resolved_day, state.withdrawn_day)
    return {(d, state.unit_code, state.agency_code, state.procedure_code) for d in days if d is not None}


def _refold(conn: Connection, apps: list[str], tz: ZoneInfo) -> list[ApplicationState]:
    by_app: dict[str, list[StoredEvent]] = {}
    with conn.cursor(row_factory=class_row(StoredEvent)) as cur:
        for event in cur.execute(EVENTS_OF, {"apps": apps}):
            by_app.setdefault(event.application_id, []).append(event)
    return [fold(by_app[app], tz) for app in apps]


def _row(state: ApplicationState) -> dict[str, object]:
    row = dict(state.__dict__)
    row["supplement_periods"] = Multirange([Range(lo, hi, "[)") for lo, hi in state.supplement_periods])
    return row
