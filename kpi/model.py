"""What a KPI question and answer are: the period, the filters, and one KPI's value."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, tzinfo
from fractions import Fraction

COUNTRY = "VN"  # the whole country: every unit of the tree; its children are the provinces


@dataclass(frozen=True)
class Filters:
    agency_code: str | None = None
    procedure_code: str | None = None
    sector: str | None = None
    channel: str | None = None


@dataclass(frozen=True)
class Period:
    """Local days ``[start, end)`` (DOMAIN.md §3 rule 2)."""

    start: date
    end: date

    def bounds(self, tz: tzinfo) -> tuple[datetime, datetime]:
        """The period's start and end instants: local midnights."""
        return datetime.combine(self.start, time(), tz), datetime.combine(self.end, time(), tz)

    def evaluated_at(self, tz: tzinfo, now: datetime) -> datetime:
        """Rule 2: the evaluation time ``t = min(end, now)``."""
        return min(self.bounds(tz)[1], now)


@dataclass(frozen=True)
class KpiValue:
    """One KPI: a count has ``denominator`` None and ``value == numerator``."""

    key: str
    numerator: int
    denominator: int | None
    value: Fraction | int | None
