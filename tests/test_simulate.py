"""The simulator: realistic, reproducible events that pass the contract, scenarios, faults, Kafka."""

from __future__ import annotations

import json
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import typer
from kafka import KafkaConsumer
from typer.testing import CliRunner

from ingest.contract import EVENT_TYPES, Decoded, Rejection, decode
from ioc.settings import Settings
from refdata.model import Agency, Holiday, Procedure, ReferenceData, Unit
from simulate.cli import register
from simulate.errors import SimulateError
from simulate.faults import MALFORMED_KINDS, Faults, Message, inject
from simulate.generate import SimEvent, generate
from simulate.produce import Summary, new_summary, produce, send
from simulate.scenarios import parse as parse_scenario
from simulate.stream import Plan, messages, prepare
from simulate.workdays import WorkCalendar

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime(2026, 10, 16, 12, 0, tzinfo=TZ)  # a Friday noon
SINCE = date(2020, 1, 1)


def small_refdata() -> ReferenceData:
    """Two provinces; three sample districts with communes; procedures of every level."""
    units = [
        Unit("01", "Thành phố Hà Nội", "province", None, SINCE),
        Unit("02", "Tỉnh Tuyên Quang", "province", None, SINCE),
    ]
    tree = {
        "001": ("01", ["00001", "00002", "00003"]),
        "002": ("01", ["00004", "00005"]),
        "010": ("02", ["00010", "00011"]),
    }
    agencies = [
        Agency(f"P{p}.{suffix}", f"{suffix} {p}", kind, p)
        for p in ("01", "02")
        for suffix, kind in (
            ("TTPVHCC", "service_centre"),
            ("STP", "department"),
            ("SXD", "department"),
            ("CA", "vertical"),
        )
    ]
    for district, (province, communes) in tree.items():
        units.append(Unit(district, f"Huyện mẫu {district}", "district", province, SINCE, is_sample=True))
        agencies.append(Agency(f"D{district}.UBND", f"UBND huyện {district}", "district_committee", district))
        for commune in communes:
            units.append(Unit(commune, f"Xã mẫu {commune}", "commune", district, SINCE, is_sample=True))
            agencies.append(Agency(f"C{commune}.UBND", f"UBND xã {commune}", "commune_committee", commune))
    procedures = [
        Procedure("9.001", "Đăng ký khai sinh", "Hộ tịch", "full", "commune", False, True, 1, True),
        Procedure("9.002", "Đăng ký kết hôn", "Hộ tịch", "partial", "commune", False, True, 5, True),
        Procedure("9.003", "Chứng thực bản sao từ bản chính", "Chứng thực", "none", "commune", True, True, 0),
        Procedure("9.004", "Đăng ký thường trú", "Cư trú", "full", "commune", True, False, 7, True),
        Procedure("9.005", "Cấp giấy phép xây dựng nhà ở", "Xây dựng", "partial", "district", True, True, 15),
        Procedure("9.006", "Đăng ký hộ kinh doanh", "Kinh doanh", "full", "district", True, True, 3),
        Procedure(
            "9.007", "Cấp phiếu lý lịch tư pháp", "Lý lịch tư pháp", "full", "province", True, True, 10, True
        ),
        Procedure("9.008", "Cấp đổi giấy phép lái xe", "Đường bộ", "full", "province", True, True, 5, True),
        Procedure("9.009", "Cấp giấy phép lao động", "Việc làm", "none", "province", True, True, 5),
    ]
    holidays = [Holiday(date(2026, 9, 2), "Quốc khánh"), Holiday(date(2026, 9, 1), "Quốc khánh (liền kề)")]
    return ReferenceData(
        units=tuple(units), agencies=tuple(agencies), procedures=tuple(procedures), holidays=tuple(holidays)
    )


REFDATA = small_refdata()


def make_plan(seed: int = 5, *, days: float = 3.0, rate: float = 0.05, scenario: str = "normal") -> Plan:
    return prepare(REFDATA, seed=seed, now=NOW, history_days=days, rate=rate, scenario=scenario, tz=TZ)


