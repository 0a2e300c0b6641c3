"""Users in PostgreSQL (``users``, migration 0016): added, listed, disabled, given a password.

Usernames are stored lower-case. A user's ``session_epoch`` is bumped whenever their sessions
must end — disabled, password set, signed out everywhere — and ``session_user`` (run on every
request) accepts a session only at the current epoch of an enabled user. Password hashes stay in
this module's queries and ``credentials``; ``User`` never carries one.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import LiteralString

import psycopg
from psycopg.rows import class_row

from auth import audit
from auth.errors import BadUsername, UnknownScope, UserExists, not_migrated
from auth.model import USER_ROLES, Principal, UserRole
from kpi.model import COUNTRY

Connection = psycopg.Connection[tuple[object, ...]]

_USERNAME = re.compile(r"[a-z0-9][a-z0-9._@-]{0,63}")

INSERT = """
INSERT INTO users (username, display_name, password_hash, password_changed_at, role, scope_unit_code)
VALUES (%(username)s, %(display_name)s, %(hash)s, CASE WHEN %(hash)s::text IS NOT NULL THEN now() END,
        %(role)s, NULLIF(%(scope)s, 'VN'))
RETURNING id, username, display_name, role, coalesce(scope_unit_code, 'VN') AS scope, session_epoch,
       password_changed_at, disabled_at, created_at
"""
BY_USERNAME = """
SELECT id, username, display_name, role, coalesce(scope_unit_code, 'VN') AS scope, session_epoch,
       password_changed_at, disabled_at, created_at
  FROM users WHERE username = %(username)s
"""
LIST = """
SELECT id, username, display_name, role, coalesce(scope_unit_code, 'VN') AS scope, session_epoch,
       password_changed_at, disabled_at, created_at
  FROM users ORDER BY username
"""
# The per-request check: one primary-key lookup.
SESSION_USER = """
SELECT id, username, display_name, role, coalesce(scope_unit_code, 'VN') AS scope, session_epoch,
       password_changed_at, disabled_at, created_at
  FROM users
 WHERE id = %(id)s AND session_epoch = %(epoch)s AND disabled_at IS NULL
"""
CREDENTIALS = """
SELECT id, username, display_name, role, coalesce(scope_unit_code, 'VN') AS scope, session_epoch,
       password_changed_at, disabled_at, created_at, password_hash
  FROM users WHERE username = %(username)s
"""
NEW_HASH = """
UPDATE users SET password_hash = %(hash)s, password_changed_at = now(), session_epoch = session_epoch + 1
 WHERE username = %(username)s
RETURNING id, username, display_name, role, coalesce(scope_unit_code, 'VN') AS scope, session_epoch,
       password_changed_at, disabled_at, created_at
"""
# A new hash of the same password (stronger parameters): sessions stay; only if nobody changed it since.
REHASH = "UPDATE users SET password_hash = %(new)s WHERE id = %(id)s AND password_hash = %(old)s"
DISABLE = """
UPDATE users SET disabled_at = coalesce(disabled_at, now()), session_epoch = session_epoch + 1
 WHERE username = %(username)s
RETURNING id, username, display_name, role, coalesce(scope_unit_code, 'VN') AS scope, session_epoch,
       password_changed_at, disabled_at, created_at
"""
ENABLE = """
UPDATE users SET disabled_at = NULL WHERE username = %(username)s
RETURNING id, username, display_name, role, coalesce(scope_unit_code, 'VN') AS scope, session_epoch,
       password_changed_at, disabled_at, created_at
