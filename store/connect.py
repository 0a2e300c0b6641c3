"""Opening connections, with failures reported as one line naming the setting."""

from __future__ import annotations

import psycopg

from ioc.errors import UnreachableError
from ioc.settings import redact

CONNECT_TIMEOUT_S = 5


def connect(url: str, *, autocommit: bool = False) -> psycopg.Connection[tuple[object, ...]]:
    """Connect to ``url``; raise UnreachableError (not a traceback) when it cannot be reached."""
    try:
        return psycopg.connect(url, autocommit=autocommit, connect_timeout=CONNECT_TIMEOUT_S)
    except psycopg.OperationalError as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        msg = f"IOC_DATABASE_URL={redact(url)!r}: cannot connect: {reason}"
        raise UnreachableError(msg) from None
