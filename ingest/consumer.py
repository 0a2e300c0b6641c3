"""The ingest loop: Kafka records in, one database transaction per batch, then offsets.

Order of work for each batch, which is what makes "exactly once" hold across crashes:

1. poll records until the batch is full (``batch_size``) or old enough (``batch_wait_s``);
2. decode each; invalid ones become dead letters with their reason;
3. write dead letters, events, applications and rollups in one transaction and commit;
4. commit the batch's Kafka offsets;
5. announce the changed units on Redis (best effort).

Step 3 runs on a writer thread while the main thread, the only one that touches the Kafka
consumer, collects and decodes the next batch: the database works while Python reads Kafka.
(The writer loads the reference codes that decoding checks against, and decodes a batch
itself until it has them.)
At most one batch is in flight, and a batch is handed over only after the previous one's
offsets are committed, so offsets are committed in order.

A crash before 3 commits loses nothing (Kafka redelivers); between 3 and 4 the batch is
redelivered and changes nothing (events are idempotent on ``event_id``). When PostgreSQL
is unreachable the batch is retried with capped exponential backoff, partitions paused so
the consumer stays in its group without fetching more, and no offset is committed.
Every record read is written, even when a rebalance moved its partition meanwhile: an eager
rebalance revokes every partition and may give some back with their positions kept, so
dropping records read before it would leave a gap. A partition that moved for good is
re-read by its new owner, harmlessly; its offsets are committed only by its owner.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import psycopg
from kafka import KafkaConsumer, OffsetAndMetadata, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord
from kafka.consumer.subscription_state import ConsumerRebalanceListener
from kafka.errors import CommitFailedError, KafkaError

from ingest.contract import DEFAULT_MAX_FUTURE_SKEW, Decoded, decode
from ingest.kafka_options import kafka_client_options
from ingest.metrics import IngestMetrics
from ingest.notify import ChangeNotifier, PastChanges
from ingest.sink import Accepted, BatchResult, DeadLetter, write_batch
from ioc.errors import UnreachableError
from ioc.settings import Settings
from refdata import db as refdata_db
from store import connect

log = logging.getLogger("ioc.ingest")
LAG_EVERY_S = 5.0
WAIT_STEP_S = 0.5  # how often the main thread looks after the group while a batch is written

Connection = psycopg.Connection[tuple[object, ...]]
Records = list[ConsumerRecord]
_Decoded = tuple[list[Accepted], list[DeadLetter]]


@dataclass(frozen=True)
class _Codes:
    """The reference codes events are checked against."""

    units: frozenset[str]
    agencies: frozenset[str]
    procedures: frozenset[str]


@dataclass(frozen=True)
class IngestOptions:
    group_id: str = "ioc-ingest"
    batch_size: int = 2000
    batch_wait_s: float = 0.5
    max_future_skew: timedelta = DEFAULT_MAX_FUTURE_SKEW
    refdata_refresh_s: float = 60.0
    backoff_max_s: float = 30.0
    # A crashed member's partitions move to the others after this long (Kafka's client
    # default, 45 s, leaves the crashed member's share of the wall stale too long).
    session_timeout_ms: int = 10_000


@dataclass
class Totals:
    """What one run did, for its closing line (the metrics carry times and lag)."""

    batches: int = 0
    stored: int = 0
    duplicates: int = 0
    dead_letters: int = 0

    def add(self, result: BatchResult) -> None:
        self.batches += 1
        self.stored += result.stored
        self.duplicates += result.duplicates
        self.dead_letters += result.dead_letters


class _RebalanceLog(ConsumerRebalanceListener):  # type: ignore[misc]
    """Logs partition moves (kafka-python calls it on its network thread: nothing more here)."""

    def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        log.info("partitions revoked: %s", sorted(f"{tp.topic}/{tp.partition}" for tp in revoked))

    def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        log.info("partitions assigned: %s", sorted(f"{tp.topic}/{tp.partition}" for tp in assigned))


class Ingestor:
    """One consumer-group member; ``run`` until ``stop`` is set."""

    def __init__(
        self, settings: Settings, options: IngestOptions | None = None, metrics: IngestMetrics | None = None
    ) -> None:
        self.settings = settings
        self.options = options or IngestOptions()
        self.metrics = metrics or IngestMetrics()
        self._lag_checked_at = 0.0
        self.totals = Totals()
        self._conn: Connection | None = None
        self._codes_loaded_at = -1e9
        # unit, agency and procedure codes: replaced whole by the writer, read by both threads
        self._codes: _Codes | None = None
        # what retention will delete is refused at the door (0 keeps everything)
        self._max_age = timedelta(days=settings.retention_days) if settings.retention_days else None
        self._database_down = threading.Event()

    # --- the loop ---------------------------------------------------------------------

    def run(self, stop: threading.Event, *, on_batch: Callable[[BatchResult], None] | None = None) -> Totals:
        consumer = KafkaConsumer(
            bootstrap_servers=list(self.settings.kafka_bootstrap),
            group_id=self.options.group_id,
            client_id=f"{self.options.group_id}-{random.getrandbits(32):08x}",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=self.options.batch_size,
            session_timeout_ms=self.options.session_timeout_ms,
            heartbeat_interval_ms=self.options.session_timeout_ms // 3,
            **kafka_client_options(self.settings),
        )
        consumer.subscribe([self.settings.topic], listener=_RebalanceLog())
        notifier = ChangeNotifier(self.settings.redis_url)
        writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ioc-ingest-writer")
        in_flight: tuple[Records, Future[BatchResult | None]] | None = None
        records: Records = []
        try:
            while True:
                records = self._collect(consumer, stop, records, in_flight and in_flight[1])
                if in_flight is not None:
                    written, future = in_flight
                    in_flight = None
                    result = self._wait(consumer, future, records)
                    if result is None:  # stopped while the database was down: abandon the batch
                        break
                    self._commit(consumer, written)
                    self._measure_lag(consumer)
                    if result.changed_units:
                        notifier.publish(result.changed_units, self._past_changes(result))
                    if on_batch is not None:
                        on_batch(result)
                if stop.is_set():
                    break  # what was read and not handed over is read again by the next owner
                if records:
                    decoded = self._decode(records, self._codes) if self._codes else None
                    in_flight = (records, writer.submit(self._write, records, decoded, stop))
                    records = []
        except BaseException:
            stop.set()  # the writer gives up its retries
            raise
        finally:
            writer.shutdown(wait=True, cancel_futures=True)
            notifier.close()
            consumer.close(autocommit=False)
            if self._conn is not None:
                self._conn.close()
        return self.totals

    def _collect(
        self,
        consumer: KafkaConsumer,
        stop: threading.Event,
        records: Records,
        writing: Future[BatchResult | None] | None,
    ) -> Records:
        """``records`` and more, until the batch is full or old enough, or the batch being
        written is done (its offsets and notification should not wait)."""
        deadline = time.monotonic() + self.options.batch_wait_s

        def due() -> bool:
            return time.monotonic() >= deadline or (writing is not None and writing.done())

        while len(records) < self.options.batch_size and not stop.is_set():
            if due() and records:
                break
            left = deadline - time.monotonic()
            polled = consumer.poll(
                timeout_ms=max(50, int(left * 1000)) if writing is None else 50,
                max_records=self.options.batch_size - len(records),
            )
            for batch in polled.values():
                records.extend(batch)
            if due():
                break
        return records

    def _wait(
        self, consumer: KafkaConsumer, future: Future[BatchResult | None], held: Records
    ) -> BatchResult | None:
        """The writer's result; meanwhile, while the database is down, partitions are paused
        and polled now and then so the group keeps this member (what a poll still returns,
        from partitions assigned meanwhile, goes to ``held``)."""
        paused = False
        while True:
            try:
                result = future.result(timeout=WAIT_STEP_S)
                break
            except FutureTimeout:
                if self._database_down.is_set():
                    if not paused:
                        consumer.pause(*consumer.assignment())
                        paused = True
                    for batch in consumer.poll(timeout_ms=0).values():
                        held.extend(batch)
        if paused:
            consumer.resume(*consumer.paused())
        return result

    def _write(self, records: Records, decoded: _Decoded | None, stop: threading.Event) -> BatchResult | None:
        """Write one batch (decoded by the main thread once codes are known, else here),
        retrying while the database is unreachable (writer thread)."""
        delay = 0.5
        while not stop.is_set():
            try:
                conn = self._connection()
                codes = self._refresh_codes(conn)
                accepted, dead = decoded or self._decode(records, codes)
                started = time.monotonic()
                with conn.transaction():
                    result = write_batch(conn, accepted, dead, self.settings.timezone)
                seconds = time.monotonic() - started
                self.totals.add(result)
                self.metrics.batch(result, seconds)
                self.metrics.database_up.set(1)
                if self._database_down.is_set():
                    self._database_down.clear()
                    log.info("database reachable again; ingest resumed")
                return result
            except (
                psycopg.OperationalError,
                psycopg.errors.TransactionRollback,
                UnreachableError,
            ) as exc:
                self._drop_connection()
                log.warning(
                    "database unreachable, batch kept, retrying in %.1f s: %s",
                    delay,
                    str(exc).strip().splitlines()[0],
                )
                self.metrics.database_up.set(0)
                self._database_down.set()
                stop.wait(delay)
                delay = min(delay * 2, self.options.backoff_max_s) * random.uniform(0.8, 1.0)  # noqa: S311 - jitter
        return None

    def _commit(self, consumer: KafkaConsumer, records: Records) -> None:
        """Commit the written records' offsets, for the partitions this member still owns."""
        assigned = consumer.assignment()
        offsets: dict[TopicPartition, OffsetAndMetadata] = {}
        for record in records:
            tp = TopicPartition(record.topic, record.partition)
            if tp in assigned and (tp not in offsets or offsets[tp].offset <= record.offset):
                offsets[tp] = OffsetAndMetadata(record.offset + 1, "", -1)
        if not offsets:
            return
        try:
            consumer.commit(offsets)
        except (CommitFailedError, KafkaError) as exc:
            # The group rebalanced: the partitions' new owner re-reads these records,
            # which are already stored and change nothing.
            log.warning(
                "offset commit refused after a rebalance (records will be re-read harmlessly): %s", exc
            )

    def _past_changes(self, result: BatchResult) -> PastChanges:
        """What the batch changed before today, local time, for the caches of past buckets."""
        tz = self.settings.timezone
        today = datetime.now(tz).date()
        return PastChanges.of(result.earliest_event_at, result.rollup_days, today=today, tz=tz)

    def _measure_lag(self, consumer: KafkaConsumer) -> None:
        """Records behind each assigned partition's end, every few seconds at most."""
        if time.monotonic() - self._lag_checked_at < LAG_EVERY_S:
            return
        self._lag_checked_at = time.monotonic()
        assigned = list(consumer.assignment())
        try:
            ends = consumer.end_offsets(assigned)
            for tp in assigned:
                self.metrics.lag.labels(tp.topic, str(tp.partition)).set(ends[tp] - consumer.position(tp))
        except KafkaError as exc:
            log.debug("consumer lag not measured: %s", exc)

    # --- decoding and reference data ----------------------------------------------------

    def _decode(self, records: Records, codes: _Codes) -> _Decoded:
        now = datetime.now(UTC)
        accepted: list[Accepted] = []
        dead: list[DeadLetter] = []
        for record in records:
            outcome = decode(
                record.value,
                now=now,
                unit_codes=codes.units,
                agency_codes=codes.agencies,
                procedure_codes=codes.procedures,
                max_future_skew=self.options.max_future_skew,
                max_age=self._max_age,
            )
            if isinstance(outcome, Decoded):
                accepted.append(Accepted(outcome, f"{record.topic}/{record.partition}/{record.offset}"))
            else:
                dead.append(
                    DeadLetter(
                        record.topic, record.partition, record.offset, record.value or b"", outcome.reason
                    )
                )
        return accepted, dead

    def _refresh_codes(self, conn: Connection) -> _Codes:
        if (
            self._codes is not None
            and time.monotonic() - self._codes_loaded_at < self.options.refdata_refresh_s
        ):
            return self._codes
        data = refdata_db.load(conn)
        self._codes = _Codes(data.unit_codes, data.agency_codes, data.procedure_codes)
        self._codes_loaded_at = time.monotonic()
        if not data.unit_codes:
            log.warning(
                "no units in the database: every event will be a dead letter (run `ioc refdata load`)"
            )
        return self._codes

    # --- connection -----------------------------------------------------------------------

    def _connection(self) -> Connection:
        if self._conn is None or self._conn.closed:
            self._conn = connect(self.settings.database_url, autocommit=True)
        return self._conn

    def _drop_connection(self) -> None:
        if self._conn is not None:
            self._conn.close()
        self._conn = None
