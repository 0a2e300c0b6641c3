"""Past buckets from the cache (kpi/past.py) equal a fresh series at every step of a history.

A simulated province history, with duplicated, reordered and late messages, goes through the
real sink in batches, announced as the consumer announces them (ingest/notify.py) to a real
Redis; some events of earlier days are held back and arrive last, as an outage's backlog
would. After each step, every series read through the cache must equal the same series
computed from PostgreSQL, to the last integer and fraction; and the cache must have saved
work: an unchanged history recomputes only the bucket of today.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

import store
from ingest.contract import Decoded, decode
from ingest.notify import ChangeNotifier, PastChanges
from ingest.sink import Accepted, write_batch
from ioc.settings import Settings
from kpi import queries
from kpi.model import Filters, KpiValue, Period
from kpi.past import PastBuckets
from refdata import db as refdata_db
from refdata.files import default_dir, read_dir
from simulate.faults import Faults
from simulate.stream import messages, prepare
from tests.fix_db import Connection

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime.now(TZ).replace(second=0, microsecond=0)
TODAY = NOW.date()
PROVINCE = "01"
FULL = read_dir(default_dir())


WORLD = FULL.within({PROVINCE})
DISTRICT = next(u.code for u in WORLD.units if u.parent_code == PROVINCE)
CATALOG = queries.Catalog.of(FULL)
# (unit, filters, period, grain): the trend of the last two weeks by day, of the month by week
QUESTIONS: list[tuple[str, Filters, Period, queries.Grain]] = [
    (PROVINCE, Filters(), Period(TODAY - timedelta(days=13), TODAY + timedelta(days=1)), "day"),
    (
        DISTRICT,
        Filters(channel="online"),
        Period(TODAY - timedelta(days=13), TODAY + timedelta(days=1)),
        "day",
    ),
    (PROVINCE, Filters(), Period(TODAY - timedelta(days=20), TODAY + timedelta(days=1)), "week"),
]


def history() -> tuple[list[list[Accepted]], list[Accepted]]:
    """Batches of the history in arrival order, and the events of earlier days held back."""
    plan = prepare(WORLD, seed=23, now=NOW, history_days=12, rate=0.02, tz=TZ)
    faults = Faults(duplicates=0.05, reorder=0.1, late=0.05)
    rng = random.Random(23)
    arrived: list[Accepted] = []
    held: list[Accepted] = []
    for n, message in enumerate(messages(plan, faults=faults)):
        outcome = decode(message.value, now=NOW + timedelta(days=1), unit_codes=WORLD.unit_codes)
        if not isinstance(outcome, Decoded):
            continue
        item = Accepted(outcome, f"test/0/{n}")
        before = outcome.event.occurred_at < datetime.combine(
            TODAY - timedelta(days=3), datetime.min.time(), TZ
        )
        (held if before and rng.random() < 0.03 else arrived).append(item)
    return [arrived[i : i + 400] for i in range(0, len(arrived), 400)], held


@pytest.fixture
def conn(timescale_url: str) -> Iterator[Connection]:
    with store.connect(timescale_url, autocommit=True) as conn:
        store.migrate(conn)
        refdata_db.save(conn, FULL, today=TODAY, timezone=TZ.key)
        yield conn


def write(conn: Connection, notifier: ChangeNotifier, batch: Sequence[Accepted]) -> None:
    """One batch as the consumer writes and announces it."""
    with conn.transaction():
        result = write_batch(conn, batch, [], TZ)
    past = PastChanges.of(result.earliest_event_at, result.rollup_days, today=TODAY, tz=TZ)
    assert notifier.publish(result.changed_units, past)


def fresh(
    conn: Connection, unit: str, filters: Filters, chosen: Sequence[Period], *, now: datetime
) -> list[dict[str, KpiValue]]:
    return queries.bucket_values(conn, CATALOG, unit, chosen, now=now, tz=TZ, filters=filters)


def asked(conn: Connection, past: PastBuckets, now: datetime) -> list[list[dict[str, KpiValue]]]:
    """Every question through the cache, checked against PostgreSQL."""
    answers = []
    for unit, filters, period, grain in QUESTIONS:
        chosen = queries.buckets(period, grain)
        question = {"unit": unit, "filters": repr(filters)}
        compute = functools.partial(fresh, conn, unit, filters, now=now)
        cached = past.series(question, chosen, today=TODAY, compute=compute)
        assert cached == fresh(conn, unit, filters, chosen, now=now), (unit, filters, grain)
        answers.append(cached)
    return answers


def test_past_buckets_from_the_cache_equal_a_fresh_series_as_the_history_arrives(
    conn: Connection, settings: Settings, redis_prefix: str
) -> None:
    if datetime.now(TZ).date() != TODAY:
        pytest.skip("the day changed while the test ran")
    batches, held = history()
    notifier = ChangeNotifier(settings.redis_url, history_prefix=redis_prefix)
    past = PastBuckets(settings.redis_url, prefix=f"{redis_prefix}bucket:", history_prefix=redis_prefix)
    buckets = sum(len(queries.buckets(period, grain)) for _, _, period, grain in QUESTIONS)
    try:
        checks = 0
        for step, batch in enumerate(batches):
            write(conn, notifier, batch)
            if step % max(len(batches) // 4, 1) == 0 or step == len(batches) - 1:
                asked(conn, past, datetime.now(TZ))
                checks += 1
        assert past.computed < checks * buckets  # past buckets came from the cache while right
        before = past.computed
        settled = asked(conn, past, datetime.now(TZ))
        assert past.computed - before == len(QUESTIONS)  # nothing changed: only today's buckets

        write(conn, notifier, held)  # events of days ago, arriving now
        before = past.computed
        after = asked(conn, past, datetime.now(TZ))
        assert held
        assert past.computed - before > len(QUESTIONS)  # the late events' buckets again
        changed = [
            (a, s)
            for answer, old in zip(after, settled, strict=True)
            for a, s in zip(answer[:-1], old[:-1], strict=True)
        ]
        assert any(a != s for a, s in changed)  # the held-back events changed past buckets
    finally:
        notifier.close()
        past.close()


def test_without_redis_every_bucket_is_computed(conn: Connection, settings: Settings) -> None:
    notifier = ChangeNotifier(settings.redis_url)
    batches, _ = history()
    for batch in batches[: len(batches) // 2]:
        write(conn, notifier, batch)
    notifier.close()
    past = PastBuckets("redis://127.0.0.1:1/0")  # nothing listens there
    now = datetime.now(TZ)
    unit, filters, period, grain = QUESTIONS[0]
    chosen = queries.buckets(period, grain)
    got = past.series(
        {"unit": unit}, chosen, today=TODAY, compute=lambda some: fresh(conn, unit, filters, some, now=now)
    )
    assert got == fresh(conn, unit, filters, chosen, now=now)
    assert past.computed == len(chosen)
    past.close()


def test_past_changes_keep_only_days_before_today() -> None:
    yesterday, today = TODAY - timedelta(days=1), TODAY
    late = datetime.combine(yesterday, datetime.min.time(), TZ) + timedelta(hours=23)
    changes = PastChanges.of(late, [yesterday, today], today=today, tz=TZ)
    assert changes == PastChanges(yesterday, frozenset({yesterday}))
    assert not PastChanges.of(NOW, [today], today=today, tz=TZ)
    earlier = PastChanges(yesterday - timedelta(days=5), frozenset({today - timedelta(days=9)}))
    assert (changes | earlier) == PastChanges(
        yesterday - timedelta(days=5), frozenset({yesterday, today - timedelta(days=9)})
    )
