"""KPI answers cached in Redis, keyed by the question and the data version.

Ingest increments ``ioc:data-version`` after every batch it commits (ingest/notify.py), so an
answer cached under an older version is never read again: no invalidation messages to miss.
Answers also expire after ``ttl_s``, since some KPIs move with the clock alone (overdue, due
soon, t = now); callers pass ``now`` rounded to the minute so that pages asking within the
same minute share one answer. When Redis is down every question goes to PostgreSQL, slower
but right, and Redis is tried again after a pause.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Mapping
from fractions import Fraction
from typing import Any

import orjson
import redis

from ingest.notify import VERSION_KEY
from ioc.redis_backoff import Backoff, as_bytes
from kpi.model import KpiValue

log = logging.getLogger("ioc.kpi")

Answer = dict[str, dict[str, KpiValue]]  # scope (unit, agency, procedure…) → KPI key → value


class KpiCache:
    def __init__(
        self, url: str, *, ttl_s: float = 120.0, prefix: str = "ioc:kpi:", version_key: str = VERSION_KEY
    ) -> None:
        self._client = redis.Redis.from_url(url, socket_timeout=0.25, socket_connect_timeout=0.25)
        self._ttl_ms = int(ttl_s * 1000)
        self._prefix = prefix
        self._version_key = version_key
        self._redis = Backoff(log, "KPIs come from PostgreSQL for now")

    def answer(self, question: Mapping[str, Any], compute: Callable[[], Answer]) -> Answer:
        """The cached answer to ``question`` (JSON-able), else ``compute()``'s, then cached."""
        if not self._redis.up():
            return compute()
        try:
            version = as_bytes(self._client.get(self._version_key) or b"0")
            key = self._key(question, version)
            cached = self._client.get(key)
            if cached is not None:
                return decode(as_bytes(cached))
        except redis.RedisError as exc:
            self._redis.failed(exc)
            return compute()
        result = compute()
        try:
            self._client.set(key, encode(result), px=self._ttl_ms)
        except redis.RedisError as exc:
            self._redis.failed(exc)
        return result

    def close(self) -> None:
        self._client.close()

    def _key(self, question: Mapping[str, Any], version: bytes) -> str:
        text = orjson.dumps(question, option=orjson.OPT_SORT_KEYS, default=str)
        return f"{self._prefix}{version.decode()}:{hashlib.sha256(text).hexdigest()[:32]}"


def encode(answer: Answer) -> bytes:
    """An answer as JSON; fractions as [numerator, denominator]."""
    return orjson.dumps(
        {
            scope: {k: [v.numerator, v.denominator, _value_out(v.value)] for k, v in kpis.items()}
            for scope, kpis in answer.items()
        }
    )


def decode(data: bytes) -> Answer:
    return {
        scope: {k: KpiValue(k, n, d, _value_in(value)) for k, (n, d, value) in kpis.items()}
        for scope, kpis in orjson.loads(data).items()
    }


def _value_out(value: Fraction | int | None) -> object:
    return [value.numerator, value.denominator] if isinstance(value, Fraction) else value


def _value_in(value: object) -> Fraction | int | None:
    if isinstance(value, list):
        return Fraction(int(value[0]), int(value[1]))
    return value if isinstance(value, int) or value is None else int(str(value))
