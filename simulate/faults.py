"""Faults a real feed has, injected into the event stream: the messages actually sent.

``--faults duplicates=0.01,reorder=0.05,late=0.01,malformed=0.001``; each rate is the
chance per event:

``duplicates``
    The same message (same ``event_id``, same bytes) is sent again 0-5 minutes later.
``reorder``
    The event is held back and sent right after the next event of the same application
    (so one partition carries that application's events out of order), or after two
    hours if that application has no next event by then.
``late``
    The event is held back 5 minutes to 6 hours (log-uniform); ``occurred_at`` stays.
``malformed``
    A broken message is sent besides the event (the event itself still goes), one of
    ``MALFORMED_KINDS`` in turn: not JSON, not UTF-8, a required field missing, a field
    of the wrong type, a timestamp without offset, an unknown event type, an unknown
    unit code, an ``occurred_at`` a year ahead, a value over 64 KiB. Every one is a
    dead letter for ``ingest.contract.decode``.

A message's ``at`` is when it is sent (never before its event's ``occurred_at``); the
output is in ``at`` order. The same seed gives the same faults.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, fields
from random import Random
from typing import Any, NamedTuple

from simulate.generate import SimEvent
from simulate.seeds import seeded
from simulate.wire import encode

MALFORMED_KINDS = (
    "non_json",
    "non_utf8",
    "missing_field",
    "wrong_type",
    "naive_timestamp",
    "unknown_event_type",
    "unknown_unit",
    "far_future",
    "oversize",
)
UNKNOWN_UNIT = "ZZ999"
DUPLICATE_DELAY_S = (0, 300)
LATE_DELAY_S = (300, 6 * 3600)
REORDER_MAX_HOLD_S = 2 * 3600
FAR_FUTURE_S = 365 * 86_400
OVERSIZE_BYTES = 66 * 1024


class Message(NamedTuple):
    """One Kafka message: when to send it, key, value, and what it is."""

    at: int  # epoch seconds
    key: bytes
    value: bytes
    event_type: str | None  # None for a malformed message
    fault: str  # "", "duplicate", "late", "reordered" or "malformed:<kind>"


@dataclass(frozen=True)
class Faults:
    """Chance per event of each fault (0 to 1)."""

    duplicates: float = 0.0
    reorder: float = 0.0
    late: float = 0.0
    malformed: float = 0.0

    @classmethod
    def parse(cls, spec: str) -> Faults:
        """``duplicates=0.01,reorder=0.05,late=0.01,malformed=0.001`` (any subset, or empty)."""
        known = {f.name for f in fields(cls)}
        values: dict[str, float] = {}
        for item in filter(None, (part.strip() for part in spec.split(","))):
            name, eq, raw = item.partition("=")
            name = name.strip()
            if not eq or name not in known:
                msg = f"bad fault {item!r}; expected name=rate with name one of {', '.join(sorted(known))}"
                raise ValueError(msg)
            try:
                rate = float(raw)
            except ValueError:
                rate = math.nan
            if not 0.0 <= rate <= 1.0:
                msg = f"fault {name}: the rate is a number from 0 to 1, got {raw.strip()!r}"
                raise ValueError(msg)
            values[name] = rate
        if values.get("reorder", 0.0) + values.get("late", 0.0) > 1.0:
            msg = "faults reorder + late cannot exceed 1"
            raise ValueError(msg)
        return cls(**values)

    def __str__(self) -> str:
        return ",".join(f"{f.name}={getattr(self, f.name):g}" for f in fields(self) if getattr(self, f.name))


NO_FAULTS = Faults()


def clean(events: Iterable[SimEvent]) -> Iterator[Message]:
    """The messages of ``events`` without faults."""
    for event in events:
        payload = event.payload
        yield Message(
            event.at, payload["application_id"].encode(), encode(payload), payload["event_type"], ""
        )


def inject(events: Iterable[SimEvent], faults: Faults, *, seed: int) -> Iterator[Message]:
    """The messages of ``events`` with ``faults``, in the order they are sent."""
    if faults == NO_FAULTS:
        yield from clean(events)
        return
    rng = seeded(seed, "faults")
    pending: list[tuple[int, int, Message]] = []  # (release at, sequence, message)
    holding: dict[bytes, tuple[int, Message]] = {}  # application → (sequence, held message)
    cancelled: set[int] = set()
    sequence = malformed_count = 0

    def hold(release: int, message: Message) -> int:
        nonlocal sequence
        sequence += 1
        heapq.heappush(pending, (release, sequence, message._replace(at=release)))
        return sequence

    def release(until: int | None) -> Iterator[Message]:
        while pending and (until is None or pending[0][0] <= until):
            _, number, message = heapq.heappop(pending)
            if number in cancelled:
                cancelled.discard(number)
                continue
            current = holding.get(message.key)
            if message.fault == "reordered" and current is not None and current[0] == number:
                del holding[message.key]
            yield message

    for event in events:
        yield from release(event.at)
        payload = event.payload
        message = Message(
            event.at, payload["application_id"].encode(), encode(payload), payload["event_type"], ""
        )
        fate, duplicate, broken = rng.random(), rng.random(), rng.random()
        held = holding.pop(message.key, None)
        if held is not None:
            yield message
            cancelled.add(held[0])
            yield held[1]._replace(at=event.at)
        elif fate < faults.reorder:
            number = hold(event.at + REORDER_MAX_HOLD_S, message._replace(fault="reordered"))
            holding[message.key] = (number, message._replace(fault="reordered"))
        elif fate < faults.reorder + faults.late:
            delay = int(math.exp(rng.uniform(*(math.log(s) for s in LATE_DELAY_S))))
            hold(event.at + delay, message._replace(fault="late"))
        else:
            yield message
        if duplicate < faults.duplicates:
            hold(event.at + rng.randint(*DUPLICATE_DELAY_S), message._replace(fault="duplicate"))
        if broken < faults.malformed:
            kind = MALFORMED_KINDS[malformed_count % len(MALFORMED_KINDS)]
            malformed_count += 1
            yield Message(event.at, message.key, malformed(kind, event, rng), None, f"malformed:{kind}")
        yield from release(event.at)
    yield from release(None)


def malformed(kind: str, event: SimEvent, rng: Random) -> bytes:  # noqa: PLR0911 - one per kind
    """A broken message of ``kind`` made from ``event``."""
    payload: dict[str, Any] = {**event.payload, "event_id": f"{event.payload['event_id']}-x"}
    if kind == "non_json":
        text = encode(payload)
        return text[: len(text) // 2]
    if kind == "non_utf8":  # a legacy system writing Latin-1
        return encode({**payload, "applicant": "Lê Văn Hà"}).decode().encode("latin-1", errors="replace")
    if kind == "missing_field":
        del payload[rng.choice(("event_id", "occurred_at", "application_id", "unit_code", "procedure_code"))]
        return encode(payload)
    if kind == "wrong_type":
        field = rng.choice(("occurred_at", "application_id", "procedure_code"))
        payload[field] = {"occurred_at": event.at, "application_id": 12345, "procedure_code": ["9.000101"]}[
            field
        ]
        return encode(payload)
    if kind == "naive_timestamp":
        payload["occurred_at"] = payload["occurred_at"][:19]
        return encode(payload)
    if kind == "unknown_event_type":
        payload["event_type"] = "approved"
        return encode(payload)
    if kind == "unknown_unit":
        payload["unit_code"] = UNKNOWN_UNIT
        return encode(payload)
    if kind == "far_future":
        occurred = payload["occurred_at"]
        year = int(occurred[:4]) + 1
        payload["occurred_at"] = (
            f"{year}{occurred[4:]}" if occurred[5:10] != "02-29" else f"{year}-03-01{occurred[10:]}"
        )
        return encode(payload)
    if kind == "oversize":
        payload["attachment"] = "A" * OVERSIZE_BYTES
        return encode(payload)
    msg = f"unknown malformed kind {kind!r}"
    raise ValueError(msg)
