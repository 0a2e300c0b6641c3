"""Working days: Monday to Friday, minus public holidays, plus official make-up working days.

``WorkCalendar`` is built once from the holiday rows of the reference data (``refdata.model.
Holiday``: a day off, or with ``working`` a weekend day worked). Counting is O(log h) for h holiday
rows: weekdays by arithmetic on ordinals, corrected by two sorted arrays (days off that fall on a
weekday, make-up days that fall on a weekend) searched with ``bisect``. Outside the years the
calendar lists, every Monday to Friday is a working day.

``working_days_between(start, end, excluded)`` is DOMAIN.md §3 rule 8: the working days in
``(start, end]`` that are inside none of the ``(a, b]`` intervals of ``excluded``.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from datetime import date

from refdata.model import Holiday


def _weekdays_through(ordinal: int) -> int:
    """Monday to Friday days among ordinals 1..ordinal (ordinal 1, 0001-01-01, is a Monday)."""
    weeks, rest = divmod(ordinal, 7)
    return 5 * weeks + min(rest, 5)


class WorkCalendar:
    """A working-day calendar from holiday rows; immutable once built."""

    __slots__ = ("_days_off", "_make_up")

    def __init__(self, holidays: Iterable[Holiday]) -> None:
        rows = list(holidays)
        off = {h.day for h in rows if not h.working}
        worked = {h.day for h in rows if h.working}
        both = off & worked
        if both:
            msg = f"a day cannot be both a day off and a make-up working day: {sorted(both)}"
            raise ValueError(msg)
        # Only rows that change the Monday to Friday rule matter.
        self._days_off = sorted(d.toordinal() for d in off if d.weekday() < 5)
        self._make_up = sorted(d.toordinal() for d in worked if d.weekday() >= 5)

    def is_working_day(self, day: date) -> bool:
        return self._through(day.toordinal()) - self._through(day.toordinal() - 1) == 1

    def _through(self, ordinal: int) -> int:
        """Working days among ordinals 1..ordinal."""
        return (
            _weekdays_through(ordinal)
            - bisect_right(self._days_off, ordinal)
            + bisect_right(self._make_up, ordinal)
        )

    def count(self, start: date, end: date) -> int:
        """Working days in ``(start, end]``; 0 when ``end <= start``."""
        if end <= start:
            return 0
        return self._through(end.toordinal()) - self._through(start.toordinal())

    def working_days_between(self, start: date, end: date, excluded: Iterable[tuple[date, date]] = ()) -> int:
        """Working days in ``(start, end]`` not inside any ``(a, b]`` interval of ``excluded``.

        Intervals may overlap, touch, lie partly outside ``(start, end]`` or be empty (``b <= a``).
        """
        if end <= start:
            return 0
        clipped = sorted((max(a, start), min(b, end)) for a, b in excluded)
        total = self.count(start, end)
        merged_from: date | None = None
        merged_to = start
        for a, b in clipped:
            if b <= a:
                continue
            if merged_from is not None and a <= merged_to:
                merged_to = max(merged_to, b)
                continue
            if merged_from is not None:
                total -= self.count(merged_from, merged_to)
            merged_from, merged_to = a, b
        if merged_from is not None:
            total -= self.count(merged_from, merged_to)
        return total
