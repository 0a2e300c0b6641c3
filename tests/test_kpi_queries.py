"""The KPI queries equal the brute-force reference, to the application, on both servers.

A simulated province history (supplements, late answers, payments, digitization, ratings)
goes through real Kafka with duplicated, reordered and late messages and through the real
ingest; then, for random units, periods and filters, every KPI from the SQL must equal
kpi/reference.py computed from the events themselves: same integers, same fractions.
"""

from __future__ import annotations

import functools
import json
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest
from hypothesis import HealthCheck, example, given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st
from kafka import KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic
from psycopg import sql

import store
from ingest.consumer import IngestOptions, Ingestor
from ioc.settings import Settings
from kpi import queries
from kpi.model import COUNTRY, Filters, Period
from kpi.reference import compute, needing_action
from refdata import db as refdata_db
from refdata.files import default_dir, read_dir
from refdata.model import Holiday
from simulate.faults import Faults
from simulate.stream import messages, prepare
from store import rollups

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime.now(TZ).replace(minute=0, second=0, microsecond=0)
DAYS = 12
FULL = read_dir(default_dir())
PROVINCE = "01"


IN_PROVINCE = FULL.subtree({PROVINCE})
ONE_PROVINCE = FULL.within({PROVINCE})


def simulated() -> tuple[list[bytes], list[dict[str, Any]]]:
    """The messages of a seeded history of one province, with faults; and its valid events."""
    plan = prepare(ONE_PROVINCE, seed=11, now=NOW, history_days=DAYS, rate=0.01, tz=TZ)
    faults = Faults(duplicates=0.1, reorder=0.1, late=0.05)
    sent = list(messages(plan, faults=faults))
    return [m.value for m in sent], [json.loads(m.value) for m in sent if m.event_type is not None]


VALUES, EVENTS = simulated()


def ingest(settings: Settings, url: str, topic: str) -> None:
    """Send the messages through Kafka and ingest them with the real consumer."""
    producer = KafkaProducer(bootstrap_servers=list(settings.kafka_bootstrap), acks="all", linger_ms=20)
    for value in VALUES:
        producer.send(topic, value=value)
    producer.flush(timeout=60)
    producer.close()
    stop = threading.Event()
    ingestor = Ingestor(replace(settings, database_url=url, topic=topic), IngestOptions(group_id=topic))
    thread = threading.Thread(target=ingestor.run, args=(stop,))
    thread.start()
    distinct = len({e["event_id"] for e in EVENTS})
    try:
        deadline = time.monotonic() + 120
        with store.connect(url, autocommit=True) as conn:
            while conn.execute("SELECT count(*) FROM event_ids").fetchone() != (distinct,):
                assert time.monotonic() < deadline, "ingest did not store every event"
                time.sleep(0.2)
    finally:
        stop.set()
        thread.join(timeout=60)


@pytest.fixture(scope="module", params=["timescaledb", "plain"])
def store_url(
    request: pytest.FixtureRequest, settings: Settings, kafka_admin: KafkaAdminClient
) -> Iterator[str]:
    server = settings.database_url
    if request.param == "plain":
        from stack import postgres  # noqa: PLC0415 - only this server needs the plain stack

        server = postgres.url(request.getfixturevalue("plain_stack"))
    name = f"ioc_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = server.rsplit("/", 1)[0] + f"/{name}"
    with store.connect(url, autocommit=True) as conn:
        store.migrate(conn)
        with conn.transaction():
            refdata_db.save(conn, FULL)
    topic = f"test.{uuid.uuid4().hex[:12]}"
    kafka_admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)])
    try:
        ingest(settings, url, topic)
        yield url
    finally:
        kafka_admin.delete_topics([topic])
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


CATALOG = queries.Catalog.of(FULL)
UNITS = [*sorted(IN_PROVINCE), COUNTRY]
FIRST_DAY = (NOW - timedelta(days=DAYS)).date()
filters = st.builds(
    Filters,
    agency_code=st.none() | st.sampled_from(sorted({e["agency_code"] for e in EVENTS})),
    procedure_code=st.none() | st.sampled_from(sorted({e["procedure_code"] for e in EVENTS})),
    sector=st.none() | st.sampled_from(sorted({p.sector for p in FULL.procedures})),
    channel=st.none() | st.sampled_from(["online", "in_person", "postal"]),
)
periods = st.tuples(st.integers(-2, DAYS + 1), st.integers(1, DAYS + 3)).map(
    lambda p: Period(FIRST_DAY + timedelta(days=p[0]), FIRST_DAY + timedelta(days=p[0] + p[1]))
)
# Periods with whole months, which the monthly rollup answers.
long_periods = st.tuples(st.integers(-70, 0), st.integers(DAYS, DAYS + 80)).map(
    lambda p: Period(FIRST_DAY + timedelta(days=p[0]), FIRST_DAY + timedelta(days=p[0] + p[1]))
)
AROUND = Period(  # from the month before the history to the month after now, whole months
    (FIRST_DAY.replace(day=1) - timedelta(days=1)).replace(day=1),
    (NOW.date().replace(day=28) + timedelta(days=35)).replace(day=1),
)

