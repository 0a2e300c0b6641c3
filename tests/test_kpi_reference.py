"""The brute-force reference, rule by rule (DOMAIN.md §3), on small hand-built histories."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.fold import StoredEvent, fold
from kpi.model import Filters
from kpi.reference import compute
from refdata.files import default_dir, read_dir
from refdata.model import Procedure, ReferenceData, Unit
from tests.events import decoded, event_json

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
MARCH = (date(2026, 3, 1), date(2026, 4, 1))
AFTER = datetime(2026, 4, 10, 12, tzinfo=TZ)  # a `now` after March: t is the end of March


def unit(code: str, level: str, parent: str | None) -> Unit:
    return Unit(code, f"Đơn vị {code}", level, parent, date(2025, 7, 1))  # type: ignore[arg-type]


def procedure(code: str, sector: str, online: str, level: str, *, document: bool) -> Procedure:
    return Procedure(code, f"Thủ tục {code}", sector, online, level, False, document, 5)  # type: ignore[arg-type]


REFDATA = ReferenceData(
    units=(
        unit("01", "province", None),
        unit("001", "district", "01"),
        unit("00001", "commune", "001"),
        unit("00002", "commune", "001"),
        unit("79", "province", None),
    ),
    procedures=(
        procedure("1.001", "Hộ tịch", "full", "commune", document=True),
        procedure("1.002", "Cư trú", "partial", "commune", document=False),
        procedure("1.003", "Đất đai", "full", "province", document=True),
        procedure("1.004", "Hộ tịch", "none", "commune", document=True),
    ),
    holidays=read_dir(default_dir()).holidays,
)


def at(month: int, day: int, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=TZ)


class App:
    """A hand-built application: its events as the contract's JSON objects."""

    count = 0

    def __init__(self, **codes: str) -> None:
        App.count += 1
        self.id = f"HS-{App.count}"
        self.codes = codes
        self.events: list[dict] = []

    def add(self, event_type: str, when: datetime, **extra: object) -> App:
        n = len(self.events)
        body = event_json(event_type, self.id, when, event_id=f"{self.id}-{n}", **self.codes, **extra)
        self.events.append(body)
        return self

    def filed(self, when: datetime, channel: str = "online", **extra: object) -> App:
        return self.add("submitted", when, channel=channel, **extra)

    def received(self, when: datetime, due: datetime | None = None) -> App:
        return self.add("received", when, due_at=(due or when + timedelta(days=3)).isoformat())


def kpis(*apps: App, unit_code: str = "00001", period=MARCH, now: datetime = AFTER, **filters: str):
    events = [e for app in apps for e in app.events]
    return compute(events, REFDATA, unit_code, *period, now=now, filters=Filters(**filters))


def value(key: str, *apps: App, **kwargs):
    return kpis(*apps, **kwargs)[key].value


# --- Rule 3: on time and late --------------------------------------------------------------


def test_two_supplement_requests_make_an_application_late_even_when_resolved_early():
    app = App().filed(at(3, 2, 8)).received(at(3, 2), due=at(3, 20))
    app.add("supplement_requested", at(3, 3)).add("supplement_received", at(3, 4))
    app.add("supplement_requested", at(3, 5)).add("supplement_received", at(3, 6))
    app.add("resolved", at(3, 9))
    result = kpis(app)["on_time_rate"]
    assert (result.numerator, result.denominator, result.value) == (0, 1, 0)


def test_one_supplement_request_is_not_late_by_itself_and_the_second_counts_only_by_t():
    app = App().filed(at(3, 2, 8)).received(at(3, 30), due=at(4, 20))
    app.add("supplement_requested", at(3, 30, 10)).add("supplement_received", at(3, 30, 11))
    app.add("supplement_requested", at(4, 2))  # after the end of March: not by t
    assert value("on_time_rate", app) == 1
    assert value("on_time_rate", app, period=(date(2026, 3, 1), date(2026, 4, 3))) == 0


def test_supplement_waiting_time_extends_the_deadline():
    def resolved_after_deadline(with_supplement: bool) -> App:
        app = App().filed(at(3, 2, 8)).received(at(3, 2), due=at(3, 5))
        if with_supplement:  # one day of waiting: the deadline moves to 6 March, 9:00
            app.add("supplement_requested", at(3, 3)).add("supplement_received", at(3, 4))
        return app.add("resolved", at(3, 5, 20))

    assert value("on_time_rate", resolved_after_deadline(True)) == 1
    assert value("on_time_rate", resolved_after_deadline(False)) == 0


