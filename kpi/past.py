"""Past buckets of a time series, kept in Redis while the history they read stays the same.

A series' bucket that ended before today (local) has ``t`` = its end, so its KPIs change only
when an event happened before that end arrives late, or when its own days' rollup rows change
(a payment counts on the day its application was received, a rating on the day it was
resolved, whenever they come). Ingest counts both per local day (ingest/notify.py), and a
past bucket is cached under a stamp read from those counters before it is computed: the late
batches of days up to its last day, and the rollup changes of its own days. Counters only
grow, so an equal stamp means nothing it read has changed since; the stamp is part of the key,
and one round trip fetches every bucket.

The buckets that are not cached (missing, or stale, or not over) are computed in one query;
at least one always is, because ``overdue_open`` and ``due_soon_open`` are at now in every
bucket and are taken from it. Entries expire after ``ttl_s``, which bounds how long a change
that bypassed ingest (reference data reloaded, rollups rebuilt by hand) can go unseen. When
Redis is down every bucket is computed: slower, right.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from typing import Any

import orjson
import redis

from ingest.notify import LATE_DAYS_KEY, ROLLUP_DAYS_KEY
from ioc.redis_backoff import Backoff, as_bytes
from kpi.cache import decode, encode
from kpi.model import KpiValue, Period
from kpi.queries import AT_NOW

log = logging.getLogger("ioc.kpi")

Kpis = dict[str, KpiValue]
Compute = Callable[[Sequence[Period]], list[Kpis]]


class PastBuckets:
    def __init__(
        self, url: str, *, ttl_s: float = 3600.0, prefix: str = "ioc:bucket:", history_prefix: str = ""
    ) -> None:
        self._client = redis.Redis.from_url(url, socket_timeout=0.25, socket_connect_timeout=0.25)
        self._history_keys = (history_prefix + LATE_DAYS_KEY, history_prefix + ROLLUP_DAYS_KEY)
        self._ttl_ms = int(ttl_s * 1000)
        self._prefix = prefix
        self._redis = Backoff(log, "past buckets come from PostgreSQL for now")
        self.computed = 0  # buckets computed by this instance, for tests and benchmarks

    def series(
        self, question: Mapping[str, Any], chosen: Sequence[Period], *, today: date, compute: Compute
    ) -> list[Kpis]:
        """Each of ``chosen``'s KPIs: past ones from the cache where still true, the rest from
        ``compute`` (one call, the buckets in order); ``question`` names all else they depend on."""
        if not chosen:
            return []
        keys = self._keys(question, chosen, today)
        cached = {i: kpis for i, kpis in enumerate(self._read(keys)) if kpis is not None}
        computed = [i for i in range(len(chosen)) if i not in cached] or [len(chosen) - 1]
        fresh = dict(zip(computed, compute([chosen[i] for i in computed]), strict=True))
        self.computed += len(fresh)
        at_now = {k: v for k, v in fresh[computed[-1]].items() if k in AT_NOW}
        answer = {i: kpis | at_now for i, kpis in cached.items()} | fresh
        self._write({key: fresh[i] for i in computed if (key := keys[i]) is not None})
        return [answer[i] for i in range(len(chosen))]

    def close(self) -> None:
        self._client.close()

    def _keys(self, question: Mapping[str, Any], chosen: Sequence[Period], today: date) -> list[str | None]:
        """A key per bucket that ended before today, with the stamp of what it reads; None for the others."""
        if all(bucket.end > today for bucket in chosen) or not self._redis.up():
            return [None] * len(chosen)
        try:
            with self._client.pipeline(transaction=False) as pipe:
                for key in self._history_keys:
                    pipe.hgetall(key)
                late, rollup = (_by_day(reply) for reply in pipe.execute())
        except redis.RedisError as exc:
            self._redis.failed(exc)
            return [None] * len(chosen)
        asked = orjson.dumps(question, option=orjson.OPT_SORT_KEYS, default=str)
        keys: list[str | None] = []
        for bucket in chosen:
            if bucket.end > today:
                keys.append(None)
                continue
            stamp = (
                sum(n for day, n in late.items() if day < bucket.end),
                sum(n for day, n in rollup.items() if bucket.start <= day < bucket.end),
            )
            digest = hashlib.sha256(asked + f"|{bucket.start}|{bucket.end}".encode()).hexdigest()[:32]
            keys.append(f"{self._prefix}{digest}:{stamp[0]}:{stamp[1]}")
        return keys

    def _read(self, keys: list[str | None]) -> list[Kpis | None]:
        wanted = [k for k in keys if k is not None]
        if not wanted:
            return [None] * len(keys)
        try:
            replies = iter(self._client.mget(wanted))
        except redis.RedisError as exc:
            self._redis.failed(exc)
            return [None] * len(keys)
        read = [next(replies) if k is not None else None for k in keys]
        return [decode(as_bytes(r))[""] if r is not None else None for r in read]

    def _write(self, entries: Mapping[str, Kpis]) -> None:
        if not entries or not self._redis.up():
            return
        try:
            with self._client.pipeline(transaction=False) as pipe:
                for key, kpis in entries.items():
                    pipe.set(key, encode({"": kpis}), px=self._ttl_ms)
                pipe.execute()
        except redis.RedisError as exc:
            self._redis.failed(exc)


def _by_day(reply: Mapping[bytes | str, bytes | str]) -> dict[date, int]:
    return {date.fromisoformat(_text(day)): int(_text(n)) for day, n in reply.items()}


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
