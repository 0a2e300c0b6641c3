"""The event contract: the published schema, strict decoding, precise reasons, never a crash."""

from __future__ import annotations

import json
from datetime import timedelta

import jsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ingest.contract import EVENT_TYPES, SCHEMA_FILE, Decoded, Rejection, decode, schema_text
from tests.events import NOW, UNITS, event_json


def check(value: bytes) -> Decoded | Rejection:
    return decode(value, now=NOW, unit_codes=UNITS, agency_codes={"C00001.UBND"}, procedure_codes={"1.001"})


def test_the_published_schema_is_generated_from_the_models():
    assert SCHEMA_FILE.read_text(encoding="utf-8") == schema_text(), "run: python -m ingest.contract"


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_a_valid_event_of_each_type_passes_schema_and_decoder(event_type):
    body = event_json(event_type, "HS-1", NOW - timedelta(hours=1))
    jsonschema.validate(body, json.loads(SCHEMA_FILE.read_text()))
    outcome = check(json.dumps(body).encode())
    assert isinstance(outcome, Decoded)
    assert outcome.event.event_type == event_type


def test_unknown_fields_are_kept():
    body = {**event_json("rated", "HS-1", NOW), "comment": "Cán bộ nhiệt tình"}
    outcome = check(json.dumps(body, ensure_ascii=False).encode())
    assert isinstance(outcome, Decoded)
    assert json.loads(outcome.payload)["comment"] == "Cán bộ nhiệt tình"


def without(body: dict, field: str) -> dict:
    return {k: v for k, v in body.items() if k != field}


SUBMITTED = event_json("submitted", "HS-1", NOW - timedelta(hours=1))
RECEIVED = event_json("received", "HS-1", NOW - timedelta(hours=1))


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (None, "empty message"),
        (b"\xc3\x28", "not UTF-8: invalid byte at position 0"),
        (b"{" + b" " * 70_000 + b"}", "exceeds the limit of 65536"),
        (b'{"a": ', "not JSON"),
        (b'"text"', "expected a JSON object, got str"),
        (json.dumps(without(SUBMITTED, "schema_version")).encode(), "schema_version: missing"),
        (json.dumps({**SUBMITTED, "schema_version": 2}).encode(), "unknown version 2"),
        (json.dumps({**SUBMITTED, "schema_version": True}).encode(), "unknown version True"),
        (json.dumps(without(SUBMITTED, "event_type")).encode(), "event_type: missing"),
        (json.dumps({**SUBMITTED, "event_type": "approved"}).encode(), "event_type: unknown type 'approved'"),
        (json.dumps(without(SUBMITTED, "application_id")).encode(), "application_id: Field required"),
        (json.dumps({**SUBMITTED, "channel": "web"}).encode(), "channel: Input should be"),
        (json.dumps({**SUBMITTED, "event_id": 12}).encode(), "event_id: Input should be a valid string"),
        (json.dumps({**SUBMITTED, "event_id": "x" * 65}).encode(), "event_id: String should have at most 64"),
        (json.dumps({**SUBMITTED, "vneid_authenticated": "yes"}).encode(), "vneid_authenticated"),
        (
            json.dumps({**SUBMITTED, "occurred_at": "2026-11-27T08:00:00"}).encode(),
            "occurred_at: Input should have timezone info",
        ),
        (json.dumps({**RECEIVED, "due_at": "2026-11-30"}).encode(), "due_at"),
        (json.dumps({**SUBMITTED, "unit_code": "99999"}).encode(), "unit_code: unknown code '99999'"),
        (json.dumps({**SUBMITTED, "agency_code": "X.UBND"}).encode(), "agency_code: unknown code 'X.UBND'"),
        (json.dumps({**SUBMITTED, "procedure_code": "9.9"}).encode(), "procedure_code: unknown code '9.9'"),
        (
            json.dumps({**SUBMITTED, "occurred_at": (NOW + timedelta(hours=1)).isoformat()}).encode(),
            "in the future",
        ),
        (
            json.dumps(event_json("paid", "HS-1", NOW, amount_vnd=-1)).encode(),
            "amount_vnd: Input should be greater than or equal to 0",
        ),
        (
            json.dumps(event_json("rated", "HS-1", NOW, score=6)).encode(),
            "score: Input should be less than or equal to 5",
        ),
    ],
)
def test_bad_input_is_rejected_with_a_precise_reason(value, reason):
    outcome = check(value)
    assert isinstance(outcome, Rejection)
    assert reason in outcome.reason


def test_future_skew_is_configurable():
    body = json.dumps({**SUBMITTED, "occurred_at": (NOW + timedelta(minutes=3)).isoformat()}).encode()
    assert isinstance(check(body), Decoded)  # within the default 5 minutes
    tight = decode(body, now=NOW, unit_codes=UNITS, max_future_skew=timedelta(minutes=1))
    assert isinstance(tight, Rejection)


def test_events_older_than_the_retention_are_rejected():
    old = json.dumps({**SUBMITTED, "occurred_at": (NOW - timedelta(days=31)).isoformat()}).encode()
    assert isinstance(check(old), Decoded)  # no retention given: any age
    outcome = decode(old, now=NOW, unit_codes=UNITS, max_age=timedelta(days=30))
    assert isinstance(outcome, Rejection)
    assert outcome.reason == "occurred_at: older than the retention of 30 days (IOC_RETENTION_DAYS)"
    recent = json.dumps({**SUBMITTED, "occurred_at": (NOW - timedelta(days=29)).isoformat()}).encode()
    assert isinstance(decode(recent, now=NOW, unit_codes=UNITS, max_age=timedelta(days=30)), Decoded)


@given(st.binary(max_size=300))
def test_random_bytes_never_raise(value):
    assert isinstance(check(value), Rejection | Decoded)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)


@given(st.dictionaries(st.sampled_from(sorted(SUBMITTED)), json_values, max_size=6))
def test_random_fields_never_raise(fields):
    assert isinstance(check(json.dumps({**SUBMITTED, **fields}).encode()), Rejection | Decoded)
