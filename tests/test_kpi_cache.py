"""KPI answers in real Redis: a hit equals the answer, a new data version misses, Redis down still answers."""

from __future__ import annotations

import time
from fractions import Fraction

import redis

from ioc.settings import Settings
from kpi.cache import Answer, KpiCache, decode, encode
from kpi.model import KpiValue
from tests.net import free_port

ANSWER: Answer = {
    "01": {
        "on_time_rate": KpiValue("on_time_rate", 2, 3, Fraction(2, 3)),
        "vneid_rate": KpiValue("vneid_rate", 0, 0, None),
        "received": KpiValue("received", 3, None, 3),
    },
    "79": {"avg_processing_days": KpiValue("avg_processing_days", 7, 2, Fraction(7, 2))},
}


class Counting:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> Answer:
        self.calls += 1
        return ANSWER


def test_answers_survive_the_round_trip_exactly():
    assert decode(encode(ANSWER)) == ANSWER


def test_a_hit_until_the_data_version_moves(settings: Settings, redis_client: redis.Redis, redis_prefix: str):
    cache = KpiCache(settings.redis_url, prefix=redis_prefix, version_key=f"{redis_prefix}version")
    compute = Counting()
    question = {"unit": "01", "period": ["2026-11-01", "2026-11-28"]}
    assert cache.answer(question, compute) == ANSWER
    started = time.perf_counter()
    assert cache.answer(question, compute) == ANSWER
    hit_ms = (time.perf_counter() - started) * 1000
    assert compute.calls == 1
    assert cache.answer({**question, "unit": "79"}, compute) == ANSWER
    assert compute.calls == 2  # another question
    redis_client.incr(f"{redis_prefix}version")  # what ingest does after a batch
    assert cache.answer(question, compute) == ANSWER
    assert compute.calls == 3
    assert hit_ms < 50  # generous: the figure that counts comes from `ioc bench kpi`
    cache.close()


def test_redis_down_still_answers_from_the_database():
    cache = KpiCache(f"redis://127.0.0.1:{free_port()}/0")
    compute = Counting()
    assert cache.answer({"unit": "01"}, compute) == ANSWER
    assert cache.answer({"unit": "01"}, compute) == ANSWER
    assert compute.calls == 2
    cache.close()
