"""Databases of their own for tests, created on the servers under test and dropped after."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from psycopg import sql

import store
from ioc.settings import Settings
from stack import postgres
from stack.layout import StackConfig
from store import rollups

Connection = psycopg.Connection[tuple[object, ...]]


def _with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{database}"))


@pytest.fixture
def make_database() -> Iterator[Callable[[str], str]]:
    """``make_database(server_url)`` creates an empty database there and returns its URL;
    it is dropped after the test."""
    created: list[tuple[str, str]] = []

    def make(server_url: str) -> str:
        name = f"ioc_test_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        created.append((server_url, name))
        return _with_database(server_url, name)

    yield make
    for server_url, name in created:
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
def timescale_url(settings: Settings, make_database: Callable[[str], str]) -> str:
    """A new, unmigrated database on the server under test (TimescaleDB preloaded)."""
    return make_database(settings.database_url)


@pytest.fixture
def plain_url(plain_stack: StackConfig, make_database: Callable[[str], str]) -> str:
    """A new, unmigrated database on a plain PostgreSQL server."""
    return make_database(postgres.url(plain_stack))


@pytest.fixture(params=["timescaledb", "plain"])
def migrated(request: pytest.FixtureRequest) -> Iterator[Connection]:
    """An autocommit connection to a freshly migrated database, on each kind of server."""
    url = request.getfixturevalue("timescale_url" if request.param == "timescaledb" else "plain_url")
    with store.connect(url, autocommit=True) as conn:
        store.migrate(conn)
        yield conn


def empty_store(conn: Connection) -> None:
    """Delete every event, application and rollup row; the reference data stays."""
    tables = ("events", "event_ids", "applications", *rollups.TABLES)
    conn.execute(sql.SQL("TRUNCATE {}").format(sql.SQL(", ").join(map(sql.Identifier, tables))))
