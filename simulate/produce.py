"""Sending the simulated messages: history as fast as possible, then live as time comes.

``produce`` is the whole run against Kafka; ``send`` paces any message stream into any
``Sink`` (a Kafka producer, or a list in tests). History (every event up to the start
of the run) goes out as fast as the sink takes it; in live mode every later message
waits until its time has come, so no event is ever in the future. ``count`` stops the
run after that many messages. Ctrl-C stops it too; what was sent is flushed first.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any, Protocol

from kafka import KafkaProducer
from kafka.errors import KafkaError

from ingest.kafka_options import kafka_client_options
from ioc.errors import UnreachableError
from ioc.settings import KafkaSecurity
from refdata.model import ReferenceData
from simulate.errors import SendError, SimulateError
from simulate.faults import NO_FAULTS, Faults, Message
from simulate.scenarios import Scenario
from simulate.stream import DEFAULT_RATE, Plan, messages, prepare

PROGRESS_EVERY_S = 1.0
FLUSH_TIMEOUT_S = 120.0
MAX_SLEEP_S = 1.0
PRODUCER_CONFIG: dict[str, Any] = {
    "acks": "all",
    "enable_idempotence": True,  # with up to 5 requests in flight, order per partition is kept
    "linger_ms": 20,
    "batch_size": 512 * 1024,
    "max_request_size": 4 * 1024 * 1024,
    "allow_auto_create_topics": False,
    "metrics_enabled": False,  # kafka-python's metrics cost a lot per record
    "client_id": "ioc-simulate",
}


class Sink(Protocol):
    def send(self, key: bytes, value: bytes) -> None: ...

    def flush(self) -> None: ...


@dataclass(frozen=True)
class Progress:
    phase: str  # "history" or "live"
    sent: int
    elapsed_s: float
    per_second: float  # messages per second since the run started
    latest: datetime | None  # send time of the latest message


@dataclass
class Summary:
    """What a run sent."""

    seed: int
    scenario: Scenario
    faults: Faults
    rate: float
    applications_per_day: float
    sent: int = 0  # every message
    history: int = 0  # messages sent as history
    events: Counter[str] = field(default_factory=Counter)  # distinct valid events, by type
    duplicates: int = 0
    late: int = 0
    reordered: int = 0
    malformed: Counter[str] = field(default_factory=Counter)
    elapsed_s: float = 0.0
    interrupted: bool = False  # stopped by Ctrl-C

    def count(self, message: Message) -> None:
        self.sent += 1
        if message.event_type is None:
            self.malformed[message.fault.removeprefix("malformed:")] += 1
        elif message.fault == "duplicate":
            self.duplicates += 1
        else:
            self.events[message.event_type] += 1
            self.late += message.fault == "late"
            self.reordered += message.fault == "reordered"

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: what was sent and the scenario's details."""
        scenario = self.scenario
        return {
            "seed": self.seed,
            "rate_events_per_s": self.rate,
            "applications_per_day": round(self.applications_per_day, 1),
            "sent": self.sent,
            "history": self.history,
            "live": self.sent - self.history,
            "events": dict(sorted(self.events.items())),
            "applications": self.events["submitted"],
            "duplicates": self.duplicates,
            "late": self.late,
            "reordered": self.reordered,
            "malformed": dict(sorted(self.malformed.items())),
            "faults": str(self.faults),
            "scenario": {
                "name": scenario.name,
                "unit_code": scenario.unit_code,
                "unit_name": scenario.unit_name,
                "start": scenario.start.isoformat() if scenario.start else None,
                "affected_units": len(scenario.affected),
                "params": dict(scenario.params),
            },
            "elapsed_s": round(self.elapsed_s, 3),
            "interrupted": self.interrupted,
            "per_second": round(self.sent / self.elapsed_s) if self.elapsed_s > 0 else None,
        }


class KafkaSink:
    """A kafka-python producer for one topic: acks from all replicas, idempotent, batched.

    ``security`` None: the ``IOC_KAFKA_*`` security settings of the environment.
    """

    def __init__(
        self, bootstrap: tuple[str, ...], topic: str, *, security: KafkaSecurity | None = None, **config: Any
    ) -> None:
        self.topic = topic
        self.failures = 0
        self.first_error: BaseException | None = None
        try:
            self._producer = KafkaProducer(
                bootstrap_servers=list(bootstrap),
                **{**PRODUCER_CONFIG, **kafka_client_options(security), **config},
            )
        except KafkaError as exc:
            msg = f"IOC_KAFKA_BOOTSTRAP={','.join(bootstrap)!r}: cannot reach Kafka: {exc}"
            raise UnreachableError(msg) from None

    def send(self, key: bytes, value: bytes) -> None:
        self._producer.send(self.topic, key=key, value=value).add_errback(self._failed)

    def flush(self) -> None:
        self._producer.flush(timeout=FLUSH_TIMEOUT_S)
        if self.failures:
            msg = f"Kafka refused {self.failures} messages to {self.topic}: {self.first_error}"
            raise SendError(msg)

    def close(self) -> None:
        self._producer.close(timeout=FLUSH_TIMEOUT_S)

    def _failed(self, error: BaseException) -> None:
        self.failures += 1
        self.first_error = self.first_error or error