def check(value: bytes, now: datetime = NOW) -> Decoded | Rejection:
    return decode(
        value,
        now=now,
        unit_codes=REFDATA.unit_codes,
        agency_codes=REFDATA.agency_codes,
        procedure_codes=REFDATA.procedure_codes,
    )


def by_application(events: list[dict[str, object]]) -> dict[str, list[dict[str, object]]]:
    found: dict[str, list[dict[str, object]]] = defaultdict(list)
    for event in events:
        found[str(event["application_id"])].append(event)
    return found


def when(event: dict[str, object], field: str = "occurred_at") -> datetime:
    return datetime.fromisoformat(str(event[field]))


@pytest.fixture(scope="module")
def fortnight() -> list[dict[str, object]]:
    """Every event of the applications filed over two weeks (Monday 28/9 to Sunday 11/10/2026)."""
    plan = make_plan()
    start = datetime(2026, 9, 28, tzinfo=TZ)
    stream = generate(
        plan.world, seed=5, start=start, end=start + timedelta(days=14), applications_per_day=600
    )
    return [event.payload for event in stream]


# --- reproducibility and the contract ------------------------------------------------------------


def test_the_same_seed_gives_the_same_bytes_and_another_seed_other_events():
    faults = Faults(duplicates=0.02, reorder=0.02, late=0.02, malformed=0.01)
    first = list(messages(make_plan(seed=5), faults=faults))
    again = list(messages(make_plan(seed=5), faults=faults))
    other = list(messages(make_plan(seed=6), faults=faults))
    assert len(first) > 1000
    assert first == again
    assert {m.value for m in first}.isdisjoint({m.value for m in other})


def test_history_overlapping_windows_share_their_applications():
    """A seed fixes each half-hour's arrivals, whatever window asked for it."""
    long = {m.value for m in messages(make_plan(days=3.0))}
    short = [
        m.value for m in messages(make_plan(days=1.0)) if json.loads(m.value)["event_type"] == "submitted"
    ]
    assert short
    assert all(value in long for value in short)


def test_every_event_passes_the_contract_with_unique_ids_and_nothing_in_the_future():
    sent = list(messages(make_plan(days=4.0)))
    decoded = [check(m.value) for m in sent]
    rejected = [r for r in decoded if isinstance(r, Rejection)]
    assert not rejected, rejected[:3]
    events = [r.event for r in decoded if isinstance(r, Decoded)]
    assert len({e.event_id for e in events}) == len(events)
    assert max(e.occurred_at for e in events) <= NOW
    assert all(m.key == json.loads(m.value)["application_id"].encode() for m in sent)
    assert {e.event_type for e in events} == set(EVENT_TYPES)


def test_an_applications_events_are_in_order_and_consistent(fortnight: list[dict[str, object]]):
    calendar = WorkCalendar(TZ, REFDATA.holidays)
    procedures = {p.code: p for p in REFDATA.procedures}
    agencies = {a.code: a for a in REFDATA.agencies}
    units = {u.code: u for u in REFDATA.units}
    for events in by_application(fortnight).values():
        times = [when(e) for e in events]
        assert times == sorted(times)
        assert len(set(times)) == len(times)
        first = events[0]
        assert first["event_type"] == "submitted"
        procedure = procedures[str(first["procedure_code"])]
        assert first["online_level"] == procedure.online_level
        if first["channel"] == "online":
            assert procedure.online_level != "none"
        agency = agencies[str(first["agency_code"])]
        unit = units[str(first["unit_code"])]
        assert units[agency.unit_code].level == procedure.level
        chain = [unit.code]
        while units[chain[-1]].parent_code:
            chain.append(str(units[chain[-1]].parent_code))
        assert agency.unit_code in chain, "the agency is the unit's own or an ancestor's"
        types = [e["event_type"] for e in events]
        assert sum(t in ("resolved", "withdrawn") for t in types) <= 1
        if "received" in types:
            received = events[types.index("received")]
            due = when(received, "due_at").astimezone(TZ)
            assert (due.hour, due.minute) == (17, 0)
            assert calendar.is_working(due.date().toordinal())
            assert due > when(received)
        if "result_returned" in types or "rated" in types:
            assert "resolved" in types
            assert types.index("resolved") < types.index(
                "result_returned" if "result_returned" in types else "rated"
            )
        if "paid" in types:
            assert procedure.has_fee
            assert all(e["amount_vnd"] > 0 for e in events if e["event_type"] == "paid")  # type: ignore[operator]


