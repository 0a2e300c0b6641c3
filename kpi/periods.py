"""Named periods (DESIGN.md §4) as local days ``[start, end)`` relative to now."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Literal

from kpi.model import Period

Named = Literal["today", "week", "month", "quarter", "year"]
NAMES: tuple[Named, ...] = ("today", "week", "month", "quarter", "year")


def named(name: Named, today: date) -> Period:
    """Today, this week (from Monday), month, quarter or year to date; each ends tomorrow."""
    tomorrow = today + timedelta(days=1)
    if name == "today":
        return Period(today, tomorrow)
    if name == "week":
        return Period(today - timedelta(days=today.weekday()), tomorrow)
    if name == "month":
        return Period(today.replace(day=1), tomorrow)
    if name == "quarter":
        return Period(today.replace(month=3 * ((today.month - 1) // 3) + 1, day=1), tomorrow)
    if name == "year":
        return Period(today.replace(month=1, day=1), tomorrow)
    msg = f"unknown period {name!r}; expected one of {', '.join(NAMES)}"
    raise ValueError(msg)


def rolling(days: int, now: datetime) -> Period:
    """The last ``days`` local days, today included."""
    today = now.date()
    return Period(today - timedelta(days=days - 1), today + timedelta(days=1))
