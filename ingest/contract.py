"""Application events, schema version 1 (DESIGN.md §2), and their strict decoding.

One JSON object per Kafka message. ``decode`` turns a message value into an ``Event``
or a ``Rejection`` with a precise reason; it never raises for bad input, so a poison
message cannot stop a consumer. Unknown fields are kept (in ``Event.payload``); an
unknown ``schema_version`` or ``event_type``, a missing field, a wrong type, a
timestamp without offset or outside the years 1900..9000, an unknown unit, agency or procedure
code, an ``occurred_at`` too far in the future or older than the retention, an oversize or
non-UTF-8 message is rejected.

The published JSON Schema (``ingest/schema/event-v1.schema.json``) is generated from
these models by ``json_schema()``; a test keeps the file in step.
"""

from __future__ import annotations

import json
from collections.abc import Container
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
)

SCHEMA_VERSION = 1
MAX_MESSAGE_BYTES = 64 * 1024
DEFAULT_MAX_FUTURE_SKEW = timedelta(minutes=5)
# Any instant we store is later put into local days and moved by days; at the edges of Python's
# datetime (years 1 and 9999, with offsets up to ±24 h) that overflows, a poison pill for ingest.
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
# An application's fees are summed into a bigint (at most 9.2e18); one fee above a million
# billion đồng is a mistake, and a larger one would fail the batch's write at every retry.
MAX_AMOUNT_VND = 10**15
LATEST = datetime(9000, 1, 1, tzinfo=UTC)

EventType = Literal[
    "submitted",
    "received",
    "supplement_requested",
    "supplement_received",
    "resolved",
    "withdrawn",
    "result_returned",
    "paid",
    "digitized",
    "rated",
]
EVENT_TYPES: tuple[str, ...] = EventType.__args__  # type: ignore[attr-defined]
Channel = Literal["online", "in_person", "postal"]
Code = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9._/-]+$")]
Id = Annotated[str, Field(min_length=1, max_length=64)]


class _Base(BaseModel):
    model_config = ConfigDict(strict=True, extra="allow", frozen=True)

    schema_version: Literal[1]
    event_id: Id
    occurred_at: AwareDatetime
    application_id: Id
    procedure_code: Code
    agency_code: Code
    unit_code: Code

    @field_validator("schema_version", mode="before")
    @classmethod
    def _not_a_boolean(cls, value: object) -> object:
        # JSON true equals 1 in Python; the version is a number, never a boolean.
        if isinstance(value, bool):
            msg = f"unknown version {value!r}"
            raise ValueError(msg)
        return value


class Submitted(_Base):
    event_type: Literal["submitted"]
    channel: Channel
    online_level: Literal["full", "partial", "none"]
    vneid_authenticated: bool = False
    reused_data: bool = False


class Received(_Base):
    event_type: Literal["received"]
    due_at: AwareDatetime


class SupplementRequested(_Base):
    event_type: Literal["supplement_requested"]


class SupplementReceived(_Base):
    event_type: Literal["supplement_received"]


class Resolved(_Base):
    event_type: Literal["resolved"]
    result: Literal["approved", "refused", "not_accepted", "stopped"]
    e_result: bool = False


class Withdrawn(_Base):
    event_type: Literal["withdrawn"]


class ResultReturned(_Base):
    event_type: Literal["result_returned"]
    channel: Channel


class Paid(_Base):
    event_type: Literal["paid"]
    amount_vnd: Annotated[int, Field(ge=0)]
    online: bool


class Digitized(_Base):
    event_type: Literal["digitized"]
    target: Literal["application", "result"]


class Rated(_Base):
    event_type: Literal["rated"]
    score: Annotated[int, Field(ge=1, le=5)]


Event = Annotated[
    Submitted
    | Received
    | SupplementRequested
    | SupplementReceived
    | Resolved
    | Withdrawn
    | ResultReturned
    | Paid
    | Digitized
    | Rated,
    Field(discriminator="event_type"),
]
_EVENT: TypeAdapter[Event] = TypeAdapter(Event)


@dataclass(frozen=True)
class Rejection:
    """Why a message is a dead letter."""

    reason: str


@dataclass(frozen=True)
class Decoded:
    """An accepted event and the JSON text it came from (unknown fields included)."""

    event: Event
    payload: str


def json_schema() -> dict[str, Any]:
    """The JSON Schema of version 1, as published in ``ingest/schema/``."""
    schema = _EVENT.json_schema()
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "urn:ioc:application-event:v1",
        "title": "Application event, schema version 1",
        **schema,
    }


