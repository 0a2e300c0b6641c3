"""The simplest correct alternative to ingest, for comparison: one INSERT per event, autocommit.

Each valid event is stored by one autocommitted statement, idempotent on ``event_id``;
each invalid one by one dead-letter INSERT; offsets are committed after every poll, once
its records are stored. It keeps no ``applications`` and no rollups, so it does less
work than ingest: the ratio it gives is a lower bound of ingest's advantage.

``python -m bench.naive --group G --report FILE`` runs until SIGTERM (see bench.worker).
"""

from __future__ import annotations

import argparse
import json
import signal
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from kafka import KafkaConsumer, OffsetAndMetadata

import store
from bench.worker import peak_rss_mb
from ingest.contract import Decoded, decode
from ingest.kafka_options import kafka_client_options
from ioc.settings import Settings
from refdata import db as refdata_db

INSERT_EVENT = """
WITH claimed AS (
    INSERT INTO event_ids (event_id, occurred_at) VALUES (%(id)s, %(at)s)
    ON CONFLICT (event_id) DO NOTHING
    RETURNING event_id
)
INSERT INTO events (event_id, occurred_at, event_type, application_id, procedure_code,
                    agency_code, unit_code, payload, source)
SELECT event_id, %(at)s, %(type)s, %(app)s, %(proc)s, %(agency)s, %(unit)s, %(payload)s::jsonb, %(source)s
  FROM claimed
"""
INSERT_DEAD_LETTER = """
INSERT INTO dead_letters (topic, partition, "offset", payload, reason)
VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING
"""


def run(settings: Settings, group: str, stop: threading.Event) -> list[tuple[float, float, int]]:
    """Consume until ``stop``; return (end time, seconds, records) of each poll's writes."""
    polls: list[tuple[float, float, int]] = []
    consumer = KafkaConsumer(
        settings.topic,
        bootstrap_servers=list(settings.kafka_bootstrap),
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        **kafka_client_options(settings),
    )
    with store.connect(settings.database_url, autocommit=True) as conn:
        codes = refdata_db.load(conn)
        try:
            while not stop.is_set():
                for tp, records in consumer.poll(timeout_ms=200).items():
                    started = time.monotonic()
                    for record in records:
                        outcome = decode(
                            record.value,
                            now=datetime.now(UTC),
                            unit_codes=codes.unit_codes,
                            agency_codes=codes.agency_codes,
                            procedure_codes=codes.procedure_codes,
                        )
                        if isinstance(outcome, Decoded):
                            event = outcome.event
                            conn.execute(
                                INSERT_EVENT,
                                {
                                    "id": event.event_id,
                                    "at": event.occurred_at,
                                    "type": event.event_type,
                                    "app": event.application_id,
                                    "proc": event.procedure_code,
                                    "agency": event.agency_code,
                                    "unit": event.unit_code,
                                    "payload": outcome.payload,
                                    "source": f"{record.topic}/{record.partition}/{record.offset}",
                                },
                            )
                        else:
                            conn.execute(
                                INSERT_DEAD_LETTER,
                                (record.topic, record.partition, record.offset, record.value, outcome.reason),
                            )
                    consumer.commit({tp: OffsetAndMetadata(records[-1].offset + 1, "", -1)})
                    polls.append((time.time(), time.monotonic() - started, len(records)))
        finally:
            consumer.close(autocommit=False)
    return polls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--group", required=True)
    parser.add_argument("--report", type=Path, required=True)
    args = parser.parse_args()
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    polls = run(Settings.from_env(), args.group, stop)
    args.report.write_text(json.dumps({"batches": polls, "peak_rss_mb": round(peak_rss_mb(), 1)}))


if __name__ == "__main__":
    main()
