"""After a batch commits, tell open dashboards and the alert engine what changed, via Redis.

Best effort by design: Redis carries cache invalidation, not data, so when it is down
ingest goes on, warns at most once a minute, and tries again after a pause; readers
fall back to PostgreSQL. The data version only ever grows, so a reader that missed a
message still sees that its cache is stale.

What a batch changed before today (local) is also counted, per day, for the caches of past
buckets (kpi/past.py): the day of its earliest event when that is before today (a late event
changes every bucket after it), and the past days whose daily rollup rows it changed (a
payment or rating changes the day its application was received or resolved). Counters only
grow; what could not be announced while Redis was down is announced with the next batch.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, tzinfo

import redis

from ioc.redis_backoff import Backoff

CHANNEL = "ioc:changes"
VERSION_KEY = "ioc:data-version"
LATE_DAYS_KEY = "ioc:history:late-days"  # local day → batches whose earliest event was that day
ROLLUP_DAYS_KEY = "ioc:history:rollup-days"  # local day → batches that changed its rollup rows

log = logging.getLogger("ioc.ingest")


@dataclass(frozen=True)
class PastChanges:
    """What a batch changed before today: the day of its earliest event (when before today),
    and the past days whose daily rollup rows changed."""

    late_from: date | None = None
    days: frozenset[date] = frozenset()

    @classmethod
    def of(
        cls, earliest: datetime | None, rollup_days: Iterable[date], *, today: date, tz: tzinfo
    ) -> PastChanges:
        late = earliest.astimezone(tz).date() if earliest is not None else None
        return cls(
            late if late is not None and late < today else None,
            frozenset(d for d in rollup_days if d < today),
        )

    def __or__(self, other: PastChanges) -> PastChanges:
        lates = [d for d in (self.late_from, other.late_from) if d is not None]
        return PastChanges(min(lates, default=None), self.days | other.days)

    def __bool__(self) -> bool:
        return self.late_from is not None or bool(self.days)


class ChangeNotifier:
    def __init__(self, url: str, *, history_prefix: str = "") -> None:
        self._client = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self._late_key = history_prefix + LATE_DAYS_KEY  # a prefix keeps a test's counters its own
        self._rollup_key = history_prefix + ROLLUP_DAYS_KEY
        self._redis = Backoff(log, "changes not announced (ingest goes on)")
        self._unannounced = PastChanges()  # past changes of batches Redis did not take

    def publish(self, units: Iterable[str], past: PastChanges = PastChanges()) -> bool:
        """Announce the changed units (and days before today); returns whether Redis took it."""
        past = self._unannounced | past
        if not self._redis.up():
            self._unannounced = past
            return False
        try:
            with self._client.pipeline(transaction=False) as pipe:
                if past.late_from is not None:
                    pipe.hincrby(self._late_key, past.late_from.isoformat(), 1)
                for day in sorted(past.days):
                    pipe.hincrby(self._rollup_key, day.isoformat(), 1)
                pipe.incr(VERSION_KEY)
                version = int(pipe.execute()[-1])
            self._client.publish(CHANNEL, json.dumps({"version": version, "units": sorted(units)}))
        except redis.RedisError as exc:
            self._unannounced = past
            self._redis.failed(exc)
            return False
        self._unannounced = PastChanges()
        return True

    def close(self) -> None:
        self._client.close()
