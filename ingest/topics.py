"""The events topic: created when missing, with enough partitions to scale ingest out."""

from __future__ import annotations

from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from ingest.kafka_options import kafka_client_options
from ioc.errors import UnreachableError
from ioc.settings import KafkaSecurity

DEFAULT_PARTITIONS = 6


def ensure_topic(
    bootstrap: tuple[str, ...],
    topic: str,
    *,
    partitions: int = DEFAULT_PARTITIONS,
    security: KafkaSecurity | None = None,
) -> None:
    """Create ``topic`` unless it exists (the broker does not create topics on its own).

    ``security`` None: the ``IOC_KAFKA_*`` security settings of the environment.
    """
    try:
        admin = KafkaAdminClient(
            bootstrap_servers=list(bootstrap), client_id="ioc-topics", **kafka_client_options(security)
        )
    except KafkaError as exc:
        msg = f"IOC_KAFKA_BOOTSTRAP={','.join(bootstrap)!r}: cannot reach Kafka: {exc}"
        raise UnreachableError(msg) from None
    try:
        if topic not in admin.list_topics():
            admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1)])
    except TopicAlreadyExistsError:
        pass  # another process created it meanwhile
    finally:
        admin.close()
