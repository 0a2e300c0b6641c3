"""Fuzzing the two doors through which outside text enters: Kafka messages (``ingest.contract.decode``)
and the operator view's query string (``callbacks.router.query`` + ``dashboard.view_state``).

A poison message must become a dead letter with a reason, never an exception that stops the
consumer; any URL must give a valid view, never a Dash error.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from callbacks.router import query
from dashboard.i18n import LANGS
from dashboard.reference import COUNTRY
from dashboard.view_state import PERIOD_NAMES, SORTABLE, ViewState
from ingest.contract import EVENT_TYPES, Decoded, Rejection, decode
from kpi import registry
from kpi.queries import CHANNELS
from tests.events import event_json

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
UNITS = frozenset({"01", "79"})
AGENCIES = frozenset({"G01"})
PROCEDURES = frozenset({"1.001"})
KPI_KEYS = sorted(k.key for k in registry.all_kpis())

OCCURRED = datetime(2025, 5, 31, 2, 30, tzinfo=UTC)  # 09:30 in Vietnam, the day before NOW


def _decode(value: bytes | None) -> Decoded | Rejection:
    return decode(
        value,
        now=NOW,
        unit_codes=UNITS,
        agency_codes=AGENCIES,
        procedure_codes=PROCEDURES,
        max_age=None,  # IOC_RETENTION_DAYS=0: nothing is too old, so odd dates reach the end
    )


def _rejected_or_decoded(value: bytes | None) -> Decoded | Rejection:
    outcome = _decode(value)
    assert isinstance(outcome, Decoded | Rejection)
    if isinstance(outcome, Rejection):
        assert isinstance(outcome.reason, str)
        assert outcome.reason
        assert "\n" not in outcome.reason.strip()
    else:  # what is accepted can be stored: its instants stay within what datetime represents
        event = outcome.event
        for instant in (event.occurred_at, getattr(event, "due_at", None)):
            if not isinstance(instant, datetime):  # no due_at, or an unknown field of that name
                continue
            instant.astimezone(UTC)
            (instant + timedelta(days=1)).astimezone(UTC)
        if event.event_type == "paid":  # elsewhere amount_vnd is an unknown field, kept as text
            assert event.amount_vnd < 2**63  # applications.paid_vnd is a bigint
        assert not _strings_with_nul(json.loads(outcome.payload, parse_int=str))  # jsonb refuses NUL
    return outcome


def _strings_with_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_strings_with_nul(k) or _strings_with_nul(v) for k, v in value.items())
    return isinstance(value, list) and any(_strings_with_nul(item) for item in value)


def _valid(event_type: str) -> dict[str, Any]:
    return event_json(event_type, "app-1", OCCURRED, event_id="ev-1", unit="01", agency_code="G01")


# --- JSON values of every kind, including the awkward ones ----------------------------------

_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=5) | st.just("\x00") | st.just("x" * 70),
    st.sampled_from(
        ["", "NaN", "Infinity", "2025-05-31", "2025-05-31T09:30:00", "9999-12-31T23:59:59-23:59"]
    ),
    st.sampled_from(["0001-01-01T00:00:00+23:59", "2025-02-30T00:00:00Z", "1"]),
)
_json_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


@st.composite
def _mutated_events(draw: st.DrawFn) -> dict[str, Any]:
    """A valid event with some fields removed, retyped or replaced by odd values, and extras."""
    event = _valid(draw(st.sampled_from(EVENT_TYPES)))
    for name in draw(st.lists(st.sampled_from(sorted(event)), max_size=3, unique=True)):
        action = draw(st.sampled_from(["drop", "replace", "stringify"]))
        if action == "drop":
            del event[name]
        elif action == "replace":
            event[name] = draw(_json_values)
        else:
            event[name] = json.dumps(event[name])
    extras = draw(st.dictionaries(st.text(max_size=10), _json_values, max_size=3))
    return {**extras, **event} if draw(st.booleans()) else {**event, **extras}


@FUZZ
@given(st.binary(max_size=512))
@example(b"")
@example(b"\xff\xfe{}")
@example(b'{"schema_version": 1}\x00')
@example(b'"\xed\xa0\x80"')  # a surrogate encoded in UTF-8: not valid UTF-8
@example(b"[" * 5000)
@example(b'{"a":' * 3000 + b"1" + b"}" * 3000)
def test_random_bytes_are_rejected_with_a_reason(value: bytes) -> None:
    _rejected_or_decoded(value)


@FUZZ
@given(_json_values)
def test_random_json_values_are_rejected_with_a_reason(value: Any) -> None:
    assert isinstance(_rejected_or_decoded(json.dumps(value).encode()), Rejection)


@FUZZ
@given(_mutated_events(), st.booleans())
def test_mutated_events_decode_or_are_rejected_never_raise(event: dict[str, Any], ascii_only: bool) -> None:
    _rejected_or_decoded(json.dumps(event, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass"))


@FUZZ
@given(
    st.sampled_from(EVENT_TYPES),
    st.sampled_from(["event_id", "application_id", "procedure_code", "unit_code", "score", "amount_vnd"]),
    st.sampled_from(
        [
            "9" * 5000,  # more digits than Python converts to int by default
            "-" + "9" * 4301,
            str(2**63),  # beyond PostgreSQL's bigint
            str(2**64),  # beyond orjson's integers
            "1e400",
            "-1e400",
            "NaN",
            "Infinity",
            "-Infinity",
            '"' + "x" * 60_000 + '"',
            '"\\ud800"',
            '"\\udfff\\ud800"',
            '"a\\u0000b"',
            "[" * 600 + "]" * 600,
            "{}",
            "true",
        ]
    ),
)
def test_huge_numbers_nan_nesting_and_escapes_never_raise(event_type: str, field: str, raw: str) -> None:
    event = _valid(event_type)
    event[field] = "PLACEHOLDER"
    text = json.dumps(event).replace('"PLACEHOLDER"', raw)
    _rejected_or_decoded(text.encode())


@FUZZ
@given(
    st.sampled_from(EVENT_TYPES),
    st.sampled_from(["occurred_at", "due_at"]),
    st.datetimes().map(datetime.isoformat),  # naive: the offset is written below
    st.integers(min_value=-(24 * 60 - 1), max_value=24 * 60 - 1),
)
@example("rated", "occurred_at", "0001-01-01T00:00:00", 23 * 60 + 59)
@example("received", "due_at", "9999-12-31T23:59:59.999999", -(23 * 60 + 59))
def test_extreme_timestamps_never_raise(event_type: str, field: str, at: str, offset_min: int) -> None:
    event = _valid(event_type)
    sign = "-" if offset_min < 0 else "+"
    event[field] = at + f"{sign}{abs(offset_min) // 60:02}:{abs(offset_min) % 60:02}"
    _rejected_or_decoded(json.dumps(event).encode())


@FUZZ
@given(st.sampled_from(EVENT_TYPES), st.dictionaries(st.text(max_size=12), _json_values, max_size=3))
def test_valid_events_still_decode_with_unknown_fields_kept(event_type: str, extras: dict[str, Any]) -> None:
    extras = {
        k: v for k, v in extras.items() if k not in _valid(event_type) and not _strings_with_nul({k: v})
    }
    event = {**_valid(event_type), **extras}
    outcome = _rejected_or_decoded(json.dumps(event).encode())
    assert isinstance(outcome, Decoded), outcome
    assert outcome.event.event_type == event_type
    assert json.loads(outcome.payload) == event


@FUZZ
@given(
    st.sampled_from(EVENT_TYPES), st.sampled_from(["event_id", "application_id", "note", "\x00"]), st.text()
)
def test_a_nul_anywhere_is_a_rejection_since_postgresql_cannot_store_it(
    event_type: str, field: str, text: str
) -> None:
    event = _valid(event_type)
    event[field] = f"{text}\x00" if field != "\x00" else text
    outcome = _rejected_or_decoded(json.dumps(event).encode("utf-8", "surrogatepass"))
    assert isinstance(outcome, Rejection)
    # a backslash followed by u0000 is ordinary text, not a NUL
    plain = {**_valid(event_type), "note": "C:\\u0000"}
    assert isinstance(_rejected_or_decoded(json.dumps(plain).encode()), Decoded)


def test_none_is_a_rejection() -> None:
    assert isinstance(_decode(None), Rejection)


# --- the operator view's query string ---------------------------------------------------------

_KEYS = ["unit", "period", "from", "to", "kpi", "agency", "procedure", "channel", "sort", "lang"]
_NASTY = [
    "",
    "../../etc/passwd",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "'; DROP TABLE events; --",
    "%",
    "%zz",
    "%ED%A0%80",
    "%00",
    "\x00",
    "\ud800",
    "-1",
    "-99999999999999999999",
    "9" * 400,
    "0000-00-00",
    "0001-01-01",
    "9999-12-31",
    "2025-02-30",
    "2025-13-01",
    "-value",
    "--value",
    "x" * 10_000,
    "Hà Nội",
    "😀",
    "+",
    "&",
    "=",
    "?",
    "#",
]
_values = st.one_of(
    st.sampled_from(_NASTY),
    st.text(max_size=30),
    st.sampled_from([*PERIOD_NAMES, *KPI_KEYS, *CHANNELS, *SORTABLE, *LANGS, "-gap", "01", "79"]),
    st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)).map(date.isoformat),
)
_pairs = st.lists(st.tuples(st.sampled_from(_KEYS) | st.text(max_size=10), _values), max_size=12)


@st.composite
def _searches(draw: st.DrawFn) -> str:
    """A query string as a browser might send it: encoded, raw, or broken, with or without ``?``."""
    pairs = draw(_pairs)
    how = draw(st.sampled_from(["encoded", "raw", "mixed"]))
    if how == "encoded":
        text = urlencode(pairs, encoding="utf-8", errors="surrogatepass")
    elif how == "raw":
        text = "&".join(f"{k}={v}" for k, v in pairs)
    else:
        text = "&".join(f"{quote(k, errors='surrogatepass')}={v}" for k, v in pairs)
    return draw(st.sampled_from(["?", ""])) + text + draw(st.sampled_from(["", "&", "&&=", "#frag", ";x=1"]))


def _assert_valid(state: ViewState) -> None:
    assert state.period in PERIOD_NAMES
    assert state.kpi in KPI_KEYS
    assert state.channel is None or state.channel in CHANNELS
    assert state.sort is None or state.sort.lstrip("-") in SORTABLE
    assert state.lang in LANGS
    assert isinstance(state.unit, str)
    assert state.unit
    assert state.agency is None or (isinstance(state.agency, str) and state.agency)
    assert state.procedure is None or (isinstance(state.procedure, str) and state.procedure)
    for day in (state.start, state.end):
        assert day is None or isinstance(day, date)
    for today in (date(2025, 6, 1), date(2024, 12, 31)):
        period = state.resolved_period(today)
        assert period.start < period.end
    state.filters()


@FUZZ
@given(_searches())
@example("?from=0001-01-01&to=0001-01-02&period=custom")
@example("?from=9999-12-30&to=9999-12-31&period=custom")
@example("?unit=%ED%A0%80&agency=%00")
@example("?unit=\ud800")
@example("?sort=-&sort=gap&period=custom&period=year")
def test_any_query_string_gives_a_valid_state(search: str) -> None:
    params = query(search)
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in params.items())
    state = ViewState.from_params(params)
    _assert_valid(state)
    # the URL of that state reads back as the same state, and as the same URL again
    url = state.query()
    again = ViewState.from_params(query(url))
    assert again.query() == url
    _assert_valid(again)


_states = st.builds(
    ViewState,
    unit=st.sampled_from([COUNTRY, "01", "79", "00001", "Hà Nội", "a&b=c", "x y+z"]),
    period=st.sampled_from(PERIOD_NAMES),
    kpi=st.sampled_from(KPI_KEYS),
    agency=st.none() | st.sampled_from(["G01", "sở tư pháp", "a/b?c"]),
    procedure=st.none() | st.sampled_from(["1.001", "2.002%"]),
    channel=st.none() | st.sampled_from(CHANNELS),
    sort=st.none() | st.sampled_from(sorted(SORTABLE)).flatmap(lambda c: st.sampled_from([c, f"-{c}"])),
    lang=st.sampled_from(LANGS),
)


@FUZZ
@given(_states, st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1)), st.integers(0, 2000))
def test_a_valid_state_round_trips_through_its_url(state: ViewState, start: date, days: int) -> None:
    if state.period == "custom":
        state = ViewState(**{**state.__dict__, "start": start, "end": start + timedelta(days=days)})
    assert ViewState.from_params(query(state.query())) == state
