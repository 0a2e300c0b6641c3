"""What ``/healthz`` reports: the database, Redis, and how fresh the data is.

The database is required (``down`` without it); Redis only speeds things up (``degraded``
without it, pages still work from PostgreSQL); data that stopped arriving makes the report
``stale`` so a wall display or a monitor can say so instead of showing old numbers as live.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import psycopg
import redis

import store
from ioc.errors import IocError
from ioc.settings import Settings

Status = Literal["ok", "stale", "degraded", "down"]
LATEST_EVENT = "SELECT max(occurred_at) FROM events"


@dataclass(frozen=True)
class Health:
    status: Status
    database: bool
    redis: bool
    latest_event_at: datetime | None
    data_age_s: float | None

    def as_dict(self) -> dict[str, object]:
        return {
            "status": self.status,
            "database": "ok" if self.database else "unreachable",
            "redis": "ok" if self.redis else "unreachable",
            "latest_event_at": self.latest_event_at.isoformat() if self.latest_event_at else None,
            "data_age_s": round(self.data_age_s, 1) if self.data_age_s is not None else None,
        }


def check(settings: Settings, now: datetime) -> Health:
    latest: datetime | None = None
    try:
        with store.connect(settings.database_url, autocommit=True) as conn:
            row = conn.execute(LATEST_EVENT).fetchone()
        latest = row[0] if row else None  # type: ignore[assignment]
        database = True
    except (IocError, psycopg.Error):
        database = False
    client = redis.Redis.from_url(settings.redis_url, socket_timeout=0.5, socket_connect_timeout=0.5)
    try:
        reachable = bool(client.ping())
    except redis.RedisError:
        reachable = False
    finally:
        client.close()
    age = (now - latest).total_seconds() if latest is not None else None
    status = status_of(database=database, redis=reachable, age_s=age, stale_after_s=settings.stale_after_s)
    return Health(status, database, reachable, latest, age)


def status_of(*, database: bool, redis: bool, age_s: float | None, stale_after_s: int) -> Status:
    """The one verdict of ``/healthz`` and of every page's footer."""
    if not database:
        return "down"
    if age_s is None or age_s > stale_after_s:
        return "stale"
    return "ok" if redis else "degraded"
