"""Every KPI of the registry by brute force, from raw events: the reference the SQL must equal.

Deliberately simple and independent of ``ingest/fold.py`` and of any SQL: each application's
events are read again for every question, and each KPI is written as its rule in DOMAIN.md §3
("Precise rules" 1 to 8, cited in comments). Values are exact: ints, and ``Fraction`` for ratios
and averages, so a test can compare another implementation with zero tolerance. Speed is not a
goal (fine for thousands of events, not for a province's year).

Choices where DOMAIN.md leaves room (the SQL side must make the same ones):

- *Order and ties.* "Earliest" and "next" use the order ``(occurred_at, event_id)``. Events with
  the same ``event_id`` count once; if their contents differ, the first in the input wins.
- *Which unit, agency and procedure.* An application's codes come from its earliest
  ``submitted``, else from its earliest event (as the store does). Its unit decides whether it
  is in the asked unit, which includes every unit below it through parent links (validity dates
  are not looked at); ``COUNTRY`` includes every unit.
- *"By t".* An event has happened by an instant ``t`` when ``occurred_at < t``: the state at
  ``t`` is that of the half-open time before it, as periods are half-open (rule 2). "Past the
  deadline" is strictly after it: an end exactly at the effective deadline is on time.
- *Open.* An application is open at ``t`` when it was received by ``t`` and neither resolved nor
  withdrawn by ``t`` (rule 1: its end is the earliest ``resolved`` or ``withdrawn``). One
  withdrawn after ``t`` is open at ``t``. An application never received is never open.
- *On time / late (rule 3), withdrawn.* A withdrawal is an end: withdrawn by ``t`` after the
  effective deadline is late, before it on time (rule 3 read literally). Such applications stay
  in the denominator, received in the period.
- *Supplement intervals (rule 1).* Each request runs to the next ``supplement_received`` after
  it, cut at the end, and at ``t`` for rule 3; overlapping intervals (two requests before one
  reply) count their union once. Requests after the end, or after ``t``, add no waiting time;
  "more than one request" (rule 3) counts every request made by ``t``, even after the end.
- *Overdue and due soon (rule 3, "at now").* Over every open application at ``now`` in the unit
  and filters, whatever the period: overdue when ``now`` is past its effective deadline at ``now``;
  due soon when not overdue and the effective deadline is at most 24 h after ``now``. An
  application waiting for a supplement counts as due soon if its (paused) deadline is that close.
  More than one supplement request makes an application late for ``on_time_rate``, not overdue.
- *Open count.* ``open`` counts applications open at ``t`` received at any time (the backlog at
  the period's end), not only those received in the period.
- *Full online (table).* "Offered ``full``" is the ``online_level`` of the application's earliest
  ``submitted`` (rule 1), not today's catalog.
- *Digitization (rule 5).* "Approved" and both ``digitized`` events are taken by ``t``; a
  procedure missing from the catalog has no document result.
- *Electronic results.* ``e_result_rate`` counts resolved applications whose result is
  ``approved`` (refusals, stops and intake refusals produce no result document), of procedures
  whose catalog entry has ``result_is_document``; the numerator has ``e_result`` true.
- *Payments (rule 6) and ratings (rule 7).* All ``paid`` and ``rated`` events of the application
  count, whatever their time (rules 6 and 7 say no "by t"); the latest rating is the last in
  ``(occurred_at, event_id)`` order. Lateness in rule 7 is rule 3's, at ``t``.
- *Average (rule 8).* Over applications resolved in the period that have a ``received``; dates
  are local; supplement intervals are cut at the end. A resolution before receipt counts 0 days.
- *Filters.* ``agency_code``, ``procedure_code``, ``sector`` (from the catalog; an unknown
  procedure matches no sector) and ``channel`` restrict the applications of every KPI, as a
  ``WHERE`` would. Under a channel filter the channel KPIs become trivial (``online`` gives an
  online submission rate of 100 % or no data) and an application whose ``submitted`` has not
  arrived matches no channel. ``services_with_online_apps_rate`` restricts its procedures by
  ``procedure_code`` and ``sector``; ``agency_code`` and ``channel`` act only on the applications
  of its numerator.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel

from kpi.model import COUNTRY, Filters, KpiValue
from kpi.registry import all_kpis, ratio
from kpi.workdays import WorkCalendar
from refdata.model import Procedure, ReferenceData, Unit

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
DUE_SOON = timedelta(hours=24)
CHANNELS = ("online", "in_person", "postal")
_LEVEL_RANK = {"province": 0, "district": 1, "commune": 2}


@dataclass(frozen=True)
class _Event:
    event_id: str
    event_type: str
    occurred_at: datetime
    application_id: str
    procedure_code: str
    agency_code: str
    unit_code: str
    fields: Mapping[str, Any]


def compute(
    events: Iterable[BaseModel | Mapping[str, Any]],
    refdata: ReferenceData,
    unit_code: str,
    start: date,
    end: date,
    *,
    now: datetime,
    filters: Filters = Filters(),
    calendar: WorkCalendar | None = None,
) -> dict[str, KpiValue]:
    """Every KPI of the registry for ``unit_code`` and its descendants over ``[start, end)``.

    ``events`` are contract events (``ingest.contract`` models, or their JSON objects as dicts),
    in any order, possibly repeated. ``now`` must be time-zone aware.
    """
    if now.tzinfo is None:
        msg = f"now should be time-zone aware, got {now!r}"
        raise ValueError(msg)
    if end < start:
        msg = f"the period [{start}, {end}) ends before it starts"
        raise ValueError(msg)
    units = {u.code: u for u in refdata.units}
    if unit_code not in units and unit_code != COUNTRY:
        msg = f"unknown unit {unit_code!r}: not in the reference data"
        raise ValueError(msg)
    calendar = calendar or WorkCalendar(refdata.holidays)
    catalog = {p.code: p for p in refdata.procedures}

    # Rule 2: periods are half-open in local time; t = min(end, now).
    period_start = datetime.combine(start, time(), TZ)
    period_end = datetime.combine(end, time(), TZ)
    t = min(period_end, now)

    in_unit = refdata.unit_codes if unit_code == COUNTRY else refdata.subtree({unit_code})
    apps = [
        app
        for app in _applications(events)
        if _code(app, "unit_code") in in_unit and _matches(app, filters, catalog)
    ]

    def received_in_period(app: list[_Event]) -> bool:
        received = _first(app, "received")
        return received is not None and period_start <= received.occurred_at < period_end

    def resolved_in_period(app: list[_Event]) -> bool:
        resolved = _resolution(app)
        return resolved is not None and period_start <= resolved.occurred_at < period_end

    received = [app for app in apps if received_in_period(app)]
    resolved = [app for app in apps if resolved_in_period(app)]
    open_at_t = [app for app in apps if _is_open(app, t)]
    open_now = [app for app in apps if _is_open(app, now)]

    values: list[KpiValue] = [
        _ratio_of("online_submission_rate", received, lambda a: _channel(a) == "online"),
        _ratio_of(
            "full_online_rate",
            received,
            lambda a: _channel(a) == "online" and _submitted_field(a, "online_level") == "full",
        ),
        _ratio_of("online_resolution_rate", resolved, lambda a: _channel(a) == "online"),
        _services_with_online_apps(apps, received, units.get(unit_code), catalog, filters),
        _ratio_of("on_time_rate", received, lambda a: not _is_late(a, t)),
        _count_of("overdue_open", [a for a in open_now if now > _effective_deadline(a, now)]),
        _count_of(
            "due_soon_open",
            [a for a in open_now if now <= _effective_deadline(a, now) <= now + DUE_SOON],
        ),
        _average_days(resolved, calendar),
        _ratio_of("digitization_rate", received, lambda a: _is_digitized(a, t, catalog)),
        _e_result(resolved, catalog),
        _ratio_of("data_reuse_rate", received, lambda a: _submitted_field(a, "reused_data") is True),
        _ratio_of("vneid_rate", received, lambda a: _submitted_field(a, "vneid_authenticated") is True),
        _online_payment(received),
        _satisfaction(received, t),
        _count_of("received", received),
        *(_count_of(f"received_{c}", [a for a in received if _channel(a) == c]) for c in CHANNELS),
        _count_of("resolved", resolved),
        *(_count_of(f"resolved_{c}", [a for a in resolved if _channel(a) == c]) for c in CHANNELS),
        _count_of("open", open_at_t),
        *(_count_of(f"open_{c}", [a for a in open_at_t if _channel(a) == c]) for c in CHANNELS),
    ]
    result = {v.key: v for v in values}
    missing = {k.key for k in all_kpis()} ^ set(result)
    if missing:  # pragma: no cover - the registry and this module must move together
        msg = f"reference and registry disagree on {sorted(missing)}"
        raise RuntimeError(msg)
    return result


def needing_action(
    events: Iterable[BaseModel | Mapping[str, Any]],
    refdata: ReferenceData,
    unit_code: str,
    *,
    now: datetime,
    filters: Filters = Filters(),
) -> dict[str, tuple[str, datetime]]:
    """The applications ``overdue_open`` and ``due_soon_open`` count (rule 3, at ``now``).

    By application id: ``"overdue"`` or ``"due_soon"``, and the effective deadline at ``now``.
    """
    if now.tzinfo is None:
        msg = f"now should be time-zone aware, got {now!r}"
        raise ValueError(msg)
    catalog = {p.code: p for p in refdata.procedures}
    in_unit = refdata.unit_codes if unit_code == COUNTRY else refdata.subtree({unit_code})
    found: dict[str, tuple[str, datetime]] = {}
    for app in _applications(events):
        if _code(app, "unit_code") not in in_unit or not _matches(app, filters, catalog):
            continue
        if not _is_open(app, now):
            continue
        deadline = _effective_deadline(app, now)
        if now > deadline:
            found[app[0].application_id] = ("overdue", deadline)
        elif deadline <= now + DUE_SOON:
            found[app[0].application_id] = ("due_soon", deadline)
    return found


# --- Events into applications (rule 1) -------------------------------------------------------


def _normalise(event: BaseModel | Mapping[str, Any]) -> _Event:
    fields = event.model_dump() if isinstance(event, BaseModel) else dict(event)
    occurred_at = _timestamp(fields["occurred_at"])
    if "due_at" in fields:
        fields["due_at"] = _timestamp(fields["due_at"])
    return _Event(
        event_id=str(fields["event_id"]),
        event_type=str(fields["event_type"]),
        occurred_at=occurred_at,
        application_id=str(fields["application_id"]),
        procedure_code=str(fields["procedure_code"]),
        agency_code=str(fields["agency_code"]),
        unit_code=str(fields["unit_code"]),
        fields=fields,
    )


def _timestamp(value: object) -> datetime:
    at = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if at.tzinfo is None:
        msg = f"timestamps should carry an offset, got {value!r}"
        raise ValueError(msg)
    return at


def _applications(events: Iterable[BaseModel | Mapping[str, Any]]) -> list[list[_Event]]:
    """Each application's events, once per ``event_id``, in ``(occurred_at, event_id)`` order."""
    seen: set[str] = set()
    by_app: dict[str, list[_Event]] = {}
    for raw in events:
        event = _normalise(raw)
        if event.event_id in seen:  # rule 1: duplicates count once
            continue
        seen.add(event.event_id)
        by_app.setdefault(event.application_id, []).append(event)
    return [sorted(evs, key=lambda e: (e.occurred_at, e.event_id)) for evs in by_app.values()]


