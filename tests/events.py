"""Valid application events for tests, built as the contract's JSON and decoded by it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from ingest.contract import Decoded, decode

UNITS = frozenset({"01", "001", "00001", "00002", "79"})
NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)

EXTRA: dict[str, dict[str, Any]] = {
    "submitted": {"channel": "online", "online_level": "full", "vneid_authenticated": True},
    "received": {},
    "supplement_requested": {},
    "supplement_received": {},
    "resolved": {"result": "approved", "e_result": True},
    "withdrawn": {},
    "result_returned": {"channel": "postal"},
    "paid": {"amount_vnd": 50_000, "online": True},
    "digitized": {"target": "application"},
    "rated": {"score": 2},
}


def event_json(
    event_type: str,
    application_id: str,
    at: datetime,
    *,
    event_id: str | None = None,
    unit: str = "00001",
    **extra: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "schema_version": 1,
        "event_id": event_id or f"{application_id}-{event_type}-{at.isoformat()}",
        "event_type": event_type,
        "occurred_at": at.isoformat(),
        "application_id": application_id,
        "procedure_code": "1.001",
        "agency_code": "C00001.UBND",
        "unit_code": unit,
        **EXTRA[event_type],
        **extra,
    }
    if event_type == "received" and "due_at" not in body:
        body["due_at"] = (at + timedelta(days=3)).isoformat()
    return body


def decoded(body: dict[str, Any]) -> Decoded:
    result = decode(json.dumps(body).encode(), now=NOW + timedelta(days=3650), unit_codes=UNITS)
    assert isinstance(result, Decoded), result
    return result
