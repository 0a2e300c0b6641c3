"""Everything a page reads, in one place: KPIs through ``kpi.queries`` and the Redis cache,
reference data, targets, the data version, the latest events, alert episodes; and the few
writes of pages (acknowledging an alert, editing targets, each in one transaction with its
``audit_log`` entry when an ``Actor`` is given), each followed by a move of the data version so
that every open page sees it.

KPIs come only from ``kpi.queries`` (``values``, ``children_values``, ``series``,
``breakdown``), each answer wrapped in ``KpiCache.answer`` under a question that names
everything it depends on, with ``now`` rounded down to the minute so that every page asking
within a minute shares one answer; ingest's data version is part of the cache key, so a new
batch is seen at once. Redis down: answers come from PostgreSQL, and ``version`` says None.

A view that shows one KPI asks for it alone (``kpi=``): that narrower answer is drawn from the
whole one (every KPI of every scope, itself cached for the other views) and cached under its
own question, so reading it back decodes a few values instead of every KPI of every scope.

The whole country (``COUNTRY``) is answered by ``kpi.queries`` like any unit, in one query.

Per-process state is only reference data (reloaded every few minutes), the connection pool and
the Redis clients; nothing another worker needs.
"""

from __future__ import annotations

import functools
import hashlib
import threading
import time
from collections.abc import Callable, Collection, Hashable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any, TypeVar

import redis

from alerts import episodes
from alerts import store as targets_store
from alerts.targets import Target
from auth import audit
from dashboard import feed, health
from dashboard.errors import DatabaseDown
from dashboard.pool import Connection, Pool
from dashboard.reference import Reference
from ingest.notify import VERSION_KEY, ChangeNotifier
from ioc.errors import IocError
from ioc.settings import Settings
from kpi import queries
from kpi.cache import Answer, KpiCache
from kpi.model import Filters, KpiValue, Period
from kpi.past import PastBuckets
from refdata import db as refdata_db

Kpis = dict[str, KpiValue]
S = TypeVar("S")
SETTLED_TTL_S = 60.0
REFERENCE_TTL_S = 300.0
TARGETS_TTL_S = 30.0
SLOWER_WITHOUT_REDIS = 10  # pages poll this many times slower while Redis is down
FRESHNESS_TTL_S = 15.0  # the footer's look at the database, shared by a process's pages, at most this old


@dataclass(frozen=True)
class Poll:
    """One look at ingest's data version by an open page's timer."""

    version: int | None  # None: Redis is down (pages then recompute on every slower beat)
    interval_ms: int  # when to look again

    def moved(self, seen: object) -> bool:
        """Whether the page must recompute what it shows at version ``seen``."""
        return self.version is None or self.version != seen


@dataclass(frozen=True)
class Freshness:
    """Whether the database answered, and its latest event's time, at ``version``."""

    version: int | None
    database: bool
    latest: datetime | None


@dataclass(frozen=True)
class Actor:
    """Who makes a write and from where, as the audit trail records them (``auth.audit``)."""

    name: str
    address: str | None