def test_a_resolution_exactly_at_the_deadline_is_on_time():
    app = App().filed(at(3, 2, 8)).received(at(3, 2), due=at(3, 5)).add("resolved", at(3, 5))
    assert value("on_time_rate", app) == 1


def test_an_unanswered_request_extends_the_deadline_up_to_t():
    # Received 2 March, due 5 March; waiting since 4 March and still waiting at the end of March.
    app = App().filed(at(3, 2, 8)).received(at(3, 2), due=at(3, 5)).add("supplement_requested", at(3, 4))
    assert value("on_time_rate", app) == 1
    # The reply closes the interval: 24 h of waiting, then the clock runs out on 6 March.
    app.add("supplement_received", at(3, 5))
    assert value("on_time_rate", app) == 0


def test_waiting_stops_counting_at_the_end():
    # Already late when the request came (6 March, due 5 March); resolved on 8 March without a
    # reply: two days of waiting move the deadline to 7 March, not the weeks up to t.
    app = App().filed(at(3, 2, 8)).received(at(3, 2), due=at(3, 5))
    app.add("supplement_requested", at(3, 6)).add("resolved", at(3, 8))
    assert value("on_time_rate", app) == 0


def test_open_applications_at_t_count_on_time_until_their_deadline():
    within = App().filed(at(3, 30, 8)).received(at(3, 30), due=at(4, 3))
    past = App().filed(at(3, 20, 8)).received(at(3, 20), due=at(3, 25))
    result = kpis(within, past)["on_time_rate"]
    assert (result.numerator, result.denominator) == (1, 2)
    # With now inside the period, t = now: `past` was still within its deadline on 24 March.
    assert kpis(past, now=at(3, 24))["on_time_rate"].value == 1


def test_an_application_resolved_after_t_is_judged_open_at_t():
    app = App().filed(at(3, 30, 8)).received(at(3, 30), due=at(4, 3)).add("resolved", at(4, 8))
    assert value("on_time_rate", app) == 1  # at t (1 April) it is open and within its deadline
    assert value("on_time_rate", app, period=(date(2026, 3, 1), date(2026, 4, 9))) == 0


def test_withdrawal_is_an_end():
    early = App().filed(at(3, 2, 8)).received(at(3, 2), due=at(3, 5)).add("withdrawn", at(3, 4))
    late = App().filed(at(3, 2, 8)).received(at(3, 2), due=at(3, 5)).add("withdrawn", at(3, 9))
    after_t = App().filed(at(3, 30, 8)).received(at(3, 30), due=at(4, 5)).add("withdrawn", at(4, 2))
    result = kpis(early, late, after_t)
    assert (result["on_time_rate"].numerator, result["on_time_rate"].denominator) == (2, 3)
    assert result["open"].value == 1  # withdrawn after t: open at t
    assert result["resolved"].value == 0


# --- Rule 3: overdue and due soon at now ---------------------------------------------------


def test_overdue_and_due_soon_are_evaluated_at_now_whatever_the_period():
    now = at(3, 10, 12)
    overdue = App().filed(at(3, 2, 8)).received(at(3, 2), due=at(3, 9))
    soon = App().filed(at(3, 6, 8)).received(at(3, 6), due=at(3, 11, 11))
    later = App().filed(at(3, 6, 8)).received(at(3, 6), due=at(3, 12))
    paused = App().filed(at(3, 2, 8)).received(at(3, 2), due=at(3, 9)).add("supplement_requested", at(3, 8))
    done = App().filed(at(3, 2, 8)).received(at(3, 2), due=at(3, 5)).add("resolved", at(3, 7))
    apps = (overdue, soon, later, paused, done)
    february = (date(2026, 2, 1), date(2026, 3, 1))
    for period in (MARCH, february):
        result = kpis(*apps, period=period, now=now)
        assert result["overdue_open"].value == 1
        # `paused` waits since 8 March 9:00 (27 h by now): its deadline is 10 March 12:00, now.
        assert result["due_soon_open"].value == 2


# --- Rule 1: attributes from events in any order, once ---------------------------------------


def test_duplicates_count_once_in_any_order():
    app = App().filed(at(3, 2, 8)).received(at(3, 2)).add("resolved", at(3, 3))
    twice = app.events + [dict(e) for e in reversed(app.events)]
    random.Random(1).shuffle(twice)
    result = compute(twice, REFDATA, "00001", *MARCH, now=AFTER)
    assert result["received"].value == 1
    assert result["resolved"].value == 1
    assert result["online_submission_rate"].value == 1