# --- realism ---------------------------------------------------------------------------------------


def test_arrivals_follow_office_hours_and_the_week(fortnight: list[dict[str, object]]):
    submitted = [e for e in fortnight if e["event_type"] == "submitted"]
    counter = Counter[tuple[int, int]]()
    online = Counter[int]()
    for event in submitted:
        local = when(event).astimezone(TZ)
        if event["channel"] == "online":
            online[local.hour] += 1
        else:
            counter[(local.weekday(), local.hour)] += 1
    weekday = [sum(counter[(d, h)] for d in range(5)) for h in range(24)]
    assert min(weekday[8:11]) > 10 * weekday[12], "lunch dip"
    assert min(weekday[14:16]) > 10 * weekday[12]
    assert sum(weekday[:7]) + sum(weekday[18:]) == 0, "no counter outside office hours"
    saturday_morning = sum(counter[(5, h)] for h in range(7, 12))
    assert 0 < saturday_morning < sum(counter[(0, h)] for h in range(7, 12)) / 2
    assert sum(counter[(5, h)] for h in range(12, 24)) + sum(counter[(6, h)] for h in range(24)) == 0
    evening = sum(online[h] for h in range(19, 22))
    assert evening > 0.05 * sum(online.values()), "some online filings in the evening"
    assert online[3] < online[9] / 10
    per_day = Counter(when(e).astimezone(TZ).weekday() for e in submitted)
    assert per_day[0] > per_day[4] > 2 * per_day[5] > per_day[6] > 0


def test_units_differ_in_volume_and_online_share(fortnight: list[dict[str, object]]):
    by_unit: dict[str, Counter[bool]] = defaultdict(Counter)
    for event in fortnight:
        if event["event_type"] == "submitted":
            by_unit[str(event["unit_code"])][event["channel"] == "online"] += 1
    shares = [c[True] / c.total() for c in by_unit.values() if c.total() >= 100]
    volumes = [c.total() for c in by_unit.values()]
    assert len(shares) >= 6
    assert max(shares) - min(shares) > 0.15
    assert 0.1 < statistics.mean(shares) < 0.7
    assert max(volumes) > 2 * min(volumes)


def test_outcomes_happen_at_plausible_rates(fortnight: list[dict[str, object]]):
    applications = by_application(fortnight)
    total = len(applications)
    types = Counter(
        e["event_type"]
        for events in applications.values()
        for e in {x["event_type"]: x for x in events}.values()
    )
    results = Counter(e["result"] for e in fortnight if e["event_type"] == "resolved")
    scores = Counter(e["score"] for e in fortnight if e["event_type"] == "rated")
    assert 0.05 < types["supplement_requested"] / total < 0.16
    assert 0.8 < results["approved"] / results.total() < 0.99
    assert results["not_accepted"]
    assert results["refused"]
    assert results["stopped"]
    assert scores[5] + scores[4] > 3 * (scores[1] + scores[2]) > 0
    two_requests = sum(
        1
        for events in applications.values()
        if sum(e["event_type"] == "supplement_requested" for e in events) == 2
    )
    assert 0 < two_requests < types["supplement_requested"] / 4
    late = on_time = 0
    for events in applications.values():
        kinds = {e["event_type"]: e for e in events}
        if "received" in kinds and "resolved" in kinds and "supplement_requested" not in kinds:
            late_one = when(kinds["resolved"]) > when(kinds["received"], "due_at")
            late, on_time = late + late_one, on_time + (not late_one)
    assert 0.005 < late / (late + on_time) < 0.15