def _first(app: list[_Event], event_type: str) -> _Event | None:
    return next((e for e in app if e.event_type == event_type), None)


def _end(app: list[_Event]) -> _Event | None:
    """Rule 1: the earliest ``resolved`` or ``withdrawn``."""
    return next((e for e in app if e.event_type in ("resolved", "withdrawn")), None)


def _resolution(app: list[_Event]) -> _Event | None:
    """The end when it is a ``resolved`` (rule 1: result and ``e_result`` come from it)."""
    end = _end(app)
    return end if end is not None and end.event_type == "resolved" else None


def _code(app: list[_Event], name: str) -> str:
    origin = _first(app, "submitted") or app[0]
    return str(getattr(origin, name))


def _submitted_field(app: list[_Event], name: str) -> object:
    """Rule 1: channel, online level, VNeID and data reuse from the earliest ``submitted``."""
    submitted = _first(app, "submitted")
    if submitted is None:
        return None
    return submitted.fields.get(name, False)


def _channel(app: list[_Event]) -> object:
    return _submitted_field(app, "channel")


def _received_at(app: list[_Event]) -> datetime | None:
    received = _first(app, "received")
    return received.occurred_at if received else None


def _due_at(app: list[_Event]) -> datetime | None:
    """Rule 1: ``due_at`` from the earliest ``received``."""
    received = _first(app, "received")
    return _timestamp(received.fields["due_at"]) if received else None


