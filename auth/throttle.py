"""The sign-in throttle: repeated failures slow further attempts, per username and per client address.

Attempts are rows of ``sign_in_attempts`` (migration 0016), so every dashboard worker shares
them. ``begin`` decides and records an attempt in one transaction, holding advisory locks on the
username and the address, so parallel guesses are counted one after the other: the first
``Policy.free`` failures within ``Policy.window_s`` cost nothing; after that each attempt must wait
1 s after the latest failure, doubling with each further failure, at most ``Policy.max_wait_s``.
A success clears the username's count (not the address's: one good account must not unlock
guessing at others). Failures older than the window are forgotten, so a key recovers by itself.

An attempt is ``pending`` (counted as a failure) from ``begin`` until ``finish`` marks it a
success or a failure; an attempt refused by the throttle is recorded as ``throttled``, unchecked,
and does not count. Not guaranteed: the client address is whatever the web layer says it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import psycopg

from auth.errors import not_migrated
from ioc.settings import AuthSettings

Connection = psycopg.Connection[tuple[object, ...]]

FIRST_WAIT_S = 1.0
_LOCK_CLASS = 0x10C7  # advisory lock namespace of the throttle: (class, hashtext(key))

LOCK = "SELECT pg_advisory_xact_lock(%(class)s, hashtext(%(key)s))"
# Failures (and attempts in progress) within the window: of the username since its last success,
# and of the address.
COUNT = """
SELECT (SELECT count(*) FROM sign_in_attempts
         WHERE username = %(username)s AND at > %(since)s AND outcome IN ('pending', 'failure')
           AND at > coalesce((SELECT max(at) FROM sign_in_attempts
                               WHERE username = %(username)s AND at > %(since)s AND outcome = 'success'),
                             '-infinity')) AS username_failures,
       (SELECT max(at) FROM sign_in_attempts
         WHERE username = %(username)s AND at > %(since)s AND outcome IN ('pending', 'failure'))
           AS username_last,
       (SELECT count(*) FROM sign_in_attempts
         WHERE address = %(address)s AND at > %(since)s AND outcome IN ('pending', 'failure'))
           AS address_failures,
       (SELECT max(at) FROM sign_in_attempts
         WHERE address = %(address)s AND at > %(since)s AND outcome IN ('pending', 'failure'))
           AS address_last
"""
INSERT = """
INSERT INTO sign_in_attempts (at, username, address, outcome)
VALUES (%(at)s, %(username)s, %(address)s, %(outcome)s)
RETURNING id
"""
FINISH = """
UPDATE sign_in_attempts SET outcome = %(outcome)s WHERE id = %(id)s AND outcome = 'pending'
"""
PRUNE = "DELETE FROM sign_in_attempts WHERE at < %(before)s"


@dataclass(frozen=True)
class Policy:
    """How much guessing is tolerated (``IOC_AUTH_THROTTLE_*``)."""

    window_s: float = 900.0
    free: int = 5  # failures of one username within the window before waits begin
    address_free: int = 50  # failures from one address (offices share an address behind NAT)
    max_wait_s: float = 300.0

    @classmethod
    def from_settings(cls, settings: AuthSettings) -> Policy:
        return cls(
            window_s=settings.throttle_window_s,
            free=settings.throttle_free,
            address_free=settings.throttle_address_free,
            max_wait_s=settings.throttle_max_s,
        )


@dataclass(frozen=True)
class Verdict:
    """An attempt as ``begin`` recorded it: go ahead (``wait_s`` 0) or come back in ``wait_s``."""

    attempt_id: int
    wait_s: float
    failures: int  # of the username within the window, before this attempt

    @property
    def allowed(self) -> bool:
        return self.wait_s <= 0


def wait_s(failures: int, last: datetime | None, free: int, now: datetime, policy: Policy) -> float:
    """Seconds still to wait after ``failures`` failures (the latest at ``last``); 0 below ``free``."""
    if failures < free or last is None:
        return 0.0
    delay = min(policy.max_wait_s, FIRST_WAIT_S * 2.0 ** min(failures - free, 40))
    return max(0.0, (last + timedelta(seconds=delay) - now).total_seconds())


def begin(
    conn: Connection, username: str, address: str, policy: Policy, *, now: datetime | None = None
) -> Verdict:
    """Decide whether this attempt may check a password now, and record it (``pending`` when
    allowed, then ``finish`` it; ``throttled`` when not). ``username`` as typed (lower-cased here,
    unknown ones counted alike)."""
    now = now or datetime.now(UTC)
    name = username.strip().lower()
    params = {
        "username": name,
        "address": address,
        "since": now - timedelta(seconds=policy.window_s),
        "at": now,
    }
    try:
        with conn.transaction():
            conn.execute(LOCK, {"class": _LOCK_CLASS, "key": f"u:{name}"})
            conn.execute(LOCK, {"class": _LOCK_CLASS, "key": f"a:{address}"})
            row = conn.execute(COUNT, params).fetchone()
            assert row is not None
            user_failures, user_last, address_failures, address_last = row
            wait = max(
                wait_s(int(user_failures), user_last, policy.free, now, policy),  # type: ignore[call-overload, arg-type]
                wait_s(int(address_failures), address_last, policy.address_free, now, policy),  # type: ignore[call-overload, arg-type]
            )
            outcome = "pending" if wait <= 0 else "throttled"
            inserted = conn.execute(INSERT, {**params, "outcome": outcome}).fetchone()
    except psycopg.errors.UndefinedTable:
        raise not_migrated() from None
    assert inserted is not None
    return Verdict(int(inserted[0]), wait, int(user_failures))  # type: ignore[call-overload]


def finish(conn: Connection, verdict: Verdict, *, succeeded: bool) -> None:
    """Mark an allowed attempt a success or a failure (a pending one left behind counts as a failure)."""
    conn.execute(FINISH, {"id": verdict.attempt_id, "outcome": "success" if succeeded else "failure"})


def prune(conn: Connection, before: datetime) -> int:
    """Delete attempts older than ``before`` (keep at least the window); how many went."""
    return conn.execute(PRUNE, {"before": before}).rowcount
