"""When applications arrive: weights per local half-hour, for the counter and online.

Counter (in person and postal) arrivals follow the one-stop shops' office hours
7:30-11:30 and 13:30-17:00, busiest mid-morning, with a lunch dip, Mondays busier and
Fridays quieter; some shops receive on Saturday mornings; none on Sundays and public
holidays. Online submissions follow office hours too but spread into the evening, with
a little at night and at weekends. A made-up working day (ngày làm bù) is a weekday.
"""

from __future__ import annotations

from datetime import date

from simulate.workdays import WorkCalendar

SLOTS_PER_DAY = 48
SLOT_SECONDS = 1800

# Relative weight of each half-hour on a working day, slot 15 = 7:30-8:00.
_COUNTER_WEEKDAY = {
    14: 0.05, 15: 0.6, 16: 1.0, 17: 1.2, 18: 1.3, 19: 1.3, 20: 1.2, 21: 1.0, 22: 0.7,
    23: 0.06, 24: 0.02, 25: 0.02, 26: 0.05,
    27: 0.7, 28: 1.0, 29: 1.1, 30: 1.0, 31: 0.9, 32: 0.7, 33: 0.4, 34: 0.03,
}  # fmt: skip
_ONLINE_HOURLY = (
    0.04, 0.02, 0.015, 0.015, 0.02, 0.05, 0.15, 0.45, 0.9, 1.0, 1.0, 0.75,
    0.45, 0.6, 0.95, 0.95, 0.85, 0.6, 0.45, 0.5, 0.55, 0.45, 0.25, 0.1,
)  # fmt: skip
_COUNTER_DAY = (1.15, 1.05, 1.0, 1.0, 0.9)  # Monday..Friday
_ONLINE_DAY = (1.1, 1.05, 1.0, 1.0, 0.95)
SATURDAY_MORNING_COUNTER = 0.3  # of a weekday morning; afternoons closed
SATURDAY_ONLINE = 0.4
SUNDAY_ONLINE = 0.3
HOLIDAY_ONLINE = 0.25

COUNTER_WEEKDAY: tuple[float, ...] = tuple(_COUNTER_WEEKDAY.get(i, 0.0) for i in range(SLOTS_PER_DAY))
ONLINE_WEEKDAY: tuple[float, ...] = tuple(_ONLINE_HOURLY[i // 2] for i in range(SLOTS_PER_DAY))
_COUNTER_SATURDAY = tuple(
    w * SATURDAY_MORNING_COUNTER if i < 23 else 0.0 for i, w in enumerate(COUNTER_WEEKDAY)
)
_ZERO = (0.0,) * SLOTS_PER_DAY


def day_weights(calendar: WorkCalendar, day: int) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """The (counter, online) weights of the 48 half-hours of local ``day`` (an ordinal)."""
    weekday = date.fromordinal(day).weekday()
    if calendar.is_holiday(day):
        return _ZERO, _scaled(ONLINE_WEEKDAY, HOLIDAY_ONLINE)
    if calendar.is_working(day):
        index = min(weekday, 4)  # a make-up Saturday counts as an ordinary weekday
        factor = 1.0 if weekday >= 5 else _COUNTER_DAY[index]
        online = 1.0 if weekday >= 5 else _ONLINE_DAY[index]
        return _scaled(COUNTER_WEEKDAY, factor), _scaled(ONLINE_WEEKDAY, online)
    if weekday == 5:
        return _COUNTER_SATURDAY, _scaled(ONLINE_WEEKDAY, SATURDAY_ONLINE)
    return _ZERO, _scaled(ONLINE_WEEKDAY, SUNDAY_ONLINE)


def week_totals() -> tuple[float, float]:
    """Total (counter, online) weight of an ordinary week without holidays: the unit of volume."""
    counter = sum(COUNTER_WEEKDAY) * sum(_COUNTER_DAY) + sum(_COUNTER_SATURDAY)
    online = sum(ONLINE_WEEKDAY) * (sum(_ONLINE_DAY) + SATURDAY_ONLINE + SUNDAY_ONLINE)
    return counter, online


def _scaled(weights: tuple[float, ...], factor: float) -> tuple[float, ...]:
    return tuple(w * factor for w in weights)