def test_a_late_submitted_supplies_the_channel_and_the_earliest_submitted_wins():
    app = App().received(at(3, 2)).add("resolved", at(3, 3))
    assert value("online_resolution_rate", app) == 0  # no channel yet: not online
    assert kpis(app)["resolved_online"].value == 0
    app.filed(at(3, 1, 8), channel="online").filed(at(3, 2, 8), channel="in_person")  # arrive last
    result = kpis(app)
    assert result["online_resolution_rate"].value == 1
    assert result["received_online"].value == 1
    assert result["received_in_person"].value == 0


def test_models_and_dicts_give_the_same_answer():
    app = App().filed(at(3, 2, 8)).received(at(3, 2)).add("paid", at(3, 2, 10)).add("resolved", at(3, 3))
    models = [decoded(e).event for e in app.events]
    assert compute(models, REFDATA, "00001", *MARCH, now=AFTER) == kpis(app)


# --- Scope and filters ------------------------------------------------------------------------


def test_a_unit_includes_its_descendants():
    here = App(unit="00001").filed(at(3, 2, 8)).received(at(3, 2))
    there = App(unit="00002").filed(at(3, 2, 8), channel="in_person").received(at(3, 2))
    elsewhere = App(unit="79").filed(at(3, 2, 8)).received(at(3, 2))
    apps = (here, there, elsewhere)
    assert [kpis(*apps, unit_code=u)["received"].value for u in ("00001", "00002", "001", "01", "79")] == [
        1,
        1,
        2,
        2,
        1,
    ]
    assert value("online_submission_rate", *apps, unit_code="01") == Fraction(1, 2)


def test_filters_restrict_the_applications_of_every_kpi():
    birth = App(procedure_code="1.001", agency_code="A").filed(at(3, 2, 8)).received(at(3, 2))
    residence = (
        App(procedure_code="1.002", agency_code="B").filed(at(3, 2, 8), "in_person").received(at(3, 2))
    )
    unknown = App(procedure_code="9.999", agency_code="A").filed(at(3, 2, 8), "postal").received(at(3, 2))
    apps = (birth, residence, unknown)
    assert value("received", *apps) == 3
    assert value("received", *apps, agency_code="A") == 2
    assert value("received", *apps, procedure_code="1.002") == 1
    assert value("received", *apps, sector="Hộ tịch") == 1  # an unknown procedure matches no sector
    assert value("received", *apps, channel="postal") == 1
    assert value("online_submission_rate", *apps, channel="online") == 1
    assert value("online_submission_rate", *apps, channel="in_person") == 0
    assert value("online_submission_rate", *apps, agency_code="nobody") is None


# --- Rule 4 ------------------------------------------------------------------------------------


def test_services_with_online_apps_counts_online_offered_procedures_at_the_units_level_or_below():
    online = App(unit="00001", procedure_code="1.001").filed(at(3, 2, 8)).received(at(3, 2))
    counter = App(unit="00001", procedure_code="1.002").filed(at(3, 2, 8), "in_person").received(at(3, 2))
    province = App(unit="00002", procedure_code="1.003").filed(at(3, 2, 8)).received(at(3, 2))
    not_offered = App(unit="00001", procedure_code="1.004").filed(at(3, 2, 8)).received(at(3, 2))
    february = App(unit="00001", procedure_code="1.002").filed(at(2, 2, 8)).received(at(2, 2))
    apps = (online, counter, province, not_offered, february)

    def rate(**kwargs):
        result = kpis(*apps, **kwargs)["services_with_online_apps_rate"]
        return result.numerator, result.denominator

    assert rate(unit_code="00001") == (1, 2)  # 1.001, 1.002 are commune procedures offered online
    assert rate(unit_code="00002") == (0, 2)  # 1.003 is a province procedure
    assert rate(unit_code="001") == (1, 2)
    assert rate(unit_code="01") == (2, 3)
    assert rate(unit_code="01", sector="Hộ tịch") == (1, 1)
    assert rate(unit_code="01", procedure_code="1.002") == (0, 1)
    assert rate(unit_code="01", channel="in_person") == (0, 3)


# --- Rule 5 ------------------------------------------------------------------------------------


