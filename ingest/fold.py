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
    received_day: date | None
    resolved_day: date | None
    withdrawn_day: date | None


def fold(events: Iterable[StoredEvent], tz: ZoneInfo) -> ApplicationState:
    """The state of one application from its events (at least one, duplicates removed)."""
    ordered = sorted(events, key=lambda e: (e.occurred_at, e.event_id))
    if not ordered:
        msg = "fold() needs at least one event"
        raise ValueError(msg)
    first: dict[str, StoredEvent] = {}
    for event in ordered:
        first.setdefault(event.event_type, event)
    submitted, received = first.get("submitted"), first.get("received")
    end = next((e for e in ordered if e.event_type in ("resolved", "withdrawn")), None)
    resolved = end if end is not None and end.event_type == "resolved" else None
    returned = first.get("result_returned")
    origin = submitted or ordered[0]
    ratings = [e for e in ordered if e.event_type == "rated"]
    payments = [e for e in ordered if e.event_type == "paid"]
    digitized = {e.attrs["target"]: e.occurred_at for e in reversed(ordered) if e.event_type == "digitized"}
    requests, periods = _supplements(ordered)

    def day(at: datetime | None) -> date | None:
        return at.astimezone(tz).date() if at is not None else None

    return ApplicationState(
        application_id=origin.application_id,
        procedure_code=origin.procedure_code,
        agency_code=origin.agency_code,
        unit_code=origin.unit_code,
        channel=submitted.attrs["channel"] if submitted else None,
        online_level=submitted.attrs["online_level"] if submitted else None,
        vneid_authenticated=bool(submitted.attrs.get("vneid_authenticated", False)) if submitted else None,
        reused_data=bool(submitted.attrs.get("reused_data", False)) if submitted else None,
        submitted_at=submitted.occurred_at if submitted else None,
        received_at=received.occurred_at if received else None,
        due_at=_datetime(received.attrs["due_at"]) if received else None,
        supplement_requests=requests,
        supplement_periods=periods,
        ended_at=end.occurred_at if end else None,
        end_kind=end.event_type if end else None,
        result=resolved.attrs["result"] if resolved else None,
        e_result=bool(resolved.attrs.get("e_result", False)) if resolved else None,
        returned_at=returned.occurred_at if returned else None,
        return_channel=returned.attrs["channel"] if returned else None,
        paid_vnd=sum(int(e.attrs["amount_vnd"]) for e in payments),
        paid_online=any(e.attrs["online"] and int(e.attrs["amount_vnd"]) > 0 for e in payments),
        application_digitized_at=digitized.get("application"),
        result_digitized_at=digitized.get("result"),
        rating=int(ratings[-1].attrs["score"]) if ratings else None,
        events=len(ordered),
        last_event_at=ordered[-1].occurred_at,
        received_day=day(received.occurred_at if received else None),
        resolved_day=day(resolved.occurred_at if resolved else None),
        withdrawn_day=day(end.occurred_at if end is not None and end.event_type == "withdrawn" else None),
    )


def _supplements(ordered: list[StoredEvent]) -> tuple[int, tuple[tuple[datetime, datetime | None], ...]]:
    requests = 0
    periods: list[tuple[datetime, datetime | None]] = []
    opened: datetime | None = None
    for event in ordered:
        if event.event_type == "supplement_requested":
            requests += 1
            if opened is None:
                opened = event.occurred_at
        elif event.event_type == "supplement_received" and opened is not None:
            periods.append((opened, event.occurred_at))
            opened = None
    if opened is not None:
        periods.append((opened, None))
    return requests, tuple(periods)


def _datetime(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
