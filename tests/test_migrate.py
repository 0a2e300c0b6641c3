"""Migrations: idempotent, recorded, concurrent-safe; hypertables on TimescaleDB, plain tables otherwise."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

import store
from store.migrate import MigrationError, available
from store.status import database_status

Connection = psycopg.Connection[tuple[object, ...]]

INSERT_EVENT = """
INSERT INTO events (event_id, occurred_at, event_type, application_id, procedure_code,
                    agency_code, unit_code, payload, source)
VALUES (%s, %s, 'submitted', %s, '1.001', 'SO-TP', '01', '{}', 'test/0/0')
"""
# The kind of query every KPI runs: the same text on TimescaleDB and plain PostgreSQL.
PER_LOCAL_DAY = """
SELECT (occurred_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date AS day, count(*)
  FROM events GROUP BY 1 ORDER BY 1
"""


def test_migrating_twice_applies_each_migration_once(timescale_url: str):
    with store.connect(timescale_url, autocommit=True) as conn:
        first = store.migrate(conn)
        second = store.migrate(conn)
        rows = conn.execute("SELECT version FROM schema_migrations ORDER BY version").fetchall()
        status = database_status(conn)
    assert [m.version for m in first] == [m.version for m in available()]
    assert second == []
    assert [r[0] for r in rows] == [m.version for m in available()]
    assert status.pending == 0


def test_concurrent_migrators_apply_once(timescale_url: str):
    errors: list[BaseException] = []
    applied: list[int] = []

    def run() -> None:
        try:
            with store.connect(timescale_url, autocommit=True) as conn:
                applied.extend(m.version for m in store.migrate(conn))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(applied) == [m.version for m in available()]


def test_an_edited_migration_is_reported(timescale_url: str):
    with store.connect(timescale_url, autocommit=True) as conn:
        store.migrate(conn)
        conn.execute("UPDATE schema_migrations SET checksum = 'x' WHERE version = 1")
        with pytest.raises(MigrationError, match="0001_events was edited"):
            store.migrate(conn)


def test_a_newer_database_is_reported(timescale_url: str):
    with store.connect(timescale_url, autocommit=True) as conn:
        store.migrate(conn)
        conn.execute("INSERT INTO schema_migrations VALUES (9999, 'future', 'x')")
        with pytest.raises(MigrationError, match=r"\[9999\]"):
            store.migrate(conn)


def test_timescaledb_path_makes_events_a_hypertable(timescale_url: str):
    with store.connect(timescale_url, autocommit=True) as conn:
        store.migrate(conn)
        status = database_status(conn)
        assert status.timescaledb is not None
        assert status.hypertables == ("events",)
        # Apache-2 build: no compression; a full TimescaleDB would say "timescale".
        assert status.timescaledb.compression == (status.timescaledb.license == "timescale")
        now = datetime.now(UTC)
        for i, age in enumerate((1, 10, 40)):
            conn.execute(INSERT_EVENT, (f"e{i}", now - timedelta(days=age), f"HS-{i}"))
        chunks = conn.execute("SELECT count(*) FROM show_chunks('events')").fetchone()
        assert chunks is not None
        assert chunks[0] >= 3
        bucket = conn.execute(
            "SELECT count(DISTINCT time_bucket('1 day', occurred_at, 'Asia/Ho_Chi_Minh')) FROM events"
        ).fetchone()
        assert bucket == (3,)


def test_plain_path_makes_plain_tables(plain_url: str):
    with store.connect(plain_url, autocommit=True) as conn:
        store.migrate(conn)
        status = database_status(conn)
        kind = conn.execute("SELECT relkind FROM pg_class WHERE relname = 'events'").fetchone()
        extension = conn.execute("SELECT count(*) FROM pg_extension WHERE extname = 'timescaledb'").fetchone()
    assert status.timescaledb is None
    assert status.hypertables == ()
    assert status.pending == 0
    assert kind == ("r",)
    assert extension == (0,)


def test_same_queries_and_retention_on_both_paths(migrated: Connection):
    now = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)
    # 2026-11-26 23:30 UTC is already the 27th in Hà Nội.
    times = [now - timedelta(days=400), now - timedelta(minutes=210), now, now + timedelta(minutes=1)]
    for i, t in enumerate(times):
        migrated.execute(INSERT_EVENT, (f"e{i}", t, f"HS-{i}"))
        migrated.execute("INSERT INTO event_ids VALUES (%s, %s)", (f"e{i}", t))

    days = migrated.execute(PER_LOCAL_DAY).fetchall()
    assert [(d.isoformat(), n) for d, n in days] == [("2025-10-23", 1), ("2026-11-27", 3)]

    report = store.maintain(migrated, retention_days=365, compress_after_days=30, now=now)
    remaining = migrated.execute("SELECT count(*) FROM events").fetchone()
    ids = migrated.execute("SELECT count(*) FROM event_ids").fetchone()
    assert remaining == (3,)
    assert ids == (3,)
    assert report.forgotten_ids == 1
    assert report.dropped_chunks + report.deleted_rows >= 1
    assert report.retention_cutoff == now - timedelta(days=365)


def test_retention_zero_keeps_everything(migrated: Connection):
    old = datetime(2020, 1, 1, tzinfo=UTC)
    migrated.execute(INSERT_EVENT, ("e0", old, "HS-0"))
    report = store.maintain(migrated, retention_days=0, compress_after_days=0)
    assert report.retention_cutoff is None
    assert migrated.execute("SELECT count(*) FROM events").fetchone() == (1,)
