"""The alert engine and Redis, best effort both ways: hearing ingest's changes (``ioc:changes``)
to evaluate sooner, and telling open dashboards about firing and resolved alerts
(``PUBLISH ioc:alerts <json>``, and the data version they poll, through ``ChangeNotifier``).

Redis down changes nothing the engine must do: evaluations go on at their interval, webhooks
go on being delivered; a warning at most once a minute, and a new try every few seconds.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Iterable
from typing import Any

import redis

from ingest.notify import CHANNEL as CHANGES
from ingest.notify import ChangeNotifier
from ioc.redis_backoff import Backoff

ALERTS = "ioc:alerts"

log = logging.getLogger("ioc.alerts")


class Announcer:
    """Publishes alerts to open dashboards."""

    def __init__(self, url: str) -> None:
        self._redis = Backoff(log, "alerts not announced (the engine goes on)")
        self._client = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self._changes = ChangeNotifier(url)

    def publish(self, notices: Iterable[dict[str, Any]]) -> bool:
        """Each notice on ``ioc:alerts``, then one data version bump for their units."""
        chosen = list(notices)
        if not chosen or not self._redis.up():
            return False
        try:
            for notice in chosen:
                self._client.publish(ALERTS, json.dumps(notice, ensure_ascii=False))
        except redis.RedisError as exc:
            self._redis.failed(exc)
            return False
        return self._changes.publish({n["unit_code"] for n in chosen})

    def close(self) -> None:
        self._client.close()
        self._changes.close()


class Changes:
    """Ingest's change announcements; ``wait`` returns early when one arrives."""

    def __init__(self, url: str) -> None:
        self._redis = Backoff(log, "changes not heard (the engine goes on)")
        self._client = redis.Redis.from_url(url, socket_timeout=2.0, socket_connect_timeout=0.5)
        self._pubsub: Any = None

    def wait(self, timeout_s: float) -> frozenset[str] | None:
        """Wait up to ``timeout_s`` (at most a second a call) for a change: the changed units
        it names (empty when it names none), or None when nothing came."""
        timeout_s = max(0.0, min(timeout_s, 1.0))
        if self._pubsub is None and self._redis.up():
            try:
                pubsub = self._client.pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call]
                pubsub.subscribe(CHANGES)
                self._pubsub = pubsub
            except redis.RedisError as exc:
                self._redis.failed(exc)
        if self._pubsub is None:
            time.sleep(timeout_s)
            return None
        try:
            message = self._pubsub.get_message(timeout=timeout_s)
        except (redis.RedisError, OSError) as exc:
            self._close_pubsub()
            self._redis.failed(exc)
            return None
        if message is None or message.get("type") != "message":
            return None
        try:
            units = json.loads(message["data"]).get("units", [])
        except (ValueError, AttributeError):
            units = []
        return frozenset(str(u) for u in units)

    def _close_pubsub(self) -> None:
        with contextlib.suppress(redis.RedisError, OSError):
            self._pubsub.close()
        self._pubsub = None

    def close(self) -> None:
        if self._pubsub is not None:
            self._close_pubsub()
        self._client.close()
