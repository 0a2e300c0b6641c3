"""Signing in and out with a local password: the throttle, the check, the audit, the session.

``sign_in`` is what the sign-in form's handler calls, once per submitted form. In order: the
throttle decides (a throttled attempt is refused without looking at the password), the password
is checked against the stored argon2 hash — for unknown and disabled users too, so the time taken
tells nothing — the attempt is recorded as a success or failure, a hash made with older
parameters is upgraded, and the outcome goes to the audit trail and, for failures, the log.
Passwords are never logged or stored; the username is logged with ``repr`` (no log injection).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import psycopg

from auth import audit, sessions, throttle, users
from auth.passwords import MAX_LENGTH, Hasher
from auth.sessions import Session
from auth.users import User

Connection = psycopg.Connection[tuple[object, ...]]
Outcome = Literal["signed_in", "refused", "throttled"]

log = logging.getLogger("ioc.auth")
DEFAULT_HASHER = Hasher()
_NAME_MAX = 100  # characters of a typed username kept for the throttle and the audit


@dataclass(frozen=True)
class SignIn:
    """What became of one attempt. ``refused`` says nothing of why (unknown user, wrong password,
    disabled): the page shows one message for all three. ``retry_after_s`` is set when throttled."""

    outcome: Outcome
    user: User | None = None
    session: Session | None = None
    retry_after_s: float = 0.0


def sign_in(
    conn: Connection,
    username: str,
    password: str,
    *,
    address: str,
    policy: throttle.Policy,
    hasher: Hasher = DEFAULT_HASHER,
    now: datetime | None = None,
) -> SignIn:
    """Try to sign ``username`` in from client ``address``; on success the ``Session`` to store in
    the cookie. ``conn`` in autocommit mode (or committed by the caller after the call)."""
    name = username.strip().lower()[:_NAME_MAX]
    verdict = throttle.begin(conn, name, address, policy, now=now)
    if not verdict.allowed:
        log.warning(
            "sign-in of %r from %r throttled: %d recent failures, retry in %.0f s",
            name,
            address,
            verdict.failures,
            verdict.wait_s,
        )
        return SignIn("throttled", retry_after_s=verdict.wait_s)
    found = users.credentials(conn, name)
    stored = found.password_hash if found else None
    matches = len(password) <= MAX_LENGTH and hasher.verify(stored, password)
    ok = found is not None and matches and found.user.active
    throttle.finish(conn, verdict, succeeded=ok)
    if not ok or found is None:
        reason = "unknown_user" if found is None else "disabled" if matches else "wrong_password"
        audit.record(
            conn,
            "anonymous",
            "sign_in_failed",
            subject=f"user:{name}",
            address=address,
            detail={"reason": reason, "recent_failures": verdict.failures + 1},
        )
        log.warning("sign-in of %r from %r failed (%d recent failures)", name, address, verdict.failures + 1)
        return SignIn("refused")
    if stored is not None and hasher.needs_rehash(stored):
        users.rehash(conn, found.user.id, stored, hasher.hash(password))
    audit.record(conn, found.user.username, "sign_in", subject=f"user:{found.user.username}", address=address)
    return SignIn("signed_in", found.user, sessions.start(found.user, now=now))


def sign_out(conn: Connection, user: User, *, address: str | None = None) -> None:
    """End every session of ``user`` (a copied cookie stops working too), and audit it."""
    users.end_sessions(conn, user.id)
    audit.record(conn, user.username, "sign_out", subject=f"user:{user.username}", address=address)