def decode(  # noqa: PLR0911 - one return per kind of rejection
    value: bytes | None,
    *,
    now: datetime,
    unit_codes: Container[str],
    agency_codes: Container[str] | None = None,
    procedure_codes: Container[str] | None = None,
    max_future_skew: timedelta = DEFAULT_MAX_FUTURE_SKEW,
    max_age: timedelta | None = None,
    max_bytes: int = MAX_MESSAGE_BYTES,
) -> Decoded | Rejection:
    """Decode one message value; never raises for bad input.

    ``agency_codes`` and ``procedure_codes`` are checked when given. ``max_age`` (the
    retention) rejects events older than the store keeps: retention would delete them
    while their application's state and rollups still counted them.
    """
    if value is None:
        return Rejection("empty message (no value)")
    if len(value) > max_bytes:
        return Rejection(f"message of {len(value)} bytes exceeds the limit of {max_bytes}")
    try:
        text = value.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Rejection(f"not UTF-8: invalid byte at position {exc.start}")
    try:
        event = _EVENT.validate_json(text, strict=True)
    except ValidationError as exc:
        return _explain(text, exc)
    for field, codes in (
        ("unit_code", unit_codes),
        ("agency_code", agency_codes),
        ("procedure_code", procedure_codes),
    ):
        code = getattr(event, field)
        if codes is not None and code not in codes:
            return Rejection(f"{field}: unknown code {code!r}")
    if isinstance(event, Paid) and event.amount_vnd > MAX_AMOUNT_VND:
        return Rejection(f"amount_vnd: more than {MAX_AMOUNT_VND:,} đồng")
    if "\\u0000" in text and _holds_nul(text):
        return Rejection("a string holds a NUL character (\\u0000), which PostgreSQL cannot store")
    for field in ("occurred_at", "due_at"):
        instant = getattr(event, field, None)
        if isinstance(instant, datetime) and not EARLIEST <= instant <= LATEST:  # not an unknown field
            return Rejection(f"{field}: {instant.isoformat()} is outside {EARLIEST.year}..{LATEST.year}")
    if event.occurred_at > now + max_future_skew:
        ahead = event.occurred_at - now
        return Rejection(f"occurred_at: {ahead} in the future (more than the allowed {max_future_skew})")
    if max_age is not None and event.occurred_at < now - max_age:
        return Rejection(f"occurred_at: older than the retention of {max_age.days} days (IOC_RETENTION_DAYS)")
    return Decoded(event, text)


def _holds_nul(text: str) -> bool:
    """Whether a NUL is in any string or key of valid JSON ``text`` (not merely an escaped
    backslash followed by ``u0000``): text and jsonb refuse it, and a batch holding it would fail
    again at every retry. Only read when the escape appears, which is rare."""
    try:
        found = json.loads(text, parse_int=str, object_pairs_hook=lambda pairs: [*pairs])
    except (ValueError, RecursionError):
        return True
    pending = [found]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, list | tuple):
            pending.extend(item)
    return False


def _explain(text: str, exc: ValidationError) -> Rejection:
    """The reason for a failed validation: syntax, shape, version and type first."""
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as err:
        return Rejection(f"not JSON: {err.msg}")
    except RecursionError:
        return Rejection("not JSON: nested too deeply")
    except ValueError:  # Python refuses integers of more than 4300 digits (int_max_str_digits)
        return Rejection("a number has too many digits")
    if not isinstance(obj, dict):
        return Rejection(f"expected a JSON object, got {type(obj).__name__}")
    return _check_shape(obj) or Rejection(_describe(exc))


def _check_shape(obj: dict[str, Any]) -> Rejection | None:
    version = obj.get("schema_version")
    if "schema_version" not in obj:
        return Rejection("schema_version: missing")
    if version != SCHEMA_VERSION or isinstance(version, bool):
        return Rejection(f"schema_version: unknown version {version!r} (this system reads {SCHEMA_VERSION})")
    event_type = obj.get("event_type")
    if "event_type" not in obj:
        return Rejection("event_type: missing")
    if event_type not in EVENT_TYPES:
        return Rejection(f"event_type: unknown type {event_type!r}")
    return None


def _describe(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors(include_url=False)[:3]:
        location = ".".join(str(p) for p in error["loc"][1:] or error["loc"])
        given = error.get("input")
        shown = "" if error["type"] == "missing" else f" (got {_shown(given)})"
        parts.append(f"{location}: {error['msg']}{shown}")
    more = exc.error_count() - len(parts)
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")


def _shown(given: object) -> str:
    """The start of an offending value, for the reason; any value, however odd, can be shown."""
    try:
        return json.dumps(given, default=str)[:60]
    except (ValueError, RecursionError):  # an integer of thousands of digits, deep nesting
        return f"a {type(given).__name__}"


SCHEMA_FILE = Path(__file__).parent / "schema" / "event-v1.schema.json"


def schema_text() -> str:
    """The published schema file's exact text (``python -m ingest.contract`` rewrites it)."""
    return json.dumps(json_schema(), indent=2, ensure_ascii=False, sort_keys=True) + "\n"


if __name__ == "__main__":
    SCHEMA_FILE.write_text(schema_text(), encoding="utf-8")
