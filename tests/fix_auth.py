"""Signing in, for tests: users in a test database, signed-in test clients, and principals.

The dashboard identifies every request (``dashboard.guard``); tests reach it as a real browser
does, with a session cookie and the CSRF header, or, when they call a callback's function
directly, inside a request of a given ``Principal`` (``acting_as``).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import dash
import flask
import psycopg
from flask.testing import FlaskClient

from auth import users
from auth.model import Principal, UserRole
from auth.passwords import Hasher
from dashboard import access, guard, signin

# Every dashboard a test starts (in this process or as `ioc serve`) signs its cookies with this.
SECRET = "test-secret-of-the-ioc-dashboard-not-for-production"
os.environ.setdefault("IOC_AUTH_SECRET", SECRET)

PASSWORD = "mật-khẩu thử nghiệm 2026"
FAST = Hasher(time_cost=1, memory_cost=1024, parallelism=1)  # tests sign in often: a cheap hash
ADMIN = Principal("test-admin", "admin", "VN")
CSRF = "csrf-token-of-the-test-client"


def ensure_user(
    url: str, username: str, *, role: UserRole = "admin", scope: str = "VN", password: str | None = PASSWORD
) -> users.User:
    """The user ``username`` of the database at ``url``, added with ``password`` if missing."""
    with psycopg.connect(url, autocommit=True) as conn:
        found = users.get(conn, username)
        if found is not None:
            return found
        hashed = FAST.hash(password) if password is not None else None
        return users.add(conn, username, display_name=username, role=role, scope=scope, password_hash=hashed)


def session_of(url: str, principal: Principal) -> dict[str, object]:
    """The session cookie's values of ``principal`` signed in now: a real user of the database at
    ``url`` when it answers; else only the signed claims the dashboard accepts while it is down."""
    try:
        user = ensure_user(url, principal.name, role=_user_role(principal), scope=principal.scope)
    except psycopg.OperationalError:
        return {
            **guard.claims(principal),
            "uid": 0,
            "epoch": 0,
            "iat": int(time.time()),
            guard.CSRF_FIELD: CSRF,
        }
    return {**signin.user_session(user), guard.CSRF_FIELD: CSRF}


def signed_in(client: FlaskClient, values: Mapping[str, object]) -> FlaskClient:
    """``client`` with a session of ``values`` and the CSRF header every POST must carry."""
    with client.session_transaction() as session:
        session.clear()
        session.update(values)
    client.environ_base["HTTP_X_CSRFTOKEN"] = str(values.get(guard.CSRF_FIELD, CSRF))
    return client


def sign_in_clients(app: dash.Dash, url: str, principal: Principal = ADMIN) -> None:
    """Make every ``app.server.test_client()`` signed in as ``principal``."""
    values = session_of(url, principal)

    class Client(FlaskClient):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, **kwargs)  # type: ignore[arg-type]
            signed_in(self, values)

    app.server.test_client_class = Client


def anonymous(app: dash.Dash) -> FlaskClient:
    """A browser that has never signed in (``make_app``'s clients are signed in as an admin)."""
    client: FlaskClient = app.server.test_client()
    with client.session_transaction() as session:
        session.clear()
    client.environ_base.pop("HTTP_X_CSRFTOKEN", None)
    return client


@contextmanager
def acting_as(app: dash.Dash | flask.Flask | None, principal: Principal | None) -> Iterator[None]:
    """A request of ``principal`` to ``app`` (a bare Flask app if None), for calling callbacks'
    functions directly."""
    server = app.server if isinstance(app, dash.Dash) else app or flask.Flask("test")
    with server.test_request_context("/_dash-update-component", method="POST"):
        access.set_principal(principal)
        yield


def _user_role(principal: Principal) -> UserRole:
    assert principal.role != "kiosk", "a kiosk link is made with auth.kiosk.create"
    return principal.role
