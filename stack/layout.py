"""Where the local stack keeps things, and on which ports its servers listen.

Everything lives under one state folder (``IOC_STACK_DIR``, default ``.stack``)::

    .stack/
      cache/maven/         Maven's local repository (Kafka's jars are resolved into it)
      cache/kafka/<ver>/   the classpath of one Kafka version
      cache/pip/           pip's download cache (scripts/)
      cache/timescaledb/   the TimescaleDB build, reused by later installs
      kafka/   postgres/   redis/    data, configuration, log and pid of each server
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class StackConfig:
    """Settings of the local stack (see ``ioc.settings.stack_config``)."""

    root: Path
    kafka_port: int = 19092
    kafka_controller_port: int = 19093
    postgres_port: int = 15432
    redis_port: int = 16379
    kafka_version: str = "4.3.1"
    timescaledb: bool = True

    @property
    def cache(self) -> Path:
        return self.root / "cache"

    def service_dir(self, name: str) -> Path:
        return self.root / name


@dataclass(frozen=True)
class ServiceStatus:
    """What ``ioc stack status`` says of one server."""

    name: str
    running: bool
    pid: int | None
    url: str
    detail: str = ""
