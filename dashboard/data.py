"""Everything a page reads, in one place: KPIs through ``kpi.queries`` and the Redis cache,
reference data, targets, the data version, the latest events.

KPIs come only from ``kpi.queries`` (``values``, ``children_values``, ``series``,
``breakdown``), each answer wrapped in ``KpiCache.answer`` under a question that names
everything it depends on, with ``now`` rounded down to the minute so that every page asking
within a minute shares one answer; ingest's data version is part of the cache key, so a new
batch is seen at once. Redis down: answers come from PostgreSQL, and ``version`` says None.

The whole country (``COUNTRY``) is answered by ``kpi.queries`` like any unit, in one query.

Per-process state is only reference data (reloaded every few minutes), the connection pool and
the Redis clients; nothing another worker needs.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import date, datetime
from typing import Any, TypeVar

import redis

from alerts import store as targets_store
from alerts.targets import Target
from dashboard import feed
from dashboard.errors import DatabaseDown
from dashboard.pool import Connection, Pool
from dashboard.reference import Reference
from ingest.notify import VERSION_KEY
from ioc.errors import IocError
from ioc.settings import Settings
from kpi import queries
from kpi.cache import Answer, KpiCache
from kpi.model import Filters, KpiValue, Period
from refdata import db as refdata_db

Kpis = dict[str, KpiValue]
S = TypeVar("S")
SETTLED_TTL_S = 60.0
REFERENCE_TTL_S = 300.0
TARGETS_TTL_S = 30.0


class Data:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.tz = settings.timezone
        self.pool = Pool(settings.database_url)
        self._store_id = hashlib.sha256(settings.database_url.encode()).hexdigest()[:16]
        self._cache: KpiCache | None = None
        self._redis: redis.Redis | None = None
        self._lock = threading.Lock()
        self._reference: tuple[float, Reference] | None = None
        self._targets: tuple[float, list[Target]] | None = None
        self._memo: dict[Hashable, tuple[float, Any]] = {}

    # -- connections and small reads ------------------------------------------------------

    @contextmanager
    def connection(self) -> Iterator[Connection]:
        with self.pool.connection() as conn:
            yield conn

    def now(self) -> datetime:
        """Now in local time, rounded down to the minute (shared by every page that minute)."""
        return datetime.now(self.tz).replace(second=0, microsecond=0)

    def today(self) -> date:
        return datetime.now(self.tz).date()

    def version(self) -> int | None:
        """Ingest's data version, or None while Redis is down."""
        try:
            raw = self._client().get(VERSION_KEY)
        except redis.RedisError:
            return None
        return int(raw) if raw is not None else 0

    def reference(self) -> Reference:
        """The reference data in force today, kept a few minutes in this process."""
        with self._lock:
            cached = self._reference
        today = self.today()
        if cached and time.monotonic() - cached[0] < REFERENCE_TTL_S and cached[1].on == today:
            return cached[1]
        with self.connection() as conn:
            reference = Reference(refdata_db.load(conn), today)
        with self._lock:
            self._reference = (time.monotonic(), reference)
        return reference

    def targets(self) -> list[Target]:
        with self._lock:
            cached = self._targets
        if cached and time.monotonic() - cached[0] < TARGETS_TTL_S:
            return cached[1]
        try:
            with self.connection() as conn:
                found = targets_store.load(conn)
        except DatabaseDown:
            raise
        except IocError:  # no targets table yet: no targets
            found = []
        with self._lock:
            self._targets = (time.monotonic(), found)
        return found

    def latest_event_at(self) -> datetime | None:
        with self.connection() as conn:
            return feed.latest_event_at(conn)

    def latest_events(self, unit: str, limit: int = 8) -> list[feed.Event]:
        below = self.reference().subtree(unit)
        with self.connection() as conn:
            return feed.latest_events(conn, below, limit)

    def active_alerts(self) -> list[dict[str, Any]] | None:
        with self.connection() as conn:
            return feed.active_alerts(conn)

    # -- KPIs ----------------------------------------------------------------------------

    def values(
        self, unit: str, period: Period, filters: Filters, now: datetime, *, settled: bool = False
    ) -> Kpis:
        """Every KPI of ``unit`` (with everything below it).

        ``settled``: for what hardly moves (a previous period), an answer up to a minute old,
        kept in this process, is good enough.
        """
        if settled:
            return self._settled(
                ("values", unit, period, filters), lambda: self.values(unit, period, filters, now)
            )
        answer = self._ask("values", unit, period, filters, now, {}, self._values(unit, period, filters, now))
        return answer[unit]

    def children(self, unit: str, period: Period, filters: Filters, now: datetime) -> dict[str, Kpis]:
        """Every KPI of each child of ``unit``, by child code."""

        def compute() -> Answer:
            with self.connection() as conn:
                return queries.children_values(
                    conn, self.reference().catalog, unit, period, now=now, tz=self.tz, filters=filters
                )

        return self._ask("children", unit, period, filters, now, {}, compute)

    def series(
        self,
        unit: str,
        period: Period,
        grain: queries.Grain,
        filters: Filters,
        now: datetime,
        *,
        settled: bool = False,
    ) -> list[tuple[Period, Kpis]]:
        """Every KPI of ``unit`` per day, week or month of ``period`` (``settled``: see ``values``)."""
        if settled:
            return self._settled(
                ("series", unit, period, grain, filters),
                lambda: self.series(unit, period, grain, filters, now),
            )
        chosen = queries.buckets(period, grain)

        def compute() -> Answer:
            with self.connection() as conn:
                found = queries.series(
                    conn, self.reference().catalog, unit, period, grain, now=now, tz=self.tz, filters=filters
                )
            return {bucket.start.isoformat(): kpis for bucket, kpis in found}

        answer = self._ask("series", unit, period, filters, now, {"grain": grain}, compute)
        return [(b, answer.get(b.start.isoformat(), {})) for b in chosen]

    def breakdown(
        self, unit: str, period: Period, by: queries.Breakdown, filters: Filters, now: datetime
    ) -> dict[str, Kpis]:
        """Every KPI per agency or per procedure within ``unit``."""

        def compute() -> Answer:
            with self.connection() as conn:
                return queries.breakdown(
                    conn, self.reference().catalog, unit, period, by, now=now, tz=self.tz, filters=filters
                )

        return self._ask("breakdown", unit, period, filters, now, {"by": by}, compute)

    def close(self) -> None:
        self.pool.close()
        if self._cache is not None:
            self._cache.close()
        if self._redis is not None:
            self._redis.close()

    # -- helpers -------------------------------------------------------------------------

    def _settled(self, key: Hashable, compute: Callable[[], S]) -> S:
        """``compute()``'s answer, kept in this process for ``SETTLED_TTL_S``."""
        with self._lock:
            found = self._memo.get(key)
        if found is not None and time.monotonic() - found[0] < SETTLED_TTL_S:
            return found[1]  # type: ignore[no-any-return]
        answer = compute()
        with self._lock:
            self._memo = {k: v for k, v in self._memo.items() if time.monotonic() - v[0] < SETTLED_TTL_S}
            self._memo[key] = (time.monotonic(), answer)
        return answer

    def _values(self, unit: str, period: Period, filters: Filters, now: datetime) -> Callable[[], Answer]:
        def compute() -> Answer:
            catalog = self.reference().catalog
            with self.connection() as conn:
                return {
                    unit: queries.values(conn, catalog, unit, period, now=now, tz=self.tz, filters=filters)
                }

        return compute

    def _ask(  # noqa: PLR0917 - the parts of one question, in the order they are said
        self,
        kind: str,
        unit: str,
        period: Period,
        filters: Filters,
        now: datetime,
        extra: dict[str, str],
        compute: Callable[[], Answer],
    ) -> Answer:
        question = {
            "view": f"dashboard.{kind}",
            "store": self._store_id,  # one Redis may serve several databases (tests, staging)
            "unit": unit,
            "start": period.start.isoformat(),
            "end": period.end.isoformat(),
            "filters": asdict(filters),
            "now": now.isoformat(),
            "tz": str(self.tz),
            **extra,
        }
        return self._kpi_cache().answer(question, compute)

    def _kpi_cache(self) -> KpiCache:
        with self._lock:
            if self._cache is None:
                self._cache = KpiCache(self.settings.redis_url)
            return self._cache

    def _client(self) -> redis.Redis:
        with self._lock:
            if self._redis is None:
                self._redis = redis.Redis.from_url(
                    self.settings.redis_url, socket_timeout=0.25, socket_connect_timeout=0.25
                )
            return self._redis


def previous(period: Period) -> Period:
    """The period of the same length just before ``period``."""
    length = period.end - period.start
    return Period(period.start - length, period.start)
