"""Retention and compression of events, run by ``ioc db maintain``.

TimescaleDB's own retention and compression policies are background jobs, which the
Apache-2 build lacks (and which misbehaved on some PostgreSQL 15 point releases), so we
run the same work from this command instead, on a schedule of the operator's choosing:
whole chunks older than the retention are dropped on TimescaleDB; rows are deleted from
the plain table on plain PostgreSQL. Compression runs only where the licence offers it.

Only raw ``events`` age out. Application state and rollups stay, so KPIs of old periods
remain right after their events are gone; dead letters stay until a person deals with them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import psycopg

from store.status import timescaledb

DROP_CHUNKS = "SELECT count(*) FROM drop_chunks('events', older_than => %(cutoff)s::timestamptz)"
DELETE_OLD = "DELETE FROM events WHERE occurred_at < %(cutoff)s"
# Ids of events past retention are forgotten with them: ingest refuses events that old.
FORGET_IDS = "DELETE FROM event_ids WHERE occurred_at < %(cutoff)s"
COMPRESS = """
SELECT count(compress_chunk(chunk, if_not_compressed => true))
  FROM show_chunks('events', older_than => %(cutoff)s::timestamptz) AS chunk
"""


@dataclass(frozen=True)
class MaintenanceReport:
    retention_cutoff: datetime | None
    dropped_chunks: int
    deleted_rows: int
    forgotten_ids: int
    compressed_chunks: int


def maintain(
    conn: psycopg.Connection[tuple[object, ...]],
    *,
    retention_days: int,
    compress_after_days: int,
    now: datetime | None = None,
) -> MaintenanceReport:
    """Drop events older than ``retention_days`` (0 keeps all) and compress older chunks."""
    now = now or datetime.now(UTC)
    tsdb = timescaledb(conn)
    cutoff = now - timedelta(days=retention_days) if retention_days else None
    dropped = deleted = forgotten = compressed = 0
    with conn.transaction():
        if cutoff is not None and tsdb is not None:
            dropped = _count(conn.execute(DROP_CHUNKS, {"cutoff": cutoff}).fetchone())
        elif cutoff is not None:
            deleted = conn.execute(DELETE_OLD, {"cutoff": cutoff}).rowcount
        if cutoff is not None:
            forgotten = conn.execute(FORGET_IDS, {"cutoff": cutoff}).rowcount
        if tsdb is not None and tsdb.compression and compress_after_days:
            compress_cutoff = now - timedelta(days=compress_after_days)
            compressed = _count(conn.execute(COMPRESS, {"cutoff": compress_cutoff}).fetchone())
    return MaintenanceReport(cutoff, dropped, deleted, forgotten, compressed)


def _count(row: tuple[object, ...] | None) -> int:
    return int(row[0]) if row and isinstance(row[0], int) else 0
