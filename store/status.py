"""What ``ioc db status`` reports: schema version and TimescaleDB."""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
from psycopg.rows import class_row

from store.migrate import applied, available

TIMESCALEDB = """
SELECT e.extversion AS version,
       coalesce(current_setting('timescaledb.license', true), 'unknown') AS license
  FROM pg_extension e
 WHERE e.extname = 'timescaledb'
"""
HYPERTABLES = """
SELECT hypertable_name::text FROM timescaledb_information.hypertables ORDER BY 1
"""


@dataclass(frozen=True)
class TimescaleInfo:
    version: str
    license: str

    @property
    def compression(self) -> bool:
        """Compression is in the community (``timescale``) licence, not the Apache-2 build."""
        return self.license == "timescale"


@dataclass(frozen=True)
class DatabaseStatus:
    schema_version: int
    latest_version: int
    server_version: str
    timescaledb: TimescaleInfo | None
    hypertables: tuple[str, ...]

    @property
    def pending(self) -> int:
        return self.latest_version - self.schema_version


def timescaledb(conn: psycopg.Connection[tuple[object, ...]]) -> TimescaleInfo | None:
    """The TimescaleDB extension of this database, or None when it is not active."""
    with conn.cursor(row_factory=class_row(TimescaleInfo)) as cur:
        return cur.execute(TIMESCALEDB).fetchone()


def database_status(conn: psycopg.Connection[tuple[object, ...]]) -> DatabaseStatus:
    versions = applied(conn)
    tsdb = timescaledb(conn)
    hypertables: tuple[str, ...] = ()
    if tsdb is not None:
        hypertables = tuple(str(row[0]) for row in conn.execute(HYPERTABLES).fetchall())
    return DatabaseStatus(
        schema_version=max(versions, default=0),
        latest_version=max((m.version for m in available()), default=0),
        server_version=str(conn.info.parameter_status("server_version")),
        timescaledb=tsdb,
        hypertables=hypertables,
    )