TOMORROW = NOW.date() + timedelta(days=1)
YEAR_TO_DATE = Period(date(NOW.year, 1, 1), TOMORROW)
MONTH_TO_DATE = Period(NOW.date().replace(day=1), TOMORROW)


@hyp_settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(unit=st.sampled_from(UNITS), period=periods | long_periods, chosen=filters | st.just(Filters()))
@example(unit=PROVINCE, period=AROUND, chosen=Filters())
@example(unit=PROVINCE, period=AROUND, chosen=Filters(channel="online"))
@example(unit=COUNTRY, period=YEAR_TO_DATE, chosen=Filters())
@example(unit=PROVINCE, period=YEAR_TO_DATE, chosen=Filters())  # the yearly rollup, the data ending first
@example(unit=PROVINCE, period=MONTH_TO_DATE, chosen=Filters(channel="online"))
@example(unit=PROVINCE, period=Period(YEAR_TO_DATE.start, NOW.date()), chosen=Filters())  # data after the end
@example(unit=PROVINCE, period=Period(date(NOW.year - 1, 1, 1), YEAR_TO_DATE.end), chosen=Filters())
def test_every_kpi_equals_the_reference(store_url: str, unit: str, period: Period, chosen: Filters) -> None:
    with store.connect(store_url, autocommit=True) as conn:
        answer = queries.values(conn, CATALOG, unit, period, now=NOW, tz=TZ, filters=chosen)
    expected = compute(EVENTS, FULL, unit, period.start, period.end, now=NOW, filters=chosen)
    assert answer == expected


def test_children_of_the_country_are_the_provinces_and_equal_the_reference(store_url: str) -> None:
    period = Period(FIRST_DAY, TOMORROW)
    with store.connect(store_url, autocommit=True) as conn:
        answer = queries.children_values(conn, CATALOG, COUNTRY, period, now=NOW, tz=TZ)
    provinces = sorted(u.code for u in FULL.units if u.parent_code is None)
    assert sorted(answer) == provinces
    for code in provinces:
        assert answer[code] == compute(EVENTS, FULL, code, period.start, period.end, now=NOW), code
    assert answer[PROVINCE]["received"].numerator > 0


def test_children_of_the_province_equal_the_reference(store_url: str) -> None:
    period = Period(FIRST_DAY, NOW.date())
    with store.connect(store_url, autocommit=True) as conn:
        answer = queries.children_values(conn, CATALOG, PROVINCE, period, now=NOW, tz=TZ)
    children = sorted(u.code for u in FULL.units if u.parent_code == PROVINCE)
    assert sorted(answer) == children
    for child in children:
        assert answer[child] == compute(EVENTS, FULL, child, period.start, period.end, now=NOW), child
    assert sum(v["received"].numerator for v in answer.values()) > 100  # the history is not empty


def test_the_history_exercises_every_rule() -> None:
    kinds = {e["event_type"] for e in EVENTS}
    assert kinds >= {
        "submitted",
        "received",
        "supplement_requested",
        "resolved",
        "paid",
        "digitized",
        "rated",
    }
    assert len(VALUES) > len({e["event_id"] for e in EVENTS})  # duplicates were sent
    assert all(datetime.fromisoformat(e["occurred_at"]) <= NOW.astimezone(UTC) for e in EVENTS)


# --- Series, breakdowns and the action list ---------------------------------------------------
#
# The reference reads every event for every question; to keep many questions cheap it is given
# only the events of the applications that could match (an event of theirs is in the unit's
# subtree, and of the filtered agency or procedure): the same answer, as it filters them itself.
# Its answers are kept across the two servers.

EVENTS_BY_APP: dict[str, list[dict[str, Any]]] = defaultdict(list)
for _event in EVENTS:
    EVENTS_BY_APP[_event["application_id"]].append(_event)
SUBTREES = {code: FULL.subtree({code}) for code in UNITS} | {COUNTRY: {u.code for u in FULL.units}}