def test_deadlines_count_working_days_and_skip_holidays():
    calendar = WorkCalendar(
        TZ, [Holiday(date(2026, 9, 2), "Quốc khánh"), Holiday(date(2026, 9, 5), "làm bù", working=True)]
    )

    def due(received: datetime, days: int) -> datetime:
        return datetime.fromtimestamp(calendar.due_at(int(received.timestamp()), days), TZ)

    friday = datetime(2026, 10, 16, 9, 0, tzinfo=TZ)
    assert due(friday, 1) == datetime(2026, 10, 19, 17, 0, tzinfo=TZ)
    assert due(friday, 0) == datetime(2026, 10, 16, 17, 0, tzinfo=TZ)
    assert due(friday.replace(hour=17, minute=30), 0) == datetime(2026, 10, 19, 17, 0, tzinfo=TZ)
    # Tuesday 1/9 + 2: Wednesday 2/9 is a holiday, Saturday 5/9 a make-up working day.
    assert due(datetime(2026, 9, 1, 10, 0, tzinfo=TZ), 2) == datetime(2026, 9, 4, 17, 0, tzinfo=TZ)
    assert due(datetime(2026, 9, 3, 10, 0, tzinfo=TZ), 2) == datetime(2026, 9, 5, 17, 0, tzinfo=TZ)
    lunch = int(datetime(2026, 10, 16, 12, 0, tzinfo=TZ).timestamp())
    assert calendar.office_at_or_after(lunch) == int(datetime(2026, 10, 16, 13, 30, tzinfo=TZ).timestamp())
    assert calendar.iso(lunch) == "2026-10-16T12:00:00+07:00"


# --- scenarios -------------------------------------------------------------------------------------


def test_online_collapse_silences_one_sample_district_from_its_start():
    plan = make_plan(days=4.0, rate=0.08, scenario="online-collapse:hours_ago=48")
    scenario = plan.scenario
    assert scenario.unit_code in {"001", "002", "010"}
    assert make_plan(days=0.5, scenario="online-collapse").scenario.unit_code == scenario.unit_code
    assert scenario.start == NOW - timedelta(hours=48)
    assert scenario.affected >= {scenario.unit_code}
    events = [json.loads(m.value) for m in messages(plan)]
    online_ids = {
        e["application_id"] for e in events if e["event_type"] == "submitted" and e["channel"] == "online"
    }

    def online_share(affected: bool, after: bool) -> tuple[int, int]:
        picked = [
            e
            for e in events
            if e["event_type"] == "submitted"
            and (e["unit_code"] in scenario.affected) == affected
            and (when(e) >= scenario.start) == after
        ]
        return sum(e["channel"] == "online" for e in picked), len(picked)

    online_after, filed_after = online_share(affected=True, after=True)
    online_before, filed_before = online_share(affected=True, after=False)
    others_online, others_filed = online_share(affected=False, after=True)
    assert filed_after > 30
    assert filed_before > 30
    assert online_after <= 0.05 * filed_after
    assert online_before > 0.1 * filed_before
    assert others_online > 0.1 * others_filed
    resolved_online = [
        e
        for e in events
        if e["event_type"] == "resolved"
        and e["unit_code"] in scenario.affected
        and when(e) >= scenario.start
        and e["application_id"] in online_ids
    ]
    assert resolved_online == [], "online applications of the district are no longer resolved"


def test_backlog_stalls_resolutions_of_one_unit():
    plan = make_plan(days=5.0, scenario="backlog:hours_ago=60,stall_days=20")
    scenario = plan.scenario
    events = [json.loads(m.value) for m in messages(plan)]
    resolved_after = Counter(
        e["unit_code"] in scenario.affected
        for e in events
        if e["event_type"] == "resolved" and when(e) >= scenario.start
    )
    assert resolved_after[True] == 0
    assert resolved_after[False] > 50
    assert scenario.describe().startswith(f"backlog: unit {scenario.unit_code}")


