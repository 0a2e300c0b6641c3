"""The Redis under test answers commands and carries pub/sub messages."""

import redis

from ioc.settings import Settings


def test_set_get_and_expire(redis_client: redis.Redis, redis_prefix: str):
    key = f"{redis_prefix}kpi"
    assert redis_client.set(key, "0,957", ex=60)
    assert redis_client.get(key) == b"0,957"
    assert 0 < redis_client.ttl(key) <= 60


def test_publish_reaches_a_subscriber(settings: Settings, redis_client: redis.Redis, redis_prefix: str):
    channel = f"{redis_prefix}changed"
    pubsub = redis.Redis.from_url(settings.redis_url).pubsub()
    pubsub.subscribe(channel)
    assert pubsub.get_message(timeout=5)["type"] == "subscribe"
    assert redis_client.publish(channel, "unit:01") == 1
    message = pubsub.get_message(timeout=5)
    pubsub.close()
    assert message is not None
    assert message["data"] == b"unit:01"
