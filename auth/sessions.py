"""What a session cookie holds, and the check every request makes of it.

The web layer keeps a ``Session`` in a signed, HttpOnly, SameSite cookie (``as_cookie`` /
``from_cookie``: three integers, no secret inside). A session is valid while it is younger than
the lifetime (``IOC_AUTH_SESSION_S``) and its user is enabled and still at the ``session_epoch``
it was issued at: disabling a user, setting their password or ``users.end_sessions`` ends every
session issued before, at once, on every worker. ``check`` is one primary-key query.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import psycopg

from auth import users
from auth.users import User

Connection = psycopg.Connection[tuple[object, ...]]

CLOCK_SKEW_S = 60  # a session issued this far "in the future" (another worker's clock) still passes


@dataclass(frozen=True)
class Session:
    user_id: int
    epoch: int
    issued_at: datetime


def start(user: User, *, now: datetime | None = None) -> Session:
    """A new session of ``user``, at their current epoch."""
    issued = (now or datetime.now(UTC)).replace(microsecond=0)
    return Session(user.id, user.session_epoch, issued)


def as_cookie(session: Session) -> dict[str, int]:
    return {"uid": session.user_id, "epoch": session.epoch, "iat": int(session.issued_at.timestamp())}


def from_cookie(data: Mapping[str, object] | None) -> Session | None:
    """The session a cookie's payload holds; None for anything else (missing, tampered, old format)."""
    if data is None:
        return None
    values = [data.get(key) for key in ("uid", "epoch", "iat")]
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return None
    uid, epoch, iat = (int(v) for v in values)  # type: ignore[call-overload]
    try:
        issued = datetime.fromtimestamp(iat, UTC)
    except (OverflowError, OSError, ValueError):
        return None
    return Session(uid, epoch, issued)


def check(
    conn: Connection, session: Session | None, *, lifetime_s: float, now: datetime | None = None
) -> User | None:
    """The signed-in user if ``session`` is still valid, else None (the web layer then clears the
    cookie and asks to sign in). Role and scope come fresh from the database on every call."""
    if session is None or not fresh(session, lifetime_s=lifetime_s, now=now):
        return None
    return users.session_user(conn, session.user_id, session.epoch)


def fresh(session: Session, *, lifetime_s: float, now: datetime | None = None) -> bool:
    """Whether ``session`` is within its lifetime (the part of ``check`` that needs no database)."""
    now = now or datetime.now(UTC)
    return now - timedelta(seconds=lifetime_s) < session.issued_at <= now + timedelta(seconds=CLOCK_SKEW_S)