def test_digitization_needs_the_result_too_when_an_approved_result_is_a_document():
    def app(procedure_code: str, *, result_digitized: datetime | None, decision: str = "approved") -> App:
        a = App(procedure_code=procedure_code).filed(at(3, 2, 8)).received(at(3, 2))
        a.add("digitized", at(3, 2, 10), target="application").add("resolved", at(3, 5), result=decision)
        if result_digitized:
            a.add("digitized", result_digitized, target="result")
        return a

    assert value("digitization_rate", app("1.001", result_digitized=None)) == 0
    assert value("digitization_rate", app("1.001", result_digitized=at(3, 6))) == 1
    assert value("digitization_rate", app("1.001", result_digitized=at(4, 2))) == 0  # after t
    assert value("digitization_rate", app("1.001", result_digitized=None, decision="refused")) == 1
    assert value("digitization_rate", app("1.002", result_digitized=None)) == 1  # no document result
    none = App().filed(at(3, 2, 8)).received(at(3, 2))
    assert value("digitization_rate", none) == 0


def test_e_result_counts_approved_document_results():
    def app(procedure_code: str, decision: str, *, e_result: bool) -> App:
        a = App(procedure_code=procedure_code).filed(at(3, 2, 8)).received(at(3, 2))
        return a.add("resolved", at(3, 5), result=decision, e_result=e_result)

    apps = (
        app("1.001", "approved", e_result=True),
        app("1.001", "approved", e_result=False),
        app("1.001", "refused", e_result=False),
        app("1.002", "approved", e_result=False),  # no document result
    )
    result = kpis(*apps)["e_result_rate"]
    assert (result.numerator, result.denominator) == (1, 2)


# --- Rules 6 and 7 -----------------------------------------------------------------------------


def test_online_payment_is_over_applications_with_payments_above_zero():
    def app(*payments: tuple[int, bool]) -> App:
        a = App().filed(at(3, 2, 8)).received(at(3, 2))
        for i, (amount, online) in enumerate(payments):
            a.add("paid", at(3, 3, 9 + i), amount_vnd=amount, online=online)
        return a

    apps = (
        app(),
        app((0, True)),
        app((50_000, False), (0, True)),
        app((50_000, True)),
        app((20_000, False), (1, True)),
    )
    result = kpis(*apps)["online_payment_rate"]
    assert (result.numerator, result.denominator) == (2, 3)


def test_satisfaction_counts_late_or_unsatisfied_once():
    def app(*scores: int, late: bool = False) -> App:
        a = App().filed(at(3, 2, 8)).received(at(3, 2), due=at(3, 5)).add("resolved", at(3, 9 if late else 4))
        for i, score in enumerate(scores):
            a.add("rated", at(3, 10, 9 + i), score=score)
        return a

    apps = (app(1, late=True), app(5, 2), app(2, 4), app(3), app(), app(late=True))
    result = kpis(*apps)["satisfaction_rate"]
    # bad: late and unsatisfied (once), latest rating 2, late: 3 of 6
    assert (result.numerator, result.denominator, result.value) == (3, 6, Fraction(1, 2))


# --- Rule 8 ------------------------------------------------------------------------------------


def test_average_processing_days_in_working_days_without_supplement_time():
    tet = App().filed(at(2, 13, 8)).received(at(2, 13, 10), due=at(3, 2)).add("resolved", at(2, 23, 15))
    # (Mon 2, Fri 6 March] is 4 working days; the supplement interval (Tue 3, Thu 5] takes 2 of them.
    supplement = App().filed(at(3, 2, 8)).received(at(3, 2)).add("supplement_requested", at(3, 3))
    supplement.add("supplement_received", at(3, 5)).add("resolved", at(3, 6))
    unanswered = App().filed(at(3, 2, 8)).received(at(3, 2)).add("supplement_requested", at(3, 3))
    unanswered.add("resolved", at(3, 6))  # waiting until the end: (3, 6] excluded, 3 March counts
    never_received = App().filed(at(3, 2, 8)).add("resolved", at(3, 2, 10), result="not_accepted")
    february = (date(2026, 2, 1), date(2026, 3, 1))
    assert value("avg_processing_days", tet, period=february) == 1
    result = kpis(tet, supplement, unanswered, never_received, period=(date(2026, 2, 1), date(2026, 4, 1)))
    assert result["avg_processing_days"].numerator == 1 + 2 + 1
    assert result["avg_processing_days"].denominator == 3
    assert result["resolved"].value == 4
    assert value("avg_processing_days", never_received) is None


