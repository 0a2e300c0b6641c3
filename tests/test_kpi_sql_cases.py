"""Every hand-built case of the reference's tests, answered by the SQL too, on both servers.

Each case of tests/test_kpi_reference.py asks ``kpis(...)``; here that call also writes the
case's events through the real sink (in two batches, shuffled) into a migrated database and
asserts that ``kpi.queries`` gives exactly the reference's answer.
"""

from __future__ import annotations

import inspect
import json
import random
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import psycopg
import pytest

from ingest.contract import Decoded, decode
from ingest.sink import Accepted, write_batch
from kpi import queries
from kpi.model import Filters, Period
from refdata import db as refdata_db
from tests import test_kpi_reference as cases
from tests.fix_db import empty_store

Connection = psycopg.Connection[tuple[object, ...]]
CATALOG = queries.Catalog.of(cases.REFDATA)
CASES = [
    f
    for name, f in vars(cases).items()
    if name.startswith("test_")
    and callable(f)
    and not inspect.signature(f).parameters
    and any(call in inspect.getsource(f) for call in ("kpis(", "value("))
    and not hasattr(f, "hypothesis")
]
reference_kpis = cases.kpis


def answered_by_sql(conn: Connection) -> Callable[..., dict[str, Any]]:
    def kpis(*apps: cases.App, unit_code: str = "00001", period=cases.MARCH, now: datetime = cases.AFTER,
             **filters: str) -> dict[str, Any]:  # fmt: skip
        expected = reference_kpis(*apps, unit_code=unit_code, period=period, now=now, **filters)
        empty_store(conn)
        bodies = [e for app in apps for e in app.events]
        random.Random(len(bodies)).shuffle(bodies)
        half = len(bodies) // 2
        for batch in (bodies[:half], bodies[half:]):
            accepted = []
            for i, body in enumerate(batch):
                outcome = decode(
                    json.dumps(body).encode(), now=now + timedelta(days=3650), unit_codes=CATALOG.units
                )
                assert isinstance(outcome, Decoded), outcome
                accepted.append(Accepted(outcome, f"t/0/{i}"))
            with conn.transaction():
                write_batch(conn, accepted, [], cases.TZ)
        answer = queries.values(
            conn, CATALOG, unit_code, Period(*period), now=now, tz=cases.TZ, filters=Filters(**filters)
        )
        assert answer == expected
        return expected

    return kpis


@pytest.mark.parametrize("case", CASES, ids=[f.__name__.removeprefix("test_") for f in CASES])
def test_the_sql_agrees(case: Callable[[], None], migrated: Connection, monkeypatch: pytest.MonkeyPatch):
    with migrated.transaction():
        refdata_db.save(migrated, cases.REFDATA)
    monkeypatch.setattr(cases, "kpis", answered_by_sql(migrated))
    case()


def test_the_cases_are_found():
    assert len(CASES) >= 15
