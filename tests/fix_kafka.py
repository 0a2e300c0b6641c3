"""Kafka topics of their own for tests, created on the broker under test and deleted after."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from kafka import KafkaAdminClient
from kafka.admin import NewTopic

from ioc.settings import Settings


@pytest.fixture(scope="session")
def kafka_admin(settings: Settings) -> Iterator[KafkaAdminClient]:
    admin = KafkaAdminClient(bootstrap_servers=list(settings.kafka_bootstrap), client_id="ioc-tests")
    yield admin
    admin.close()


@pytest.fixture
def topic(kafka_admin: KafkaAdminClient) -> Iterator[str]:
    """A new topic with 3 partitions."""
    name = f"test.{uuid.uuid4().hex[:12]}"
    kafka_admin.create_topics([NewTopic(name, num_partitions=3, replication_factor=1)])
    yield name
    kafka_admin.delete_topics([name])
