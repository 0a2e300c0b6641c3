"""Rollups of ``applications`` per local day (and month, and year), unit, agency, procedure and channel.

What one application adds to the rollups is defined once, by the SQL function
``rollup_contributions(application, timezone)`` (migration 0010). Ingest changes the rollups
by each changed application's new contributions minus its old ones (ingest/sink.py);
``compute`` sums them from scratch, which is what the rollups must always equal, and
``rebuild`` replaces them by that (after the holiday calendar changed, since working days
depend on it).
"""

from __future__ import annotations

from typing import Literal

import psycopg
from psycopg import sql

KEY = ("day", "unit_code", "agency_code", "procedure_code", "channel")
COUNTERS = (
    "received",
    "received_full_online",
    "received_vneid",
    "received_reused",
    "received_with_fee",
    "received_paid_online",
    "settled_on_time",
    "settled_digitized",
    "settled_digitized_unless_document",
    "settled_late_or_unsatisfied",
    "resolved",
    "resolved_approved",
    "resolved_approved_e_result",
    "processed",
    "processing_days",
)
Table = Literal["rollup_daily", "rollup_monthly", "rollup_yearly"]
TABLES: tuple[Table, ...] = ("rollup_daily", "rollup_monthly", "rollup_yearly")
# A row's day from a contribution's day: monthly and yearly rows are keyed by their first day.
FIRST_DAY = {
    "rollup_daily": "day",
    "rollup_monthly": "date_trunc('month', day)::date",
    "rollup_yearly": "date_trunc('year', day)::date",
}

# Every application's contributions summed per key.
_COMPUTE = """
SELECT {day} AS day, c.unit_code, c.agency_code, c.procedure_code, c.channel, {sums}
  FROM applications a, rollup_contributions(a, %(tz)s) c
 GROUP BY 1, 2, 3, 4, 5
 ORDER BY 1, 2, 3, 4, 5
"""


def _compute(table: Table) -> sql.Composed:
    return sql.SQL(_COMPUTE).format(
        day=sql.SQL(FIRST_DAY[table]),
        sums=sql.SQL(", ").join(
            sql.SQL("sum(c.{0})::bigint AS {0}").format(sql.Identifier(c)) for c in COUNTERS
        ),
    )


Connection = psycopg.Connection[tuple[object, ...]]


def compute(conn: Connection, table: Table, tz: str) -> list[tuple[object, ...]]:
    """Every row of ``table`` computed from scratch, ordered by key (the invariant's reference)."""
    return conn.execute(_compute(table), {"tz": tz}).fetchall()


def stored(conn: Connection, table: Table) -> list[tuple[object, ...]]:
    """Every row of ``table`` as stored, ordered by key, in ``compute``'s shape."""
    query = sql.SQL("SELECT {key}, {counters} FROM {table} ORDER BY {key}").format(
        key=sql.SQL(", ").join(map(sql.Identifier, KEY)),
        counters=sql.SQL(", ").join(sql.SQL("{}::bigint").format(sql.Identifier(c)) for c in COUNTERS),
        table=sql.Identifier(table),
    )
    return conn.execute(query).fetchall()


def rebuild(conn: Connection, tz: str) -> None:
    """Replace the rollups by their from-scratch sums, inside the caller's transaction.

    Takes the rollups' locks first, so a concurrent ingest batch waits and then adds its
    delta to the rebuilt rows.
    """
    conn.execute(
        sql.SQL("LOCK TABLE {} IN EXCLUSIVE MODE").format(sql.SQL(", ").join(map(sql.Identifier, TABLES)))
    )
    for table in TABLES:
        conn.execute(sql.SQL("DELETE FROM {}").format(sql.Identifier(table)))
        conn.execute(
            sql.SQL("INSERT INTO {} ").format(sql.Identifier(table)) + _compute(table),
            {"tz": tz},
        )


def drifted(conn: Connection, tz: str) -> list[Table]:
    """The rollup tables whose rows differ from their from-scratch sums (none, always)."""
    return [table for table in TABLES if stored(conn, table) != compute(conn, table, tz)]