def send(
    stream: Iterable[Message],
    sink: Sink,
    summary: Summary,
    *,
    history_until: int,
    live: bool,
    count: int | None = None,
    progress: Callable[[Progress], None] | None = None,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
) -> Summary:
    """Send ``stream`` into ``sink``, counting into ``summary``; flush at the end (or on Ctrl-C).

    Messages up to ``history_until`` (epoch seconds) go at once; with ``live`` later ones
    wait for their time, without it they go at once too (faults held back at the end).
    """
    started = clock()
    reported = started
    latest: int | None = None

    def report(phase: str) -> None:
        if progress is not None:
            elapsed = clock() - started
            moment = None if latest is None else datetime.fromtimestamp(latest, UTC)
            progress(
                Progress(phase, summary.sent, elapsed, summary.sent / elapsed if elapsed else 0.0, moment)
            )

    try:
        for message in stream:
            if live and message.at > history_until:
                while (wait := message.at - clock()) > 0:
                    sleep(min(wait, MAX_SLEEP_S))
                    if progress is not None and clock() - reported >= PROGRESS_EVERY_S:
                        reported = clock()
                        report("live")
            sink.send(message.key, message.value)
            summary.count(message)
            summary.history += message.at <= history_until
            latest = message.at
            if count is not None and summary.sent >= count:
                break
            if progress is not None and summary.sent % 512 == 0 and clock() - reported >= PROGRESS_EVERY_S:
                reported = clock()
                report("history" if message.at <= history_until else "live")
    except KeyboardInterrupt:
        summary.interrupted = True
    finally:
        sink.flush()
        summary.elapsed_s = clock() - started
        report("done")
    return summary


def produce(
    refdata: ReferenceData,
    *,
    bootstrap: tuple[str, ...],
    security: KafkaSecurity | None = None,
    topic: str,
    tz: tzinfo,
    seed: int = 1,
    history_days: float = 0.0,
    rate: float | None = None,
    count: int | None = None,
    scenario: str = "normal",
    faults: Faults = NO_FAULTS,
    now: datetime | None = None,
    progress: Callable[[Progress], None] | None = None,
) -> Summary:
    """Simulate into ``topic``: ``history_days`` of history up to ``now``, then live at ``rate``.

    ``rate`` (events per second, the weekly mean) also sets the volume of history; without
    it there is no live mode and history runs at ``DEFAULT_RATE``. The topic must exist.
    ``security`` None: the ``IOC_KAFKA_*`` security settings of the environment.
    Raises SimulateError for a run that cannot go (a scenario unit not in the data…) and
    SendError when Kafka refused messages.
    """
    if history_days <= 0 and rate is None:
        msg = "nothing to simulate: give history days, a live rate, or both"
        raise SimulateError(msg)
    try:
        plan = plan_run(
            refdata, tz=tz, seed=seed, history_days=history_days, rate=rate, scenario=scenario, now=now
        )
    except ValueError as exc:  # a scenario or reference data this run cannot use
        raise SimulateError(str(exc)) from None
    sink = KafkaSink(bootstrap, topic, security=security)
    try:
        return send(
            messages(plan, faults=faults, live=rate is not None),
            sink,
            new_summary(plan, faults),
            history_until=int(plan.now.timestamp()),
            live=rate is not None,
            count=count,
            progress=progress,
        )
    finally:
        sink.close()


def plan_run(
    refdata: ReferenceData,
    *,
    tz: tzinfo,
    seed: int,
    history_days: float,
    rate: float | None,
    scenario: str,
    now: datetime | None = None,
) -> Plan:
    """The plan of a run: ``now`` defaults to the current second."""
    moment = now or datetime.now(tz).replace(microsecond=0)
    return prepare(
        refdata,
        seed=seed,
        now=moment,
        history_days=history_days,
        rate=rate or DEFAULT_RATE,
        scenario=scenario,
        tz=tz,
    )


def new_summary(plan: Plan, faults: Faults) -> Summary:
    return Summary(
        seed=plan.seed,
        scenario=plan.scenario,
        faults=faults,
        rate=plan.rate,
        applications_per_day=plan.applications_per_day,
    )