def _supplement_intervals(app: list[_Event], cut: datetime) -> list[tuple[datetime, datetime]]:
    """Rule 1: each request paired with the next reply after it; unanswered up to the end or ``cut``."""
    end = _end(app)
    stop = min(cut, end.occurred_at) if end else cut
    intervals = []
    for i, event in enumerate(app):
        if event.event_type != "supplement_requested":
            continue
        reply = next((e for e in app[i + 1 :] if e.event_type == "supplement_received"), None)
        closes = min(reply.occurred_at, stop) if reply else stop
        if closes > event.occurred_at:
            intervals.append((event.occurred_at, closes))
    return intervals


def _union_length(intervals: list[tuple[datetime, datetime]]) -> timedelta:
    total = timedelta()
    reach: datetime | None = None
    for a, b in sorted(intervals):
        if reach is not None and a < reach:
            a = reach  # noqa: PLW2901 - only the part beyond what is already counted
        if b > a:
            total += b - a
            reach = b
    return total


# --- Rules 3, 5 -------------------------------------------------------------------------------


def _happened_by(event: _Event | None, t: datetime) -> bool:
    return event is not None and event.occurred_at < t


def _is_open(app: list[_Event], t: datetime) -> bool:
    return _happened_by(_first(app, "received"), t) and not _happened_by(_end(app), t)