def candidates(unit: str, chosen: Filters) -> list[dict[str, Any]]:
    def could_match(events: list[dict[str, Any]]) -> bool:
        return (
            any(e["unit_code"] in SUBTREES[unit] for e in events)
            and chosen.agency_code in (None, *(e["agency_code"] for e in events))
            and chosen.procedure_code in (None, *(e["procedure_code"] for e in events))
        )

    return [e for events in EVENTS_BY_APP.values() if could_match(events) for e in events]


@functools.cache
def reference(unit: str, start: date, end: date, chosen: Filters) -> dict[str, Any]:
    return compute(candidates(unit, chosen), FULL, unit, start, end, now=NOW, filters=chosen)


series_periods = st.tuples(st.integers(-20, DAYS + 1), st.integers(0, 16)).map(
    lambda p: Period(FIRST_DAY + timedelta(days=p[0]), FIRST_DAY + timedelta(days=p[0] + p[1]))
)


@hyp_settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    unit=st.sampled_from(UNITS),
    period=series_periods,
    grain=st.sampled_from(queries.GRAINS),
    chosen=filters | st.just(Filters()),
)
@example(unit=PROVINCE, period=Period(FIRST_DAY - timedelta(days=3), NOW.date() + timedelta(days=2)),
         grain="week", chosen=Filters())  # fmt: skip
@example(unit=PROVINCE, period=Period(FIRST_DAY.replace(day=1) - timedelta(days=5), NOW.date()),
         grain="month", chosen=Filters(channel="online"))  # fmt: skip
@example(unit=PROVINCE, period=AROUND, grain="month", chosen=Filters())
def test_each_bucket_of_a_series_equals_the_reference(
    store_url: str, unit: str, period: Period, grain: queries.Grain, chosen: Filters
) -> None:
    with store.connect(store_url, autocommit=True) as conn:
        answer = queries.series(conn, CATALOG, unit, period, grain, now=NOW, tz=TZ, filters=chosen)
    buckets = [bucket for bucket, _ in answer]
    assert buckets == queries.buckets(period, grain)
    assert all(b.start < b.end <= b.start + timedelta(days=31) for b in buckets)
    if period.start < period.end:  # the buckets tile the period
        assert [b.start for b in buckets] == [period.start, *(b.end for b in buckets[:-1])]
        assert buckets[-1].end == period.end
    else:
        assert buckets == []
    for bucket, kpis in answer:
        assert kpis == reference(unit, bucket.start, bucket.end, chosen), bucket


def test_a_period_is_read_from_the_fewest_rollup_rows_the_data_allows() -> None:
    def pieces(*periods: Period) -> list[tuple[Any, ...]]:
        return list(zip(*queries._pieces(periods).values(), strict=True))

    assert pieces(Period(date(2026, 1, 1), date(2026, 11, 29))) == [
        # with data from 29 November on: January to October by month, then the days
        (0, "month", date(2026, 1, 1), date(2026, 11, 1), date(2026, 11, 29), True),
        (0, "day", date(2026, 11, 1), date(2026, 11, 29), date(2026, 11, 29), True),
        # without: the year
        (0, "year", date(2026, 1, 1), date(2027, 1, 1), date(2026, 11, 29), False),
    ]
    assert pieces(
        Period(date(2025, 12, 30), date(2026, 2, 1)), Period(date(2026, 3, 1), date(2026, 3, 3))
    ) == [
        (0, "day", date(2025, 12, 30), date(2026, 1, 1), None, False),
        (0, "month", date(2026, 1, 1), date(2026, 2, 1), None, False),
        (1, "day", date(2026, 3, 1), date(2026, 3, 3), None, False),  # two days are fewer rows than a month
    ]
    assert pieces(Period(date(2026, 3, 4), date(2026, 3, 4))) == []


def test_buckets_are_days_weeks_from_monday_and_months_cut_to_the_period() -> None:
    period = Period(date(2025, 1, 30), date(2025, 3, 4))  # a Thursday to a Tuesday
    assert len(queries.buckets(period, "day")) == 33
    assert queries.buckets(period, "week")[:2] == [
        Period(date(2025, 1, 30), date(2025, 2, 3)),
        Period(date(2025, 2, 3), date(2025, 2, 10)),
    ]
    assert queries.buckets(period, "week")[-1] == Period(date(2025, 3, 3), date(2025, 3, 4))
    assert queries.buckets(period, "month") == [
        Period(date(2025, 1, 30), date(2025, 2, 1)),
        Period(date(2025, 2, 1), date(2025, 3, 1)),
        Period(date(2025, 3, 1), date(2025, 3, 4)),
    ]
    assert queries.buckets(Period(date(2025, 12, 5), date(2026, 1, 2)), "month")[-1].start == date(2026, 1, 1)
    assert queries.buckets(Period(date(2025, 3, 4), date(2025, 3, 4)), "day") == []


