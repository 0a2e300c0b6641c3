"""Versioned SQL migrations, applied in order, each once, each in its own transaction.

Migrations are the files ``store/migrations/NNNN_name.sql``. The applied ones are
recorded in ``schema_migrations`` with a checksum, so a migration edited after it ran
is reported instead of silently diverging. An advisory lock lets several processes
(say, two ingest replicas starting together) call ``migrate`` at once safely.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from importlib import resources

import psycopg

from ioc.errors import IocError

_FILE = re.compile(r"(?P<version>\d{4})_(?P<name>[a-z0-9_]+)\.sql")
_LOCK_KEY = 0x10C_5C4E  # any constant shared by every migrator of this schema
DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"  # IOC_TIMEZONE's default

CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version     integer     PRIMARY KEY,
    name        text        NOT NULL,
    checksum    text        NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now()
)
"""
APPLIED = "SELECT version, name, checksum FROM schema_migrations ORDER BY version"
RECORD = "INSERT INTO schema_migrations (version, name, checksum) VALUES (%s, %s, %s)"
LOCK = "SELECT pg_advisory_lock(%s)"
UNLOCK = "SELECT pg_advisory_unlock(%s)"


class MigrationError(IocError):
    """The database's schema history does not match the migration files."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def available() -> list[Migration]:
    """Every migration shipped with the package, in version order."""
    found = []
    for entry in resources.files("store.migrations").iterdir():
        match = _FILE.fullmatch(entry.name)
        if match:
            found.append(Migration(int(match["version"]), match["name"], entry.read_text("utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        msg = f"two migration files share a version: {versions}"
        raise MigrationError(msg)
    return found


def applied(conn: psycopg.Connection[tuple[object, ...]]) -> dict[int, str]:
    """Version → checksum of the migrations recorded in the database (none if no table)."""
    exists = conn.execute("SELECT to_regclass('schema_migrations') IS NOT NULL").fetchone()
    if not exists or not exists[0]:
        return {}
    return {int(v): str(c) for v, _name, c in conn.execute(APPLIED).fetchall()}  # type: ignore[call-overload]


def migrate(
    conn: psycopg.Connection[tuple[object, ...]], *, timezone: str = DEFAULT_TIMEZONE
) -> list[Migration]:
    """Apply the pending migrations; return those applied (empty when up to date).

    ``conn`` must be in autocommit mode; each migration runs in a transaction of its own.
    ``timezone`` (IOC_TIMEZONE) is the one local days are computed in; migrations that fill
    rollups read it as the setting ``ioc.timezone``.
    """
    if not conn.autocommit:
        msg = "migrate() needs an autocommit connection"
        raise ValueError(msg)
    conn.execute(LOCK, (_LOCK_KEY,))
    conn.execute("SELECT set_config('ioc.timezone', %s, false)", (timezone,))
    try:
        conn.execute(CREATE_TABLE)
        done = applied(conn)
        todo = []
        for migration in available():
            recorded = done.pop(migration.version, None)
            if recorded is None:
                todo.append(migration)
            elif recorded != migration.checksum:
                msg = f"migration {migration.version:04d}_{migration.name} was edited after it was applied"
                raise MigrationError(msg)
        if done:
            msg = f"the database has migrations this code does not know: {sorted(done)}; upgrade the code"
            raise MigrationError(msg)
        for migration in todo:
            with conn.transaction():
                conn.execute(migration.sql.encode())
                conn.execute(RECORD, (migration.version, migration.name, migration.checksum))
        return todo
    finally:
        conn.execute(UNLOCK, (_LOCK_KEY,))