def test_scenario_names_and_parameters_are_checked():
    assert parse_scenario("online-collapse:kept=0.1,hours_ago=2") == (
        "online-collapse",
        {"kept": "0.1", "hours_ago": "2"},
    )
    for bad in ("collapse", "normal:x=1", "backlog:kept=0.1", "backlog:stall_days"):
        with pytest.raises(ValueError, match="scenario"):
            parse_scenario(bad)
    with pytest.raises(ValueError, match="not in the reference data"):
        make_plan(scenario="backlog:unit=99999")
    with pytest.raises(ValueError, match="start"):
        make_plan(scenario="backlog:start=2026-10-01T08:00")


# --- faults ----------------------------------------------------------------------------------------


def test_faults_parse_and_reject_nonsense():
    assert Faults.parse("duplicates=0.01,reorder=0.05,late=0.01,malformed=0.001") == Faults(
        0.01, 0.05, 0.01, 0.001
    )
    assert Faults.parse("") == Faults()
    for bad in ("duplicate=0.1", "late=2", "late=x", "late"):
        with pytest.raises(ValueError, match="fault"):
            Faults.parse(bad)


def test_faults_produce_each_kind_and_malformed_messages_are_dead_letters():
    plan = make_plan(days=3.0)
    clean = list(messages(plan))
    faulty = list(messages(plan, faults=Faults(duplicates=0.03, reorder=0.05, late=0.03, malformed=0.01)))
    kinds = Counter(m.fault.split(":")[0] for m in faulty)
    assert kinds["duplicate"] > 10
    assert kinds["late"] > 10
    assert kinds["reordered"] > 10
    malformed = [m for m in faulty if m.event_type is None]
    assert {m.fault.removeprefix("malformed:") for m in malformed} == set(MALFORMED_KINDS)
    for message in malformed:
        result = check(message.value)
        assert isinstance(result, Rejection), message.fault
        assert result.reason
    valid = [m for m in faulty if m.event_type is not None]
    assert all(isinstance(check(m.value), Decoded) for m in valid)
    assert Counter(m.value for m in valid if m.fault != "duplicate") == Counter(m.value for m in clean)
    originals = {m.value for m in valid if m.fault != "duplicate"}
    assert all(m.value in originals for m in valid if m.fault == "duplicate")
    sends = [m.at for m in faulty]
    assert sends == sorted(sends)
    assert all(m.at > when(json.loads(m.value)).timestamp() for m in valid if m.fault == "late")
    # Reordering sends an application's events out of order on its key (its partition).
    last_seen: dict[bytes, datetime] = {}
    out_of_order = 0
    for message in valid:
        moment = when(json.loads(message.value))
        out_of_order += message.key in last_seen and moment < last_seen[message.key]
        last_seen[message.key] = max(moment, last_seen.get(message.key, moment))
    assert out_of_order > 10


# --- sending ---------------------------------------------------------------------------------------


class ListSink:
    def __init__(self) -> None:
        self.sent: list[tuple[bytes, bytes]] = []
        self.flushed = 0

    def send(self, key: bytes, value: bytes) -> None:
        self.sent.append((key, value))

    def flush(self) -> None:
        self.flushed += 1


class FakeClock:
    def __init__(self, start: float) -> None:
        self.now = start
        self.slept = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        self.slept += seconds


def test_live_mode_waits_for_each_events_time_and_count_stops_the_run():
    plan = make_plan(days=1.0, rate=0.1)
    cutoff = int(plan.now.timestamp())
    history = sum(1 for _ in messages(plan))
    clock, sink = FakeClock(cutoff), ListSink()
    summary = send(
        messages(plan, live=True),
        sink,
        new_summary(plan, Faults()),
        history_until=cutoff,
        live=True,
        count=history + 50,
        clock=clock,
        sleep=clock.sleep,
    )
    assert summary.sent == len(sink.sent) == history + 50
    assert summary.history == history
    assert sink.flushed == 1
    live = [json.loads(value) for _, value in sink.sent[history:]]
    assert all(when(e).timestamp() > cutoff for e in live)
    assert clock.now >= when(live[-1]).timestamp() > cutoff
    assert clock.slept > 0