def _effective_deadline(app: list[_Event], t: datetime) -> datetime:
    """Rule 3: ``due_at`` + the supplement waiting time up to ``t``."""
    due_at = _due_at(app)
    if due_at is None:  # pragma: no cover - only received applications are asked
        msg = "an application without 'received' has no deadline"
        raise ValueError(msg)
    return due_at + _union_length(_supplement_intervals(app, t))


def _is_late(app: list[_Event], t: datetime) -> bool:
    """Rule 3, at ``t``."""
    requests = [e for e in app if e.event_type == "supplement_requested" and _happened_by(e, t)]
    if len(requests) > 1:
        return True
    deadline = _effective_deadline(app, t)
    end = _end(app)
    if end is not None and _happened_by(end, t):
        return end.occurred_at > deadline
    return t > deadline


def _is_digitized(app: list[_Event], t: datetime, catalog: Mapping[str, Procedure]) -> bool:
    """Rule 5, by ``t``."""
    digitized = {e.fields["target"] for e in app if e.event_type == "digitized" and _happened_by(e, t)}
    if "application" not in digitized:
        return False
    resolution = _resolution(app)
    approved = (
        resolution is not None and _happened_by(resolution, t) and resolution.fields["result"] == "approved"
    )
    procedure = catalog.get(_code(app, "procedure_code"))
    if approved and procedure is not None and procedure.result_is_document:
        return "result" in digitized
    return True


# --- KPIs -------------------------------------------------------------------------------------


def _ratio_of(key: str, population: list[list[_Event]], counts: Callable[[list[_Event]], bool]) -> KpiValue:
    numerator = sum(1 for app in population if counts(app))
    return KpiValue(key, numerator, len(population), ratio(numerator, len(population)))


