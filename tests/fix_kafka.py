"""Kafka topics of their own for tests, created on the broker under test and deleted after."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import KafkaConnectionError, KafkaTimeoutError, NodeNotReadyError

from ioc.settings import Settings


def pytest_configure(config: pytest.Config) -> None:
    """kafka-python 3.0 now and then lets a closed client's broker socket reach the garbage
    collector unclosed (seen once in several runs, never from our own code). Only that
    warning, for sockets to the broker under test, is tolerated; every other one fails."""
    # A connection attempt kafka-python abandons (a broker restarting, a client closed
    # while connecting) leaves a never-connected socket, without a remote address, the same way.
    config.addinivalue_line(
        "filterwarnings",
        r"ignore:Exception ignored in. <socket\.socket [^>]*laddr=\('0\.0\.0\.0', \d+\)>"
        ":pytest.PytestUnraisableExceptionWarning",
    )
    for server in Settings.from_env().kafka_bootstrap:
        host, port = server.rsplit(":", 1)
        config.addinivalue_line(
            "filterwarnings",
            rf"ignore:Exception ignored in. <socket\.socket .*raddr=\('{re.escape(host)}', {port}\)"
            ":pytest.PytestUnraisableExceptionWarning",
        )


class PatientAdmin:
    """The session's admin client, patient with a broker a test just restarted: a call that
    finds no ready connection is tried again for up to a minute."""

    RETRY_FOR_S = 60.0

    def __init__(self, admin: KafkaAdminClient) -> None:
        self._admin = admin

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._admin, name)
        if not callable(attr):
            return attr

        def patiently(*args: Any, **kwargs: Any) -> Any:
            deadline = time.monotonic() + self.RETRY_FOR_S
            while True:
                try:
                    return attr(*args, **kwargs)
                except (NodeNotReadyError, KafkaConnectionError, KafkaTimeoutError):
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.5)

        return patiently


@pytest.fixture(scope="session")
def kafka_admin(settings: Settings) -> Iterator[PatientAdmin]:
    admin = KafkaAdminClient(bootstrap_servers=list(settings.kafka_bootstrap), client_id="ioc-tests")
    yield PatientAdmin(admin)
    admin.close()


@pytest.fixture
def topic(kafka_admin: KafkaAdminClient) -> Iterator[str]:
    """A new topic with 3 partitions."""
    name = f"test.{uuid.uuid4().hex[:12]}"
    kafka_admin.create_topics([NewTopic(name, num_partitions=3, replication_factor=1)])
    yield name
    kafka_admin.delete_topics([name])