class Data:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.tz = settings.timezone
        self.pool = Pool(settings.database_url)
        self._store_id = hashlib.sha256(settings.database_url.encode()).hexdigest()[:16]
        self._cache: KpiCache | None = None
        self._past: PastBuckets | None = None
        self._redis: redis.Redis | None = None
        self._lock = threading.Lock()
        self._reference: tuple[float, Reference] | None = None
        self._targets: tuple[float, list[Target]] | None = None
        self._memo: dict[Hashable, tuple[float, Any]] = {}
        self._had_events_at: float | None = None
        self._freshness: tuple[float, Freshness] | None = None

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

    def poll(self, poll_ms: int) -> Poll:
        """The data version for a page's timer, and its next interval (slower without Redis)."""
        version = self.version()
        return Poll(version, poll_ms if version is not None else poll_ms * SLOWER_WITHOUT_REDIS)

    def status(self, beat: Poll, now: datetime) -> health.Status:
        """What a page's footer says after the poll ``beat``: as ``/healthz``, from Redis's answer
        to the poll and the database's latest event, read once for every page of this process
        when the data version moved, else at most every ``FRESHNESS_TTL_S``."""
        found = self._freshness_at(beat.version)
        age = (now - found.latest).total_seconds() if found.latest is not None else None
        return health.status_of(
            database=found.database,
            redis=beat.version is not None,
            age_s=age,
            stale_after_s=self.settings.stale_after_s,
        )

    def _freshness_at(self, version: int | None) -> Freshness:
        with self._lock:
            cached = self._freshness
        if cached and cached[1].version == version and time.monotonic() - cached[0] < FRESHNESS_TTL_S:
            return cached[1]
        try:
            found = Freshness(version, True, self.latest_event_at())
        except DatabaseDown:
            found = Freshness(version, False, None)
        with self._lock:
            self._freshness = (time.monotonic(), found)
        return found

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

    def has_events(self) -> bool:
        """Whether the store has received any event. A yes is kept in this process for
        ``SETTLED_TTL_S`` (a store does not empty itself); a no is asked again every time."""
        with self._lock:
            seen_at = self._had_events_at
        if seen_at is not None and time.monotonic() - seen_at < SETTLED_TTL_S:
            return True
        if self.latest_event_at() is None:
            return False
        with self._lock:
            self._had_events_at = time.monotonic()
        return True

    def latest_events(self, unit: str, limit: int = 8) -> list[feed.Event]:
        below = self.reference().subtree(unit)
        with self.connection() as conn:
            return feed.latest_events(conn, below, limit)

    # -- alerts and targets (alerts.episodes, alerts.store) -----------------------------------

    def alerts(self, unit: str, *, active_only: bool, limit: int = 200) -> list[episodes.Episode]:
        """Alert episodes in ``unit`` and below it: firing ones first (most severe, newest), then
        resolved ones (newest first) unless ``active_only``."""
        below = self.reference().subtree(unit)
        with self.connection() as conn:
            return episodes.listing(conn, active_only=active_only, units=below, limit=limit)

    def alert_summary(self, unit: str) -> episodes.Summary:
        """How many alerts fire in ``unit`` and below it, and the most severe."""
        below = self.reference().subtree(unit)
        with self.connection() as conn:
            return episodes.summary(conn, below)

    def alert(self, alert_id: int) -> episodes.Episode | None:
        """One alert episode, or None (pages check its unit before acting on it)."""
        with self.connection() as conn:
            return episodes.get(conn, alert_id)

    def acknowledge(
        self, alert_id: int, by: str, actor: Actor | None = None
    ) -> episodes.Acknowledgement | None:
        """Acknowledge an episode (``episodes.BadName`` for a bad name), audited as ``actor``'s in
        the same transaction, and tell open pages."""
        with self.connection() as conn, conn.transaction():
            done = episodes.acknowledge(conn, alert_id, by)
            if done is not None and done.recorded and actor is not None:
                detail = {"unit": done.episode.unit_code, "kpi": done.episode.kpi, "name": by}
                _audit(conn, actor, "alert_acknowledged", f"alert:{alert_id}", detail)
        if done is not None and done.recorded:
            self.announce([done.episode.unit_code])
        return done

    def record(self, actor: Actor, action: audit.Action, subject: str, detail: dict[str, Any]) -> None:
        """One audit entry of a read worth tracing (an export)."""
        with self.connection() as conn:
            _audit(conn, actor, action, subject, detail)

    def saved_targets(self) -> list[Target]:
        """Every target as saved now (``targets`` may be a few seconds old)."""
        with self.connection() as conn:
            return targets_store.load(conn)

    def save_target(self, target: Target, actor: Actor | None = None) -> None:
        with self.connection() as conn, conn.transaction():
            targets_store.save(conn, [target])
            if actor is not None:
                _audit(conn, actor, "target_saved", f"target:{target.name}", target_detail(target))
        self._targets_changed(target.unit)

    def delete_target(self, name: str, actor: Actor | None = None) -> bool:
        with self.connection() as conn, conn.transaction():
            gone = next((t for t in targets_store.load(conn) if t.name == name), None)
            deleted = targets_store.delete(conn, name)
            if deleted and actor is not None and gone is not None:
                _audit(conn, actor, "target_deleted", f"target:{name}", target_detail(gone))
        self._targets_changed(None)
        return deleted

    def announce(self, units: Collection[str]) -> bool:
        """Move the data version (as ingest does after a batch), so that open pages recompute;
        best effort: False while Redis is down."""
        notifier = ChangeNotifier(self.settings.redis_url)
        try:
            return notifier.publish(units)
        finally:
            notifier.close()

    def _targets_changed(self, unit: str | None) -> None:
        with self._lock:
            self._targets = None
        self.announce([unit] if unit else [])

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

    def children(
        self, unit: str, period: Period, filters: Filters, now: datetime, *, kpi: str | None = None
    ) -> dict[str, Kpis]:
        """Every KPI of each child of ``unit``, by child code (``kpi``: that one only)."""

        def compute() -> Answer:
            with self.connection() as conn:
                return queries.children_values(
                    conn, self.reference().catalog, unit, period, now=now, tz=self.tz, filters=filters
                )

        return self._ask("children", unit, period, filters, now, {}, compute, kpi=kpi)

    def series(
        self,
        unit: str,
        period: Period,
        grain: queries.Grain,
        filters: Filters,
        now: datetime,
        *,
        settled: bool = False,
        kpi: str | None = None,
    ) -> list[tuple[Period, Kpis]]:
        """Every KPI of ``unit`` per day, week or month of ``period`` (``settled``: see ``values``;
        ``kpi``: that one only)."""
        if settled:
            return self._settled(
                ("series", unit, period, grain, filters, kpi),
                lambda: self.series(unit, period, grain, filters, now, kpi=kpi),
            )
        chosen = queries.buckets(period, grain)

        def of(some: Sequence[Period]) -> list[Kpis]:
            with self.connection() as conn:
                return queries.bucket_values(
                    conn, self.reference().catalog, unit, some, now=now, tz=self.tz, filters=filters
                )

        def compute() -> Answer:
            question = {"store": self._store_id, "unit": unit, "filters": asdict(filters), "tz": str(self.tz)}
            today = min(now.astimezone(self.tz).date(), self.today())
            found = self._past_buckets().series(question, chosen, today=today, compute=of)
            return {bucket.start.isoformat(): kpis for bucket, kpis in zip(chosen, found, strict=True)}

        answer = self._ask("series", unit, period, filters, now, {"grain": grain}, compute, kpi=kpi)
        return [(b, answer.get(b.start.isoformat(), {})) for b in chosen]

    def breakdown(
        self,
        unit: str,
        period: Period,
        by: queries.Breakdown,
        filters: Filters,
        now: datetime,
        *,
        kpi: str | None = None,
    ) -> dict[str, Kpis]:
        """Every KPI per agency or per procedure within ``unit`` (``kpi``: that one only)."""

        def compute() -> Answer:
            with self.connection() as conn:
                return queries.breakdown(
                    conn, self.reference().catalog, unit, period, by, now=now, tz=self.tz, filters=filters
                )

        return self._ask("breakdown", unit, period, filters, now, {"by": by}, compute, kpi=kpi)

    def close(self) -> None:
        self.pool.close()
        if self._cache is not None:
            self._cache.close()
        if self._past is not None:
            self._past.close()
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
        *,
        kpi: str | None = None,
    ) -> Answer:
        """The answer to the question, through the cache; ``kpi``: that KPI alone, a smaller
        answer cached on its own and drawn from the whole one."""
        if kpi is not None:
            whole = functools.partial(self._ask, kind, unit, period, filters, now, extra, compute)
            narrow = {**extra, "kpi": kpi}
            return self._ask(kind, unit, period, filters, now, narrow, lambda: only(whole(), kpi))
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

    def _past_buckets(self) -> PastBuckets:
        with self._lock:
            if self._past is None:
                self._past = PastBuckets(self.settings.redis_url)
            return self._past

    def _client(self) -> redis.Redis:
        with self._lock:
            if self._redis is None:
                self._redis = redis.Redis.from_url(
                    self.settings.redis_url, socket_timeout=0.25, socket_connect_timeout=0.25
                )
            return self._redis


def target_detail(target: Target) -> dict[str, Any]:
    """A target as the audit trail keeps it: every field, numbers as text (JSON has no decimals)."""
    return {k: str(v) if v is not None and not isinstance(v, str) else v for k, v in asdict(target).items()}


def _audit(
    conn: Connection, actor: Actor, action: audit.Action, subject: str, detail: dict[str, Any]
) -> None:
    audit.record(conn, actor.name, action, subject=subject, address=actor.address, detail=detail)


def only(answer: Answer, kpi: str) -> Answer:
    """``answer`` with ``kpi`` alone in each scope (a scope without it is kept, empty)."""
    return {scope: {kpi: kpis[kpi]} if kpi in kpis else {} for scope, kpis in answer.items()}


def previous(period: Period) -> Period:
    """The period of the same length just before ``period``."""
    length = period.end - period.start
    return Period(period.start - length, period.start)