def _count_of(key: str, population: list[list[_Event]]) -> KpiValue:
    return KpiValue(key, len(population), None, len(population))


def _services_with_online_apps(
    apps: list[list[_Event]],
    received: list[list[_Event]],
    unit: Unit | None,
    catalog: Mapping[str, Procedure],
    filters: Filters,
) -> KpiValue:
    """Rule 4; the country (``unit`` None) offers every online procedure."""
    offered = {
        p.code
        for p in catalog.values()
        if p.online_level in ("full", "partial")
        and (unit is None or _LEVEL_RANK[p.level] >= _LEVEL_RANK[unit.level])
        and filters.procedure_code in (None, p.code)
        and filters.sector in (None, p.sector)
    }
    used = {_code(a, "procedure_code") for a in received if _channel(a) == "online"} & offered
    return KpiValue("services_with_online_apps_rate", len(used), len(offered), ratio(len(used), len(offered)))


def _average_days(resolved: list[list[_Event]], calendar: WorkCalendar) -> KpiValue:
    """Rule 8."""
    total, count = 0, 0
    for app in resolved:
        received_at = _received_at(app)
        resolution = _resolution(app)
        if received_at is None or resolution is None:
            continue
        supplements = [
            (_local_date(a), _local_date(b)) for a, b in _supplement_intervals(app, resolution.occurred_at)
        ]
        total += calendar.working_days_between(
            _local_date(received_at), _local_date(resolution.occurred_at), supplements
        )
        count += 1
    return KpiValue("avg_processing_days", total, count, ratio(total, count))


def _e_result(resolved: list[list[_Event]], catalog: Mapping[str, Procedure]) -> KpiValue:
    def documented_approval(app: list[_Event]) -> bool:
        procedure = catalog.get(_code(app, "procedure_code"))
        resolution = _resolution(app)
        return (
            procedure is not None
            and procedure.result_is_document
            and resolution is not None
            and resolution.fields["result"] == "approved"
        )

    def electronic(app: list[_Event]) -> bool:
        resolution = _resolution(app)
        return resolution is not None and resolution.fields.get("e_result") is True

    return _ratio_of("e_result_rate", [a for a in resolved if documented_approval(a)], electronic)


def _online_payment(received: list[list[_Event]]) -> KpiValue:
    """Rule 6."""

    def payments(app: list[_Event]) -> list[_Event]:
        return [e for e in app if e.event_type == "paid"]

    def paid_online(app: list[_Event]) -> bool:
        return any(e.fields["online"] is True and int(e.fields["amount_vnd"]) > 0 for e in payments(app))

    with_fee = [a for a in received if sum(int(e.fields["amount_vnd"]) for e in payments(a)) > 0]
    return _ratio_of("online_payment_rate", with_fee, paid_online)


def _satisfaction(received: list[list[_Event]], t: datetime) -> KpiValue:
    """Rule 7: 1 - (late or latest rating 1-2, each once) ÷ received."""

    def unsatisfied(app: list[_Event]) -> bool:
        ratings = [e for e in app if e.event_type == "rated"]
        return bool(ratings) and int(ratings[-1].fields["score"]) <= 2

    bad = sum(1 for a in received if _is_late(a, t) or unsatisfied(a))
    good = len(received) - bad
    return KpiValue("satisfaction_rate", good, len(received), ratio(good, len(received)))


# --- Scope ------------------------------------------------------------------------------------


def _matches(app: list[_Event], filters: Filters, catalog: Mapping[str, Procedure]) -> bool:
    procedure_code = _code(app, "procedure_code")
    procedure = catalog.get(procedure_code)
    return (
        filters.agency_code in (None, _code(app, "agency_code"))
        and filters.procedure_code in (None, procedure_code)
        and (filters.sector is None or (procedure is not None and procedure.sector == filters.sector))
        and (filters.channel is None or _channel(app) == filters.channel)
    )


def _local_date(at: datetime) -> date:
    return at.astimezone(TZ).date()
