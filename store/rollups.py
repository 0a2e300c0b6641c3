"""Daily rollups (per local day, unit, agency and procedure) of ``applications``.

What one application adds to the rollups is defined once, by the SQL function
``rollup_contributions`` (migration 0006). Ingest changes the rollups by each changed
application's new contributions minus its old ones (ingest/sink.py); ``COMPUTE`` sums
them from scratch, which is what the rollups must always equal.
"""

from __future__ import annotations

import psycopg
from psycopg import sql

COUNTERS = (
    "received",
    "received_online",
    "received_full_online",
    "received_vneid",
    "received_reused",
    "received_digitized",
    "received_with_fee",
    "received_paid_online",
    "received_unsatisfied",
    "resolved",
    "resolved_online",
    "resolved_approved",
    "resolved_refused",
    "resolved_not_accepted",
    "resolved_stopped",
    "resolved_e_result",
    "withdrawn",
)

# The from-scratch computation: every application's contributions (the SQL function
# rollup_contributions, migration 0006), summed per key.
COMPUTE = sql.SQL("""
SELECT c.day, c.unit_code, c.agency_code, c.procedure_code, {sums}
  FROM applications a, rollup_contributions(a) c
 GROUP BY 1, 2, 3, 4
 ORDER BY 1, 2, 3, 4
""").format(sums=sql.SQL(", ").join(sql.SQL("sum({})::int").format(sql.Identifier(c)) for c in COUNTERS))


def compute_all(conn: psycopg.Connection[tuple[object, ...]]) -> list[tuple[object, ...]]:
    """Every rollup row computed from scratch, ordered by key (the invariant's reference)."""
    return conn.execute(COMPUTE).fetchall()