"""
END_SESSIONS = "UPDATE users SET session_epoch = session_epoch + 1 WHERE id = %(id)s"


@dataclass(frozen=True)
class User:
    id: int
    username: str
    display_name: str
    role: UserRole
    scope: str  # a unit code, or VN
    session_epoch: int
    password_changed_at: datetime | None
    disabled_at: datetime | None
    created_at: datetime

    @property
    def active(self) -> bool:
        return self.disabled_at is None

    @property
    def principal(self) -> Principal:
        return Principal(self.username, self.role, self.scope)


Change = Callable[[Connection, str], "User | None"]  # disable, enable


@dataclass(frozen=True)
class Credentials:
    """A user and their password hash, for ``signin`` alone."""

    user: User
    password_hash: str | None


def checked_username(raw: str) -> str:
    """``raw`` trimmed and lower-cased; ``BadUsername`` unless it is 1-64 of a-z 0-9 . _ @ -
    starting with a letter or digit."""
    name = raw.strip().lower()
    if not _USERNAME.fullmatch(name):
        msg = f"username {raw!r}: expected 1-64 of a-z 0-9 . _ @ -, starting with a letter or digit"
        raise BadUsername(msg)
    return name


def add(
    conn: Connection,
    username: str,
    *,
    display_name: str,
    role: UserRole,
    scope: str,
    password_hash: str | None,
) -> User:
    """A new user; ``UserExists`` if the username is taken, ``UnknownScope`` unless ``scope`` is VN
    or a unit of ``ref_units``."""
    if role not in USER_ROLES:
        msg = f"role {role!r}: expected one of {', '.join(USER_ROLES)}"
        raise ValueError(msg)
    name = checked_username(username)
    params = {
        "username": name,
        "display_name": " ".join(display_name.split()) or name,
        "hash": password_hash,
        "role": role,
        "scope": scope,
    }
    try:
        with conn.transaction(), conn.cursor(row_factory=class_row(User)) as cur:
            row = cur.execute(INSERT, params).fetchone()
    except psycopg.errors.UniqueViolation:
        msg = f"a user called {name!r} exists already"
        raise UserExists(msg) from None
    except psycopg.errors.ForeignKeyViolation:
        raise _unknown_scope(scope) from None
    except psycopg.errors.UndefinedTable:
        raise not_migrated() from None
    assert row is not None
    return row


def get(conn: Connection, username: str) -> User | None:
    return _one(conn, BY_USERNAME, {"username": username.strip().lower()})


def listing(conn: Connection) -> list[User]:
    """Every user, disabled ones included, by username."""
    try:
        with conn.cursor(row_factory=class_row(User)) as cur:
            return cur.execute(LIST).fetchall()
    except psycopg.errors.UndefinedTable:
        raise not_migrated() from None


def session_user(conn: Connection, user_id: int, epoch: int) -> User | None:
    """The user ``user_id`` if enabled and still at ``epoch``; None ends the session."""
    return _one(conn, SESSION_USER, {"id": user_id, "epoch": epoch})


def credentials(conn: Connection, username: str) -> Credentials | None:
    with conn.cursor() as cur:
        row = cur.execute(CREDENTIALS, {"username": username.strip().lower()}).fetchone()
    if row is None:
        return None
    *fields, password_hash = row
    return Credentials(User(*fields), None if password_hash is None else str(password_hash))  # type: ignore[arg-type]


def set_password_hash(conn: Connection, username: str, password_hash: str) -> User | None:
    """Give ``username`` a new password (its hash) and end their sessions; None if no such user."""
    return _one(conn, NEW_HASH, {"username": username.strip().lower(), "hash": password_hash})


def rehash(conn: Connection, user_id: int, old_hash: str, new_hash: str) -> bool:
    """Replace ``old_hash`` by ``new_hash`` (same password, new parameters); False if it changed."""
    return conn.execute(REHASH, {"id": user_id, "old": old_hash, "new": new_hash}).rowcount > 0


def disable(conn: Connection, username: str) -> User | None:
    """Disable ``username`` (kept, for the audit trail) and end their sessions; None if no such user."""
    return _one(conn, DISABLE, {"username": username.strip().lower()})


def enable(conn: Connection, username: str) -> User | None:
    """Let a disabled user sign in again (their old sessions stay ended); None if no such user."""
    return _one(conn, ENABLE, {"username": username.strip().lower()})


def end_sessions(conn: Connection, user_id: int) -> None:
    """Sign ``user_id`` out everywhere: every session issued so far stops being accepted."""
    conn.execute(END_SESSIONS, {"id": user_id})


def add_recorded(
    conn: Connection,
    username: str,
    *,
    display_name: str,
    role: UserRole,
    scope: str,
    password_hash: str | None,
    by: str,
    address: str | None = None,
) -> User:
    """``add``, and its audit entry (as ``ioc users add`` writes it) in the same transaction."""
    with conn.transaction():
        user = add(
            conn, username, display_name=display_name, role=role, scope=scope, password_hash=password_hash
        )
        detail = {"role": user.role, "scope": user.scope}
        audit.record(conn, by, "user_added", subject=f"user:{user.username}", address=address, detail=detail)
    return user


CHANGES: dict[audit.Action, Change] = {"user_disabled": disable, "user_enabled": enable}


def change_recorded(
    conn: Connection, username: str, action: audit.Action, *, by: str, address: str | None = None
) -> User | None:
    """Disable or enable (``action``: a key of ``CHANGES``) ``username`` and record it, in one
    transaction; None (nothing recorded) if there is no such user."""
    with conn.transaction():
        user = CHANGES[action](conn, username)
        if user is not None:
            audit.record(conn, by, action, subject=f"user:{user.username}", address=address)
    return user


def set_password_recorded(
    conn: Connection, username: str, password_hash: str, *, by: str, address: str | None = None
) -> User | None:
    """``set_password_hash`` and its audit entry (never the password nor its hash), in one
    transaction; None (nothing recorded) if there is no such user."""
    with conn.transaction():
        user = set_password_hash(conn, username, password_hash)
        if user is not None:
            audit.record(conn, by, "password_set", subject=f"user:{user.username}", address=address)
    return user


def _one(conn: Connection, query: LiteralString, params: dict[str, object]) -> User | None:
    try:
        with conn.cursor(row_factory=class_row(User)) as cur:
            return cur.execute(query, params).fetchone()
    except psycopg.errors.UndefinedTable:
        raise not_migrated() from None


def _unknown_scope(scope: str) -> UnknownScope:
    msg = (
        f"scope {scope!r}: expected {COUNTRY} (the whole country) or a unit code of the reference data"
        " (`ioc refdata show`)"
    )
    return UnknownScope(msg)
