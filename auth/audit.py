"""The audit trail (``audit_log``, migration 0016): who did what, when, from where.

``record`` appends one entry; ``recent`` reads them back, newest first, filtered. Actors are
usernames, ``kiosk:<id>`` or ``cli:<login>``; subjects name what was acted on (``user:alice``,
``kiosk:3``, ``target:<name>``, ``alert:<id>``). ``detail`` is a small JSON object of facts
(a role, a scope, a row count): never a password, a token or a hash.
"""

from __future__ import annotations

import getpass
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, get_args

import psycopg
from psycopg.rows import class_row
from psycopg.types.json import Jsonb

from auth.errors import not_migrated

Connection = psycopg.Connection[tuple[object, ...]]

Action = Literal[
    "sign_in",
    "sign_in_failed",
    "sign_out",
    "user_added",
    "user_disabled",
    "user_enabled",
    "password_set",
    "kiosk_link_created",
    "kiosk_link_revoked",
    "targets_loaded",
    "target_saved",
    "target_deleted",
    "alert_acknowledged",
    "export",
]
ACTIONS: tuple[Action, ...] = get_args(Action)

INSERT = """
INSERT INTO audit_log (actor, action, subject, address, detail)
VALUES (%(actor)s, %(action)s, %(subject)s, %(address)s, %(detail)s)
RETURNING id
"""
RECENT = """
SELECT id, at, actor, action, subject, address, detail
  FROM audit_log
 WHERE (%(actor)s::text IS NULL OR actor = %(actor)s)
   AND (%(actors)s::text[] IS NULL OR actor = ANY(%(actors)s))
   AND (%(action)s::text IS NULL OR action = %(action)s)
   AND (%(subject)s::text IS NULL OR subject = %(subject)s)
   AND (%(since)s::timestamptz IS NULL OR at >= %(since)s)
 ORDER BY at DESC, id DESC
 LIMIT %(limit)s OFFSET %(offset)s
"""


@dataclass(frozen=True)
class Entry:
    id: int
    at: datetime
    actor: str
    action: str
    subject: str | None
    address: str | None
    detail: dict[str, Any] = field(default_factory=dict)


def cli_actor() -> str:
    """Who runs a command: ``cli:<login>`` of the operating-system user."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no login name (a container's anonymous uid)
        return "cli:unknown"


def record(
    conn: Connection,
    actor: str,
    action: Action,
    *,
    subject: str | None = None,
    address: str | None = None,
    detail: Mapping[str, Any] | None = None,
) -> int:
    """Append one entry (its id). Inside a caller's transaction it commits or rolls back with it."""
    if action not in ACTIONS:
        msg = f"unknown audit action {action!r}; expected one of {', '.join(ACTIONS)}"
        raise ValueError(msg)
    params = {
        "actor": actor,
        "action": action,
        "subject": subject,
        "address": address,
        "detail": Jsonb(dict(detail or {})),
    }
    try:
        row = conn.execute(INSERT, params).fetchone()
    except psycopg.errors.UndefinedTable:
        raise not_migrated() from None
    assert row is not None
    return int(row[0])  # type: ignore[call-overload, no-any-return]


def recent(
    conn: Connection,
    *,
    limit: int = 100,
    actor: str | None = None,
    action: str | None = None,
    subject: str | None = None,
    since: datetime | None = None,
    offset: int = 0,
    actors: Collection[str] | None = None,
) -> list[Entry]:
    """The newest ``limit`` entries matching every filter given, newest first, after skipping the
    ``offset`` newest (a page of the admin's audit list); ``actors``: only what these did."""
    params = {
        "limit": limit,
        "offset": max(0, offset),
        "actor": actor,
        "action": action,
        "subject": subject,
        "since": since,
        "actors": None if actors is None else sorted(actors),
    }
    try:
        with conn.cursor(row_factory=class_row(Entry)) as cur:
            return cur.execute(RECENT, params).fetchall()
    except psycopg.errors.UndefinedTable:
        raise not_migrated() from None
