"""Targets in PostgreSQL: saved by name (from a file or the dashboard's form), listed, deleted."""

from __future__ import annotations

from collections.abc import Sequence

import psycopg
from psycopg.rows import class_row

from alerts.targets import Target
from ioc.errors import IocError

Connection = psycopg.Connection[tuple[object, ...]]

UPSERT = """
INSERT INTO targets (name, kpi, unit_code, level, agency_code, comparison, threshold, window_name,
                     min_volume, severity)
VALUES (%(name)s, %(kpi)s, %(unit)s, %(level)s, %(agency)s, %(comparison)s, %(threshold)s, %(window)s,
        %(min_volume)s, %(severity)s)
ON CONFLICT (name) DO UPDATE SET
    kpi = EXCLUDED.kpi, unit_code = EXCLUDED.unit_code, level = EXCLUDED.level,
    agency_code = EXCLUDED.agency_code, comparison = EXCLUDED.comparison,
    threshold = EXCLUDED.threshold, window_name = EXCLUDED.window_name,
    min_volume = EXCLUDED.min_volume, severity = EXCLUDED.severity, updated_at = now()
"""
DELETE_OTHERS = "DELETE FROM targets WHERE NOT (name = ANY(%(names)s))"
DELETE_ONE = "DELETE FROM targets WHERE name = %(name)s"
LIST = """
SELECT name, kpi, unit_code AS unit, level, agency_code AS agency, comparison, threshold,
       window_name AS "window", min_volume, severity
  FROM targets ORDER BY name
"""


def save(conn: Connection, targets: Sequence[Target], *, replace: bool = False) -> int:
    """Insert or update ``targets`` by name (``replace``: delete the others) in one transaction."""
    try:
        with conn.transaction(), conn.cursor() as cur:
            cur.executemany(UPSERT, [t.__dict__ for t in targets])
            if replace:
                cur.execute(DELETE_OTHERS, {"names": [t.name for t in targets]})
    except psycopg.errors.UndefinedTable:
        raise _not_migrated() from None
    return len(targets)


def load(conn: Connection) -> list[Target]:
    try:
        with conn.cursor(row_factory=class_row(Target)) as cur:
            return cur.execute(LIST).fetchall()
    except psycopg.errors.UndefinedTable:
        raise _not_migrated() from None


def delete(conn: Connection, name: str) -> bool:
    """Delete the target called ``name``; whether there was one. Its alert states go with it;
    its alert episodes stay (they copy the target's terms), and the engine resolves a firing one."""
    try:
        with conn.transaction(), conn.cursor() as cur:
            cur.execute(DELETE_ONE, {"name": name})
            return cur.rowcount > 0
    except psycopg.errors.UndefinedTable:
        raise _not_migrated() from None


def _not_migrated() -> IocError:
    return IocError("the database has no targets table: run `ioc db migrate` first")
