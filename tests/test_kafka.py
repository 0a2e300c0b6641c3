"""The broker is a real Kafka that kafka-python can produce to and consume from in a group."""

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from ioc.settings import Settings


def test_produce_and_consume_in_a_group_with_manual_commits(settings: Settings, topic: str):
    bootstrap = list(settings.kafka_bootstrap)
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    sent = {f"HS-{i:03d}".encode(): f'{{"n": {i}}}'.encode() for i in range(30)}
    for key, value in sent.items():
        producer.send(topic, key=key, value=value)
    producer.flush(timeout=30)
    producer.close()

    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"{topic}-group",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=10_000,
    )
    received: dict[bytes, bytes] = {}
    partitions_of_key: dict[bytes, int] = {}
    for record in consumer:
        received[record.key] = record.value
        partitions_of_key[record.key] = record.partition
        if len(received) == len(sent):
            break
    consumer.commit()
    committed = {
        p: consumer.committed(TopicPartition(topic, p)) for p in consumer.partitions_for_topic(topic)
    }
    consumer.close()

    assert received == sent
    assert len(set(partitions_of_key.values())) > 1, "keys should spread over the topic's partitions"
    assert sum(offset or 0 for offset in committed.values()) == len(sent)


def test_a_committed_group_resumes_after_its_offsets(settings: Settings, topic: str):
    bootstrap = list(settings.kafka_bootstrap)
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    for i in range(5):
        producer.send(topic, key=b"HS-1", value=str(i).encode())
    producer.flush(timeout=30)

    def read(n: int) -> list[bytes]:
        consumer = KafkaConsumer(
            topic,
            bootstrap_servers=bootstrap,
            group_id=f"{topic}-resume",
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            consumer_timeout_ms=5_000,
        )
        values = []
        for record in consumer:
            values.append(record.value)
            if len(values) == n:
                break
        consumer.commit()
        consumer.close()
        return values

    assert read(3) == [b"0", b"1", b"2"]
    for i in range(5, 7):
        producer.send(topic, key=b"HS-1", value=str(i).encode())
    producer.flush(timeout=30)
    producer.close()
    assert read(10) == [b"3", b"4", b"5", b"6"]
