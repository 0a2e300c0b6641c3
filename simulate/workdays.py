"""Working days, office hours and deadlines in local time, on epoch seconds.

The simulator works on whole epoch seconds (UTC) and local calendar days (proleptic
ordinals) for speed. Working days are Monday to Friday minus the reference data's public
holidays, plus its official make-up working days; with no holidays in the reference data
the calendar knows weekends only (holiday-unaware). Local times are computed as local
midnight plus seconds, exact for zones without daylight saving time such as
Asia/Ho_Chi_Minh (elsewhere off by the shift on the days it happens).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, tzinfo

from refdata.model import Holiday

OPEN_AM = 7 * 3600 + 30 * 60  # 7:30, one-stop shops open
CLOSE_AM = 11 * 3600 + 30 * 60  # 11:30, lunch
OPEN_PM = 13 * 3600 + 30 * 60  # 13:30
CLOSE_PM = 17 * 3600  # 17:00, the time of day every deadline falls on
OFFICE_SECONDS = (CLOSE_AM - OPEN_AM) + (CLOSE_PM - OPEN_PM)
DAY = 86_400
_EPOCH_DAY = date(1970, 1, 1).toordinal()
_SECONDS = tuple(f"{s:02d}" for s in range(60))
_MAX_CACHED = 100_000  # minutes of formatted time kept (about 20 MB), then the cache restarts


class WorkCalendar:
    """Office hours 7:30-11:30 and 13:30-17:00 on working days, in the time zone ``tz``."""

    def __init__(self, tz: tzinfo, holidays: Iterable[Holiday] = ()) -> None:
        self.tz = tz
        self._off = frozenset(h.day.toordinal() for h in holidays if not h.working)
        self._makeup = frozenset(h.day.toordinal() for h in holidays if h.working)
        self._midnight: dict[int, int] = {}
        self._working: dict[int, bool] = {}
        self._minutes: dict[int, tuple[str, str]] = {}
        offset = datetime.now(tz).utcoffset()
        self._offset = int(offset.total_seconds()) if offset is not None else 0

    def is_working(self, day: int) -> bool:
        """Whether the local day (an ordinal) is a working day."""
        found = self._working.get(day)
        if found is None:
            found = day in self._makeup or (date.fromordinal(day).weekday() < 5 and day not in self._off)
            self._working[day] = found
        return found

    def is_holiday(self, day: int) -> bool:
        """Whether the local day is a public holiday (offices closed, whatever the weekday)."""
        return day in self._off

    def day_of(self, t: int) -> int:
        """The local day (ordinal) of epoch second ``t``."""
        day = (t + self._offset) // DAY + _EPOCH_DAY  # a guess, checked against local midnights
        while t < self.midnight(day):
            day -= 1
        while t >= self.midnight(day + 1):
            day += 1
        return day

    def midnight(self, day: int) -> int:
        """Epoch second of the local midnight starting ``day``."""
        found = self._midnight.get(day)
        if found is None:
            found = int(datetime.combine(date.fromordinal(day), time(), self.tz).timestamp())
            self._midnight[day] = found
        return found

    def at(self, day: int, seconds: int) -> int:
        """Epoch second of ``seconds`` after local midnight of ``day``."""
        return self.midnight(day) + seconds

    def next_working(self, day: int) -> int:
        """``day`` if it is a working day, else the next one."""
        while not self.is_working(day):
            day += 1
        return day

    def add_working_days(self, day: int, n: int) -> int:
        """The ``n``-th working day after ``day`` (``n`` ≥ 1), or the next working day for 0."""
        if n <= 0:
            return self.next_working(day)
        while n > 0:
            day += 1
            if self.is_working(day):
                n -= 1
        return day

    def office_at_or_after(self, t: int) -> int:
        """``t`` if the office is open then, else the moment it next opens."""
        day = self.day_of(t)
        while True:
            if self.is_working(day):
                sod = t - self.midnight(day)
                if sod < OPEN_AM:
                    return self.at(day, OPEN_AM)
                if sod < CLOSE_AM:
                    return t
                if sod < OPEN_PM:
                    return self.at(day, OPEN_PM)
                if sod < CLOSE_PM:
                    return t
            day += 1
            t = self.midnight(day)

    def office_time(self, day: int, fraction: float) -> int:
        """The moment ``fraction`` (0..1) of the way through the office hours of ``day``."""
        offset = int(fraction * OFFICE_SECONDS)
        morning = CLOSE_AM - OPEN_AM
        if offset < morning:
            return self.at(day, OPEN_AM + offset)
        return self.at(day, OPEN_PM + min(offset - morning, CLOSE_PM - OPEN_PM - 1))

    def due_at(self, received: int, max_days: int) -> int:
        """The deadline: ``max_days`` working days after the day of ``received``, at 17:00.

        The day of receipt does not count. With ``max_days`` 0 the deadline is 17:00 of the
        day of receipt when that is a working day received before 17:00, else of the next
        working day.
        """
        day = self.day_of(received)
        if max_days <= 0:
            if self.is_working(day) and received < self.at(day, CLOSE_PM):
                return self.at(day, CLOSE_PM)
            return self.at(self.add_working_days(day, 1), CLOSE_PM)
        return self.at(self.add_working_days(day, max_days), CLOSE_PM)

    def iso(self, t: int) -> str:
        """RFC 3339 text of epoch second ``t`` in local time, with its offset."""
        minute, second = divmod(t, 60)
        parts = self._minutes.get(minute)
        if parts is None:
            if len(self._minutes) >= _MAX_CACHED:
                self._minutes.clear()
            text = datetime.fromtimestamp(minute * 60, self.tz).isoformat()
            parts = self._minutes[minute] = (text[:17], text[19:])
        return f"{parts[0]}{_SECONDS[second]}{parts[1]}"
