"""One batch, one transaction: exactly-once events, order-free application state, exact rollups."""

from __future__ import annotations

import random
from datetime import timedelta
from zoneinfo import ZoneInfo

import psycopg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.fold import StoredEvent, fold
from ingest.sink import Accepted, DeadLetter, read_states, write_batch
from store import rollups
from tests.events import NOW, decoded, event_json
from tests.fix_db import empty_store

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
Connection = psycopg.Connection[tuple[object, ...]]

LIFECYCLES = [
    ["submitted", "received", "resolved", "result_returned", "rated"],
    ["submitted", "received", "supplement_requested", "supplement_received", "resolved"],
    ["submitted", "received", "supplement_requested", "supplement_requested", "withdrawn"],
    ["submitted", "received", "paid", "digitized", "resolved", "rated"],
    ["submitted", "resolved"],
    ["received", "supplement_requested"],
]


def history(app_count: int, seed: int) -> list[dict]:
    rnd = random.Random(seed)
    events = []
    for n in range(app_count):
        # 20-60 days back: every lifecycle (at most 6 steps of 60 h) ends before NOW.
        at = NOW - timedelta(days=rnd.randint(20, 60), minutes=rnd.randint(0, 1440))
        unit = rnd.choice(["00001", "00002"])
        channel = rnd.choice(["online", "in_person"])
        for step, event_type in enumerate(rnd.choice(LIFECYCLES)):
            at += timedelta(hours=rnd.randint(1, 60))
            extra = {"channel": channel} if event_type == "submitted" else {}
            events.append(
                event_json(
                    event_type, f"HS-{seed}-{n}", at, event_id=f"{seed}-{n}-{step}", unit=unit, **extra
                )
            )
    return events


def write(conn: Connection, bodies: list[dict], batch_size: int) -> None:
    for start in range(0, len(bodies), batch_size):
        chunk = bodies[start : start + batch_size]
        with conn.transaction():
            write_batch(conn, [Accepted(decoded(b), f"t/0/{i}") for i, b in enumerate(chunk)], [], TZ)


def assert_invariants(conn: Connection, expected_events: int) -> None:
    stored = conn.execute("SELECT count(*), count(DISTINCT event_id) FROM events").fetchone()
    assert stored == (expected_events, expected_events)
    with conn.cursor(row_factory=psycopg.rows.class_row(StoredEvent)) as cur:
        events = cur.execute(
            "SELECT event_id, event_type, occurred_at, application_id, procedure_code, agency_code,"
            " unit_code, payload AS attrs FROM events"
        ).fetchall()
    by_app: dict[str, list[StoredEvent]] = {}
    for e in events:
        by_app.setdefault(e.application_id, []).append(e)
    expected = {app: fold(evs, TZ) for app, evs in by_app.items()}
    assert read_states(conn, sorted(expected)) == expected
    assert conn.execute("SELECT count(*) FROM applications").fetchone() == (len(expected),)
    assert rollups.drifted(conn, TZ.key) == []


def test_in_order_then_everything_again(migrated: Connection):
    bodies = history(30, seed=1)
    write(migrated, bodies, batch_size=17)
    assert_invariants(migrated, len(bodies))
    before = migrated.execute("SELECT sum(received), sum(resolved) FROM rollup_daily").fetchone()
    write(migrated, bodies, batch_size=50)  # a full redelivery changes nothing
    assert_invariants(migrated, len(bodies))
    assert migrated.execute("SELECT sum(received), sum(resolved) FROM rollup_daily").fetchone() == before
    assert before is not None
    assert before[0] > 0


def test_a_late_submitted_fixes_a_resolved_application(migrated: Connection):
    at = NOW - timedelta(days=2)
    resolved = event_json("resolved", "HS-late", at + timedelta(days=1), unit="00002")
    received = event_json("received", "HS-late", at + timedelta(hours=1), unit="00002")
    submitted = event_json("submitted", "HS-late", at, unit="00001", channel="online")
    write(migrated, [resolved, received], batch_size=10)
    first = migrated.execute("SELECT unit_code, channel FROM applications").fetchone()
    assert first == ("00002", None)
    write(migrated, [submitted], batch_size=10)
    assert migrated.execute("SELECT unit_code, channel FROM applications").fetchone() == ("00001", "online")
    # the resolution moved from unit 00002's rollup to 00001's, counted as online
    rows = migrated.execute(
        "SELECT unit_code, channel, resolved FROM rollup_daily WHERE resolved > 0"
    ).fetchall()
    assert rows == [("00001", "online", 1)]
    assert_invariants(migrated, 3)


def test_dead_letters_are_kept_once_with_their_reason(migrated: Connection):
    dead = [DeadLetter("t", 0, 7, b"\xff", "not UTF-8"), DeadLetter("t", 0, 7, b"\xff", "not UTF-8")]
    with migrated.transaction():
        result = write_batch(migrated, [], dead, TZ)
    assert result.dead_letters == 2
    assert migrated.execute("SELECT payload, reason FROM dead_letters").fetchall() == [(b"\xff", "not UTF-8")]


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    seed=st.integers(0, 10_000),
    batch_size=st.integers(1, 40),
    duplicate_share=st.floats(0, 0.5),
    shuffle_seed=st.integers(0, 10_000),
)
def test_any_order_and_duplication_gives_the_same_state(
    migrated, seed, batch_size, duplicate_share, shuffle_seed
):
    empty_store(migrated)
    bodies = history(12, seed)
    rnd = random.Random(shuffle_seed)
    delivered = bodies + rnd.sample(bodies, int(len(bodies) * duplicate_share))
    rnd.shuffle(delivered)
    write(migrated, delivered, batch_size)
    assert_invariants(migrated, len(bodies))