def test_no_data_is_none_not_zero():
    result = kpis()
    for key, kpi_value in result.items():
        if kpi_value.denominator is None:
            assert kpi_value.value == 0, key
        elif key != "services_with_online_apps_rate":
            assert kpi_value.value is None, key
    assert result["services_with_online_apps_rate"].value == 0


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="unknown unit"):
        compute([], REFDATA, "99999", *MARCH, now=AFTER)
    with pytest.raises(ValueError, match="aware"):
        compute([], REFDATA, "01", *MARCH, now=datetime(2026, 4, 1))  # noqa: DTZ001
    with pytest.raises(ValueError, match="ends before"):
        compute([], REFDATA, "01", date(2026, 4, 1), date(2026, 3, 1), now=AFTER)


# --- Cross-check with ingest.fold: two independent implementations ---------------------------

STEPS = [
    "submitted",
    "received",
    "supplement_requested",
    "supplement_received",
    "resolved",
    "withdrawn",
    "paid",
    "digitized",
    "rated",
]


@st.composite
def histories(draw: st.DrawFn) -> list[dict]:
    events = []
    base = datetime(2026, 3, 1, tzinfo=TZ)
    for n in range(draw(st.integers(0, 8))):
        unit_code = draw(st.sampled_from(["00001", "00002", "79"]))
        for step in range(draw(st.integers(1, 7))):
            event_type = draw(st.sampled_from(STEPS))
            when = base + timedelta(hours=draw(st.integers(-240, 31 * 24 + 240)))
            extra: dict[str, object] = {}
            if event_type == "submitted":
                extra = {
                    "channel": draw(st.sampled_from(["online", "in_person", "postal"])),
                    "online_level": draw(st.sampled_from(["full", "partial", "none"])),
                    "vneid_authenticated": draw(st.booleans()),
                    "reused_data": draw(st.booleans()),
                }
            elif event_type == "paid":
                extra = {"amount_vnd": draw(st.sampled_from([0, 10_000])), "online": draw(st.booleans())}
            elif event_type == "resolved":
                extra = {"result": draw(st.sampled_from(["approved", "refused", "not_accepted", "stopped"]))}
            events.append(
                event_json(event_type, f"HS-{n}", when, event_id=f"{n}-{step}", unit=unit_code, **extra)
            )
    duplicates = draw(st.lists(st.sampled_from(events), max_size=4)) if events else []
    return draw(st.permutations(events + duplicates))


@settings(max_examples=150, deadline=None)
@given(events=histories(), now_hours=st.integers(0, 40 * 24))
def test_counts_equal_those_derived_from_the_fold(events, now_hours):
    now = datetime(2026, 3, 1, tzinfo=TZ) + timedelta(hours=now_hours)
    start, end = MARCH
    reference = compute(events, REFDATA, "01", start, end, now=now)

    unique = {e["event_id"]: e for e in events}
    by_app: dict[str, list[StoredEvent]] = {}
    for e in unique.values():
        stored = StoredEvent(
            e["event_id"],
            e["event_type"],
            datetime.fromisoformat(e["occurred_at"]),
            e["application_id"],
            e["procedure_code"],
            e["agency_code"],
            e["unit_code"],
            e,
        )
        by_app.setdefault(e["application_id"], []).append(stored)
    states = [fold(evs, TZ) for evs in by_app.values()]
    mine = [s for s in states if s.unit_code in {"00001", "00002"}]
    t = min(datetime(2026, 4, 1, tzinfo=TZ), now)
    received = [s for s in mine if s.received_day is not None and start <= s.received_day < end]
    resolved = [s for s in mine if s.resolved_day is not None and start <= s.resolved_day < end]
    open_at_t = [
        s
        for s in mine
        if s.received_at is not None and s.received_at < t and not (s.ended_at and s.ended_at < t)
    ]
    with_fee = [s for s in received if s.paid_vnd > 0]
    expected = {
        "received": len(received),
        "received_online": sum(s.channel == "online" for s in received),
        "received_postal": sum(s.channel == "postal" for s in received),
        "full_online_rate": sum(s.channel == "online" and s.online_level == "full" for s in received),
        "vneid_rate": sum(bool(s.vneid_authenticated) for s in received),
        "data_reuse_rate": sum(bool(s.reused_data) for s in received),
        "resolved": len(resolved),
        "resolved_online": sum(s.channel == "online" for s in resolved),
        "open": len(open_at_t),
        "online_payment_rate": sum(s.paid_online for s in with_fee),
    }
    assert {key: reference[key].numerator for key in expected} == expected
    assert reference["online_payment_rate"].denominator == len(with_fee)
    for key in ("full_online_rate", "vneid_rate", "data_reuse_rate", "online_submission_rate"):
        assert reference[key].denominator == len(received)