@pytest.mark.parametrize(
    ("unit", "by", "chosen"),
    [
        (PROVINCE, "agency", Filters()),
        (PROVINCE, "procedure", Filters()),
        (UNITS[1], "procedure", Filters(channel="online")),
    ],
)
def test_each_entry_of_a_breakdown_equals_the_reference_with_its_filter(
    store_url: str, unit: str, by: queries.Breakdown, chosen: Filters
) -> None:
    period = Period(FIRST_DAY + timedelta(days=3), NOW.date() + timedelta(days=1))
    with store.connect(store_url, autocommit=True) as conn:
        answer = queries.breakdown(conn, CATALOG, unit, period, by, now=NOW, tz=TZ, filters=chosen)
    name = "agency_code" if by == "agency" else "procedure_code"
    codes = {e[name] for e in candidates(unit, chosen)}
    assert set(answer) <= codes
    assert len(answer) > 1
    for code in codes:
        expected = reference(unit, period.start, period.end, replace(chosen, **{name: code}))
        if code in answer:
            assert answer[code] == expected, code
        else:  # a code that counts nowhere in the period is left out
            counted = ("received", "resolved", "open", "overdue_open", "due_soon_open")
            assert all(expected[k].numerator == 0 for k in counted), code


@pytest.mark.parametrize(
    ("unit", "chosen"),
    [(PROVINCE, Filters()), (PROVINCE, Filters(channel="in_person")), (UNITS[1], Filters())],
)
def test_the_action_list_is_what_overdue_and_due_soon_count(
    store_url: str, unit: str, chosen: Filters
) -> None:
    period = Period(FIRST_DAY, NOW.date() + timedelta(days=1))
    with store.connect(store_url, autocommit=True) as conn:
        actions = queries.action_list(conn, unit, now=NOW, filters=chosen, limit=100_000)
        first = queries.action_list(conn, unit, now=NOW, filters=chosen, limit=3)
        kpis = queries.values(conn, CATALOG, unit, period, now=NOW, tz=TZ, filters=chosen)
    statuses = [a.status for a in actions]
    assert statuses.count("overdue") == kpis["overdue_open"].value
    assert statuses.count("due_soon") == kpis["due_soon_open"].value
    expected = needing_action(candidates(unit, chosen), FULL, unit, now=NOW, filters=chosen)
    assert {a.application_id: (a.status, a.deadline) for a in actions} == expected
    assert len(actions) == len(expected)
    assert first == actions[:3]
    assert [a.deadline for a in actions] == sorted(a.deadline for a in actions)  # most overdue first
    assert statuses == sorted(statuses, key=lambda s: s != "overdue")
    for action in actions:
        assert action.deadline == action.due_at + action.supplement_waiting
        assert action.unit_code in SUBTREES[unit]
        assert action.received_at < NOW
    if unit == PROVINCE and chosen == Filters():
        assert {"overdue", "due_soon"} <= set(statuses)
        assert any(a.supplement_waiting > timedelta() for a in actions)


def test_a_new_holiday_rebuilds_the_rollups_and_moves_the_processing_days(store_url: str) -> None:
    """Working days come from the calendar of the moment: changing it rebuilds the rollups."""
    period = Period(FIRST_DAY, NOW.date() + timedelta(days=1))
    weekdays = [FIRST_DAY + timedelta(days=i) for i in range(DAYS // 2, DAYS)]  # inside many spans
    off = next(d for d in weekdays if d.weekday() < 5 and d not in {h.day for h in FULL.holidays})
    extra = Holiday(off, "Ngày nghỉ thử nghiệm")
    changed = replace(FULL, holidays=(*FULL.holidays, extra))
    with store.connect(store_url, autocommit=True) as conn:
        before = queries.values(conn, CATALOG, PROVINCE, period, now=NOW, tz=TZ)["avg_processing_days"]
        try:
            counts = refdata_db.save(conn, changed, timezone=TZ.key)
            assert counts["rollups_rebuilt"] == 1
            assert rollups.drifted(conn, TZ.key) == []
            after = queries.values(conn, queries.Catalog.of(changed), PROVINCE, period, now=NOW, tz=TZ)
            expected = compute(EVENTS, changed, PROVINCE, period.start, period.end, now=NOW)
            assert after["avg_processing_days"] == expected["avg_processing_days"]
            assert after["avg_processing_days"].numerator < before.numerator  # a day fewer for some
            assert after["avg_processing_days"].denominator == before.denominator
        finally:
            refdata_db.save(conn, FULL, timezone=TZ.key)
        restored = queries.values(conn, CATALOG, PROVINCE, period, now=NOW, tz=TZ)
    assert restored["avg_processing_days"] == before
