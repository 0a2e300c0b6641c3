"""The fold is a left fold: going on from a stored state equals folding everything again."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from ingest.fold import StoredEvent, advance, fold, order
from tests.events import NOW, decoded, event_json

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
TYPES = [
    "submitted", "received", "supplement_requested", "supplement_received", "resolved",
    "withdrawn", "result_returned", "paid", "digitized", "rated",
]  # fmt: skip


def stored(event_type: str, minutes: int, n: int, unit: str) -> StoredEvent:
    at = NOW - timedelta(days=30) + timedelta(minutes=minutes)
    event = decoded(event_json(event_type, "HS-1", at, event_id=f"e{n:03d}", unit=unit)).event
    return StoredEvent(
        event.event_id, event.event_type, event.occurred_at, event.application_id,
        event.procedure_code, event.agency_code, event.unit_code, event.__dict__,
    )  # fmt: skip


histories = st.lists(
    st.tuples(st.sampled_from(TYPES), st.integers(0, 20_000), st.sampled_from(["00001", "00002"])),
    min_size=2,
    max_size=14,
).map(lambda items: sorted((stored(t, m, n, u) for n, (t, m, u) in enumerate(items)), key=order))


@given(histories, st.data())
def test_advancing_a_stored_state_equals_folding_everything(events: list[StoredEvent], data: st.DataObject):
    split = data.draw(st.integers(1, len(events) - 1))
    assert advance(fold(events[:split], TZ), events[split:], TZ) == fold(events, TZ)


def test_the_state_remembers_an_open_supplement_period():
    first = [stored("received", 0, 0, "00001"), stored("supplement_requested", 60, 1, "00001")]
    state = fold(first, TZ)
    assert state.supplement_periods == ((first[1].occurred_at, None),)
    answer = stored("supplement_received", 120, 2, "00001")
    later = advance(state, [answer], TZ)
    assert later.supplement_periods == ((first[1].occurred_at, answer.occurred_at),)
    assert later.last_event_id == "e002"
    assert later.events == 3
