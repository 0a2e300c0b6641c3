"""The local stack: real Kafka, PostgreSQL (with TimescaleDB) and Redis on one machine.

``up`` provisions what is missing and starts what is not running, idempotently, and
returns the ``IOC_*`` settings that reach the three servers; ``down`` stops them and
keeps their data; ``purge`` removes the data too (caches stay, so the next ``up``
downloads and builds nothing).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable

from stack import kafka_broker, postgres, redis_server
from stack.layout import ServiceStatus, StackConfig

Log = Callable[[str], None]

SERVICES = ("kafka", "postgres", "redis")


def up(cfg: StackConfig, *, log: Log) -> dict[str, str]:
    """Start every server; return the settings that reach them."""
    cfg.root.mkdir(parents=True, exist_ok=True)
    return {
        "IOC_KAFKA_BOOTSTRAP": kafka_broker.up(cfg, log=log),
        "IOC_DATABASE_URL": postgres.up(cfg, log=log),
        "IOC_REDIS_URL": redis_server.up(cfg, log=log),
    }


def down(cfg: StackConfig, *, purge: bool = False) -> list[str]:
    """Stop every server, names of those that were running; ``purge`` deletes their data."""
    stopped = [
        name
        for name, stop in (
            ("kafka", kafka_broker.down),
            ("postgres", postgres.down),
            ("redis", redis_server.down),
        )
        if stop(cfg)
    ]
    if purge:
        for name in SERVICES:
            shutil.rmtree(cfg.service_dir(name), ignore_errors=True)
    return stopped


def status(cfg: StackConfig) -> list[ServiceStatus]:
    return [kafka_broker.status(cfg), postgres.status(cfg), redis_server.status(cfg)]
