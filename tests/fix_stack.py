"""The servers the tests use: the local stack, or services named by IOC_* variables.

``scripts/test`` starts the stack and exports its settings; run alone, pytest starts it
itself. A missing service is an error, never a skip: tests here run on real servers.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from dataclasses import replace

import pytest

import stack
from ioc.settings import Settings
from stack import postgres
from stack.layout import StackConfig

SERVICE_VARS = ("IOC_KAFKA_BOOTSTRAP", "IOC_DATABASE_URL", "IOC_REDIS_URL")


def _log(line: str) -> None:
    sys.stderr.write(f"stack: {line}\n")


@pytest.fixture(scope="session")
def settings() -> Settings:
    """Settings of the services under test; the stack is started unless all are given."""
    current = Settings.from_env()
    if not all(os.environ.get(name) for name in SERVICE_VARS):
        stack.up(current.stack, log=_log)
    return current


@pytest.fixture(scope="session")
def plain_stack(settings: Settings) -> Iterator[StackConfig]:
    """A second, plain PostgreSQL 15 (no TimescaleDB), started for the session and removed after."""
    base = settings.stack
    cfg = replace(
        StackConfig(root=base.root / "test-plain"),
        postgres_port=int(os.environ.get("IOC_TEST_PLAIN_POSTGRES_PORT", base.postgres_port + 10)),
        timescaledb=False,
    )
    postgres.up(cfg, log=_log)
    yield cfg
    stack.down(cfg, purge=True)


@pytest.fixture(scope="session")
def local_stack(settings: Settings) -> StackConfig:
    """The local stack itself, for tests of provisioning; skipped only when the suite was
    pointed at external services with IOC_* variables."""
    if settings.database_url != postgres.url(settings.stack):
        pytest.skip("the suite runs on external services, not on the local stack")
    return settings.stack
