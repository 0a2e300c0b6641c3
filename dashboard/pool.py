"""Database connections of one dashboard process: a small pool, opened lazily after fork.

gunicorn forks its workers from a parent that must hold no connection: the pool is created
on first use in the process that uses it, and created again if the process id changed.
Unreachable databases become ``DatabaseDown`` after ``timeout_s``, never a hang.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import psycopg_pool

from dashboard.errors import DatabaseDown, DatabaseFailed
from ioc.settings import redact

Connection = psycopg.Connection[tuple[object, ...]]
log = logging.getLogger("ioc.dashboard")


class Pool:
    def __init__(self, url: str, *, max_size: int = 4, timeout_s: float = 3.0) -> None:
        self._url = url
        self._max_size = max_size
        self._timeout_s = timeout_s
        self._pool: psycopg_pool.ConnectionPool[Connection] | None = None
        self._pid = 0
        self._lock = threading.Lock()

    @contextmanager
    def connection(self) -> Iterator[Connection]:
        """An autocommit connection; ``DatabaseDown`` when none can be had in time."""
        try:
            with self._current().connection(timeout=self._timeout_s) as conn:
                yield conn
        except (psycopg_pool.PoolTimeout, psycopg.OperationalError) as exc:
            msg = f"IOC_DATABASE_URL={redact(self._url)!r}: {exc}"
            raise DatabaseDown(msg) from None
        except psycopg.Error as exc:
            log.exception("a dashboard query failed")
            msg = f"a query failed: {type(exc).__name__}: {exc}"
            raise DatabaseFailed(msg) from exc

    def close(self) -> None:
        with self._lock:
            if self._pool is not None and self._pid == os.getpid():
                self._pool.close()
            self._pool = None

    def _current(self) -> psycopg_pool.ConnectionPool[Connection]:
        with self._lock:
            if self._pool is None or self._pid != os.getpid():
                self._pool = psycopg_pool.ConnectionPool(
                    self._url,
                    min_size=1,
                    max_size=self._max_size,
                    open=True,
                    check=psycopg_pool.ConnectionPool.check_connection,
                    kwargs={"autocommit": True, "connect_timeout": max(1, int(self._timeout_s))},
                    timeout=self._timeout_s,
                    name="dashboard",
                )
                self._pid = os.getpid()
            return self._pool
