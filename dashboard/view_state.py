"""The operator view's state (period, KPI, filters, unit, language) and its URL query string.

Everything the view shows follows from this state, and the state lives in the URL, so a link
reproduces the view. Unknown values fall back to defaults; an unknown unit code is kept so the
page can say it does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal
from urllib.parse import urlencode

from dashboard.i18n import Lang, lang_of
from dashboard.reference import COUNTRY
from kpi import periods, registry
from kpi.model import Filters, Period
from kpi.queries import CHANNELS

PeriodName = Literal["today", "week", "month", "quarter", "year", "custom"]
PERIOD_NAMES: tuple[PeriodName, ...] = ("today", "week", "month", "quarter", "year", "custom")
DEFAULT_KPI = "online_submission_rate"
MAX_CUSTOM_DAYS = 3 * 366
SORTABLE = frozenset({"name", "code", "value", "target", "gap", "volume"})
# Custom days outside these are ignored: the period arithmetic (the day after, three years
# before) would overflow Python's dates near years 1 and 9999, and no data is that old.
FIRST_DAY = date(1900, 1, 1)
LAST_DAY = date(8999, 12, 31)


@dataclass(frozen=True)
class ViewState:
    unit: str = COUNTRY
    period: PeriodName = "month"
    start: date | None = None  # custom period, first day
    end: date | None = None  # custom period, last day (inclusive, as people say it)
    kpi: str = DEFAULT_KPI
    agency: str | None = None
    procedure: str | None = None
    channel: str | None = None
    sort: str | None = None  # the table's column, "-" first for descending; None: ranked
    lang: Lang = "vi"

    @classmethod
    def from_params(cls, params: dict[str, str]) -> ViewState:
        period = params.get("period", "month")
        kpi = params.get("kpi", DEFAULT_KPI)
        channel = params.get("channel")
        sort = params.get("sort", "")
        return cls(
            unit=_text(params.get("unit")) or COUNTRY,
            period=period if period in PERIOD_NAMES else "month",
            start=_date(params.get("from")),
            end=_date(params.get("to")),
            kpi=kpi if kpi in {k.key for k in registry.all_kpis()} else DEFAULT_KPI,
            agency=_text(params.get("agency")),
            procedure=_text(params.get("procedure")),
            channel=channel if channel in CHANNELS else None,
            sort=sort if sort.lstrip("-") in SORTABLE else None,
            lang=lang_of(params.get("lang")),
        )

    def query(self, **changes: str) -> str:
        """The query string of this state (defaults left out), with ``changes`` applied."""
        values: dict[str, str | None] = {
            "unit": None if self.unit == COUNTRY else self.unit,
            "period": None if self.period == "month" else self.period,
            "from": self.start.isoformat() if self.period == "custom" and self.start else None,
            "to": self.end.isoformat() if self.period == "custom" and self.end else None,
            "kpi": None if self.kpi == DEFAULT_KPI else self.kpi,
            "agency": self.agency,
            "procedure": self.procedure,
            "channel": self.channel,
            "sort": self.sort,
            "lang": None if self.lang == "vi" else self.lang,
        }
        values.update(changes)
        kept = {k: v for k, v in values.items() if v and (k, v) != ("lang", "vi")}
        return f"?{urlencode(kept)}" if kept else ""

    def filters(self) -> Filters:
        return Filters(agency_code=self.agency, procedure_code=self.procedure, channel=self.channel)

    def resolved_period(self, today: date) -> Period:
        """The local days shown; a custom range missing a bound or upside down is this month."""
        if self.period != "custom":
            return periods.named(self.period, today)
        if self.start is None or self.end is None or self.end < self.start:
            return periods.named("month", today)
        start = max(self.start, self.end - timedelta(days=MAX_CUSTOM_DAYS))
        return Period(start, self.end + timedelta(days=1))


def _date(raw: str | None) -> date | None:
    try:
        day = date.fromisoformat(raw) if raw else None
    except ValueError:
        return None
    return day if day is not None and FIRST_DAY <= day <= LAST_DAY else None


def _text(raw: str | None) -> str | None:
    """A free-text value (a code, possibly unknown), or None when empty or when no URL or SQL
    parameter can carry it: a lone surrogate (not UTF-8) or a NUL (refused by PostgreSQL)."""
    if not raw or "\x00" in raw:
        return None
    try:
        raw.encode("utf-8")
    except UnicodeEncodeError:
        return None
    return raw