def test_history_alone_goes_at_once_and_is_summarised():
    plan = make_plan(days=2.0)
    faults = Faults(duplicates=0.02, malformed=0.01)
    clock, sink = FakeClock(NOW.timestamp()), ListSink()
    summary = send(
        messages(plan, faults=faults),
        sink,
        new_summary(plan, faults),
        history_until=int(NOW.timestamp()),
        live=False,
        clock=clock,
        sleep=clock.sleep,
    )
    assert clock.slept == 0
    assert (
        summary.sent
        == len(sink.sent)
        == summary.events.total() + summary.duplicates + summary.malformed.total()
    )
    assert summary.duplicates > 0
    assert summary.malformed.total() > 0
    report = summary.as_dict()
    assert report["applications"] == summary.events["submitted"] > 0
    assert report["scenario"]["name"] == "normal"


# --- Kafka -----------------------------------------------------------------------------------------


def consume(settings: Settings, topic: str, expected: int) -> Iterator[tuple[int, bytes, bytes]]:
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=list(settings.kafka_bootstrap),
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=10_000,
    )
    try:
        for number, record in enumerate(consumer, start=1):
            yield record.partition, record.key, record.value
            if number == expected:
                break
    finally:
        consumer.close()


def test_produce_to_kafka_keys_by_application_in_order(settings: Settings, topic: str):
    summary: Summary = produce(
        REFDATA, bootstrap=settings.kafka_bootstrap, topic=topic, tz=TZ, seed=11, history_days=1.0, count=400
    )
    assert summary.sent == 400
    records = list(consume(settings, topic, 400))
    assert len(records) == 400
    partitions: dict[bytes, set[int]] = defaultdict(set)
    last: dict[bytes, datetime] = {}
    for partition, key, value in records:
        event = json.loads(value)
        assert key == event["application_id"].encode()
        partitions[key].add(partition)
        assert key not in last or when(event) > last[key], "an application's events in order"
        last[key] = when(event)
    assert all(len(p) == 1 for p in partitions.values())
    assert len({p for ps in partitions.values() for p in ps}) == 3
    assert Counter(json.loads(v)["event_type"] for _, _, v in records) == summary.events


def test_a_run_that_cannot_go_says_why_before_reaching_kafka():
    nowhere = ("127.0.0.1:1",)
    with pytest.raises(SimulateError, match="not in the reference data"):
        produce(REFDATA, bootstrap=nowhere, topic="t", tz=TZ, history_days=1.0, scenario="backlog:unit=99999")
    with pytest.raises(SimulateError, match="nothing to simulate"):
        produce(REFDATA, bootstrap=nowhere, topic="t", tz=TZ)


def test_the_command_checks_its_options():
    app = typer.Typer()
    app.command("other")(lambda: None)
    register(app)
    runner = CliRunner()
    for args, complaint in (
        (["--faults", "late=2", "--history-days", "1"], "late"),
        (["--scenario", "meltdown", "--history-days", "1"], "meltdown"),
        (["--now", "2026-01-05T10:00:00", "--history-days", "1"], "offset"),
        (["--count", "5"], "--history-days"),
    ):
        result = runner.invoke(app, ["simulate", *args])
        assert result.exit_code == 2, result.output
        assert complaint in result.output


def test_messages_are_namedtuples_of_bytes():
    event = SimEvent(0, {"application_id": "A", "event_type": "submitted"})
    (message,) = inject([event], Faults(), seed=1)
    assert message == Message(0, b"A", b'{"application_id":"A","event_type":"submitted"}', "submitted", "")
