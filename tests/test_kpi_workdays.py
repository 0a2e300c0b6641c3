"""Working days from the holiday calendar (DOMAIN.md §3 rule 8), checked by hand and by a naive loop."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kpi.workdays import WorkCalendar
from refdata.files import default_dir, read_dir
from refdata.model import Holiday

CALENDAR = WorkCalendar(read_dir(default_dir()).holidays)


def d(text: str) -> date:
    return date.fromisoformat(text)


def test_the_days_the_hand_checks_rely_on():
    assert d("2026-02-13").strftime("%A") == "Friday"
    assert d("2026-02-16").strftime("%A") == "Monday"
    assert d("2026-08-22").strftime("%A") == "Saturday"
    assert d("2026-08-31").strftime("%A") == "Monday"
    assert d("2025-04-26").strftime("%A") == "Saturday"


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        # An ordinary week before Tết 2026: Mon 9 to Fri 13 February.
        ("2026-02-08", "2026-02-13", 5),
        # Tết 2026: Mon 16 to Fri 20 February off, so the whole week counts nothing.
        ("2026-02-13", "2026-02-20", 0),
        ("2026-02-13", "2026-02-22", 0),
        ("2026-02-13", "2026-02-23", 1),
        ("2026-02-06", "2026-02-27", 10),
        # New Year's Day 2026 is a Thursday.
        ("2025-12-31", "2026-01-02", 1),
        # Make-up Saturday 22 August 2026 for Monday 31 August; 1-2 September off.
        ("2026-08-21", "2026-08-22", 1),
        ("2026-08-21", "2026-08-28", 6),
        ("2026-08-28", "2026-09-04", 2),
        # Make-up Saturday 26 April 2025 for Friday 2 May; 30 April and 1 May off.
        ("2025-04-25", "2025-04-26", 1),
        ("2025-04-25", "2025-05-04", 3),
        # Empty or reversed periods.
        ("2026-03-02", "2026-03-02", 0),
        ("2026-03-06", "2026-03-02", 0),
        # Outside the listed years only weekends are days off.
        ("2030-01-06", "2030-01-13", 5),
    ],
)
def test_hand_checked_weeks(start, end, expected):
    assert CALENDAR.working_days_between(d(start), d(end)) == expected


def test_single_days():
    assert CALENDAR.is_working_day(d("2026-02-13"))
    assert not CALENDAR.is_working_day(d("2026-02-17"))
    assert CALENDAR.is_working_day(d("2026-08-22"))
    assert not CALENDAR.is_working_day(d("2026-08-23"))
    assert not CALENDAR.is_working_day(d("2026-08-31"))


def test_excluded_intervals_are_half_open_and_counted_once():
    # (Mon 2, Fri 6 March 2026] has 4 working days; excluding (Tue 3, Thu 5] leaves Tue 3 and Fri 6.
    assert (
        CALENDAR.working_days_between(d("2026-03-02"), d("2026-03-06"), [(d("2026-03-03"), d("2026-03-05"))])
        == 2
    )
    overlapping = [
        (d("2026-03-03"), d("2026-03-05")),
        (d("2026-03-04"), d("2026-03-05")),
        (d("2026-03-02"), d("2026-03-04")),
    ]
    assert CALENDAR.working_days_between(d("2026-03-02"), d("2026-03-06"), overlapping) == 1
    outside = [
        (d("2026-02-01"), d("2026-03-03")),
        (d("2026-03-06"), d("2026-04-01")),
        (d("2026-03-05"), d("2026-03-04")),
    ]
    assert CALENDAR.working_days_between(d("2026-03-02"), d("2026-03-06"), outside) == 3


def test_a_day_both_off_and_worked_is_refused():
    with pytest.raises(ValueError, match="both"):
        WorkCalendar([Holiday(d("2026-03-07"), "x", working=True), Holiday(d("2026-03-07"), "y")])


def naive(calendar_rows: list[Holiday], start: date, end: date, excluded: list[tuple[date, date]]) -> int:
    off = {h.day for h in calendar_rows if not h.working}
    worked = {h.day for h in calendar_rows if h.working}
    count = 0
    day = start + timedelta(days=1)
    while day <= end:
        working = day in worked or (day.weekday() < 5 and day not in off)
        if working and not any(a < day <= b for a, b in excluded):
            count += 1
        day += timedelta(days=1)
    return count


HOLIDAYS = list(read_dir(default_dir()).holidays)
days = st.dates(min_value=date(2023, 12, 1), max_value=date(2028, 2, 1))


@settings(max_examples=300, deadline=None)
@given(
    start=days,
    length=st.integers(-5, 400),
    excluded=st.lists(st.tuples(days, st.integers(-3, 60)), max_size=5),
)
def test_equals_a_naive_day_by_day_loop(start, length, excluded):
    end = start + timedelta(days=length)
    intervals = [(a, a + timedelta(days=n)) for a, n in excluded]
    assert CALENDAR.working_days_between(start, end, intervals) == naive(HOLIDAYS, start, end, intervals)
