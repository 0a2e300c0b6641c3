"""After a batch commits, tell open dashboards and the alert engine what changed, via Redis.

Best effort by design: Redis carries cache invalidation, not data, so when it is down
ingest goes on, warns at most once a minute, and tries again after a pause; readers
fall back to PostgreSQL. The data version only ever grows, so a reader that missed a
message still sees that its cache is stale.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable

import redis

CHANNEL = "ioc:changes"
VERSION_KEY = "ioc:data-version"
RETRY_AFTER_S = 5.0
WARN_EVERY_S = 60.0

log = logging.getLogger("ioc.ingest")


class ChangeNotifier:
    def __init__(self, url: str) -> None:
        self._client = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self._down_until = 0.0
        self._warned_at = 0.0

    def publish(self, units: Iterable[str]) -> bool:
        """Announce the changed units; returns whether Redis took the message."""
        now = time.monotonic()
        if now < self._down_until:
            return False
        try:
            version = int(self._client.incr(VERSION_KEY))
            message = json.dumps({"version": version, "units": sorted(units)})
            self._client.publish(CHANNEL, message)
        except redis.RedisError as exc:
            self._down_until = now + RETRY_AFTER_S
            if now - self._warned_at >= WARN_EVERY_S:
                self._warned_at = now
                log.warning("Redis unreachable, changes not announced (ingest goes on): %s", exc)
            return False
        return True

    def close(self) -> None:
        self._client.close()
