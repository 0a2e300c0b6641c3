"""Dead letters: list them, and send fixed ones through Kafka again.

A replayed message is checked with the same decoder ingest uses, against the reference
data in the database now, so only a message that will be accepted is sent; the dead
letter stays (nothing is deleted) and records when and where it was replayed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import psycopg
from kafka import KafkaProducer
from psycopg.rows import class_row

from ingest.contract import Decoded, decode
from ioc.errors import IocError
from refdata import db as refdata_db

Connection = psycopg.Connection[tuple[object, ...]]

LIST = """
SELECT id, topic, partition, "offset", reason, first_seen, replayed_at, payload
  FROM dead_letters
 WHERE (%(reason)s::text IS NULL OR reason ILIKE '%%' || %(reason)s || '%%')
   AND (%(pending)s = false OR replayed_at IS NULL)
 ORDER BY id DESC
 LIMIT %(limit)s
"""
ONE = """
SELECT id, topic, partition, "offset", reason, first_seen, replayed_at, payload
  FROM dead_letters WHERE id = %(id)s
"""
MARK = "UPDATE dead_letters SET replayed_at = now(), replayed_to = %(to)s WHERE id = %(id)s"


class ReplayError(IocError):
    """A dead letter cannot be replayed as it is."""


@dataclass(frozen=True)
class DeadLetterRow:
    id: int
    topic: str
    partition: int
    offset: int
    reason: str
    first_seen: datetime
    replayed_at: datetime | None
    payload: bytes


def list_dead_letters(
    conn: Connection, *, limit: int = 50, reason: str | None = None, pending_only: bool = False
) -> list[DeadLetterRow]:
    with conn.cursor(row_factory=class_row(DeadLetterRow)) as cur:
        return cur.execute(LIST, {"limit": limit, "reason": reason, "pending": pending_only}).fetchall()


def replay(
    conn: Connection, producer: KafkaProducer, topic: str, dead_letter_id: int, payload: bytes | None = None
) -> str:
    """Send the dead letter (or ``payload``, its fixed version) to ``topic``; return where it went."""
    with conn.cursor(row_factory=class_row(DeadLetterRow)) as cur:
        row = cur.execute(ONE, {"id": dead_letter_id}).fetchone()
    if row is None:
        msg = f"no dead letter with id {dead_letter_id}"
        raise ReplayError(msg)
    value = payload if payload is not None else row.payload
    data = refdata_db.load(conn)
    outcome = decode(
        value,
        now=datetime.now(UTC),
        unit_codes=data.unit_codes,
        agency_codes=data.agency_codes,
        procedure_codes=data.procedure_codes,
    )
    if not isinstance(outcome, Decoded):
        msg = f"dead letter {dead_letter_id} would be rejected again: {outcome.reason}"
        raise ReplayError(msg)
    key = outcome.event.application_id.encode()
    sent = producer.send(topic, key=key, value=value).get(timeout=30)
    where = f"{sent.topic}/{sent.partition}/{sent.offset}"
    with conn.transaction():
        conn.execute(MARK, {"id": dead_letter_id, "to": where})
    return where
