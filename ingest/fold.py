"""An application's current state, folded from all its events in any arrival order.

The fold is pure and deterministic: events are taken in ``(occurred_at, event_id)``
order, so the same set of events gives the same state however they arrived (DOMAIN.md
§3, "precise rules", 1): channel, online level, VNeID and data reuse from the earliest
``submitted``; received and due times from the earliest ``received``; the end is the
earliest ``resolved`` or ``withdrawn``, with result and ``e_result`` from that
``resolved``; each ``supplement_requested`` opens a waiting period (unless one is open)
that the next ``supplement_received`` closes; the latest rating counts. Codes (unit,
agency, procedure) come from the earliest ``submitted``, else from the earliest event.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class StoredEvent:
    """An accepted event as the fold needs it; ``attrs`` holds the type's own fields."""

    event_id: str
    event_type: str
    occurred_at: datetime
    application_id: str
    procedure_code: str
    agency_code: str
    unit_code: str
    attrs: Mapping[str, Any]


@dataclass(frozen=True)
class ApplicationState:
    application_id: str
    procedure_code: str
    agency_code: str
    unit_code: str
    channel: str | None
    online_level: str | None
    vneid_authenticated: bool | None
    reused_data: bool | None
    submitted_at: datetime | None
    received_at: datetime | None
    due_at: datetime | None
    supplement_requests: int
    supplement_requested_at: tuple[datetime, ...]  # every request, in order (rule 3 asks "by t")
    supplement_periods: tuple[tuple[datetime, datetime | None], ...]
    ended_at: datetime | None
    end_kind: str | None
    result: str | None
    e_result: bool | None
    returned_at: datetime | None
    return_channel: str | None
    paid_vnd: int
    paid_online: bool
    application_digitized_at: datetime | None
    result_digitized_at: datetime | None
    rating: int | None
    events: int
    last_event_at: datetime
    last_event_id: str
    received_day: date | None
    resolved_day: date | None
    withdrawn_day: date | None


def fold(events: Iterable[StoredEvent], tz: ZoneInfo) -> ApplicationState:
    """The state of one application from its events (at least one, duplicates removed)."""
    ordered = sorted(events, key=order)
    if not ordered:
        msg = "fold() needs at least one event"
        raise ValueError(msg)
    return advance(None, ordered, tz)


def order(event: StoredEvent) -> tuple[datetime, str]:
    """The fold's order of events: by time, then by id."""
    return event.occurred_at, event.event_id


def advance(state: ApplicationState | None, later: Iterable[StoredEvent], tz: ZoneInfo) -> ApplicationState:
    """``state`` with ``later`` applied, in order; each must come after the state's last event.

    ``fold(events) == advance(fold(first), rest)`` whenever every event of ``rest`` sorts
    after every event of ``first``: the fold is a left fold, and the state keeps all it
    needs to go on (the open supplement period is the last one, with no upper bound).
    """
    fields: dict[str, Any] = dict(state.__dict__) if state is not None else {}
    periods = list(fields.get("supplement_periods", ()))
    for event in later:
        if not fields:
            fields = _start(event)
        _apply(fields, periods, event, tz)
    fields["supplement_periods"] = tuple(periods)
    return ApplicationState(**fields)


def _start(event: StoredEvent) -> dict[str, Any]:
    return {
        "application_id": event.application_id,
        "procedure_code": event.procedure_code,
        "agency_code": event.agency_code,
        "unit_code": event.unit_code,
        "channel": None,
        "online_level": None,
        "vneid_authenticated": None,
        "reused_data": None,
        "submitted_at": None,
        "received_at": None,
        "due_at": None,
        "supplement_requests": 0,
        "supplement_requested_at": (),
        "ended_at": None,
        "end_kind": None,
        "result": None,
        "e_result": None,
        "returned_at": None,
        "return_channel": None,
        "paid_vnd": 0,
        "paid_online": False,
        "application_digitized_at": None,
        "result_digitized_at": None,
        "rating": None,
        "events": 0,
        "last_event_at": event.occurred_at,
        "last_event_id": event.event_id,
        "received_day": None,
        "resolved_day": None,
        "withdrawn_day": None,
    }


def _apply(  # noqa: PLR0912 - one branch per event type, as in DOMAIN.md
    fields: dict[str, Any], periods: list[tuple[datetime, datetime | None]], event: StoredEvent, tz: ZoneInfo
) -> None:
    kind, at, attrs = event.event_type, event.occurred_at, event.attrs
    fields["events"] += 1
    fields["last_event_at"], fields["last_event_id"] = at, event.event_id
    if kind == "submitted" and fields["submitted_at"] is None:
        fields.update(
            procedure_code=event.procedure_code,  # codes come from the earliest submitted
            agency_code=event.agency_code,
            unit_code=event.unit_code,
            channel=attrs["channel"],
            online_level=attrs["online_level"],
            vneid_authenticated=bool(attrs.get("vneid_authenticated", False)),
            reused_data=bool(attrs.get("reused_data", False)),
            submitted_at=at,
        )
    elif kind == "received" and fields["received_at"] is None:
        fields.update(received_at=at, due_at=_datetime(attrs["due_at"]), received_day=_day(at, tz))
    elif kind in ("resolved", "withdrawn") and fields["ended_at"] is None:
        fields.update(ended_at=at, end_kind=kind)
        if kind == "resolved":
            fields.update(result=attrs["result"], e_result=bool(attrs.get("e_result", False)))
            fields["resolved_day"] = _day(at, tz)
        else:
            fields["withdrawn_day"] = _day(at, tz)
    elif kind == "result_returned" and fields["returned_at"] is None:
        fields.update(returned_at=at, return_channel=attrs["channel"])
    elif kind == "paid":
        amount = int(attrs["amount_vnd"])
        fields["paid_vnd"] += amount
        fields["paid_online"] = fields["paid_online"] or bool(attrs["online"] and amount > 0)
    elif kind == "digitized":
        target = f"{attrs['target']}_digitized_at"  # application_… or result_digitized_at
        if fields[target] is None:
            fields[target] = at
    elif kind == "rated":
        fields["rating"] = int(attrs["score"])  # the latest rating counts
    elif kind == "supplement_requested":
        fields["supplement_requests"] += 1
        fields["supplement_requested_at"] += (at,)
        if not periods or periods[-1][1] is not None:
            periods.append((at, None))
    elif kind == "supplement_received" and periods and periods[-1][1] is None:
        periods[-1] = (periods[-1][0], at)


def _day(at: datetime, tz: ZoneInfo) -> date:
    return at.astimezone(tz).date()


def _datetime(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
