"""Sign-in, sessions and the guard in front of every route, against a real store: who gets in,
how long, what the cookies and headers say, CSRF, the throttle, sign-out and disabled users,
redirects that stay on this site, and a database that goes away under a signed-in page."""

from __future__ import annotations

import base64
import hashlib
import logging
import re
from dataclasses import replace
from typing import Any

import psycopg
import pytest
from flask.testing import FlaskClient

from auth import users
from auth.model import Principal
from bench.signed_in import CSRF_FIELD
from dashboard import guard
from ioc.settings import Settings
from tests import test_dashboard_fixtures as fx
from tests.fix_auth import PASSWORD, anonymous, ensure_user, session_of, signed_in
from tests.net import free_port
from tests.test_dashboard_fixtures import DashStore

dash_store = fx.dash_store
make_app = fx.make_app

PAGES = [
    "/",
    "/wall",
    "/alerts",
    "/targets",
    "/status",
    "/_dash-layout",
    "/_dash-dependencies",
    "/geo/VN.json",
]


def form_token(client: FlaskClient, path: str = "/signin") -> str:
    page = client.get(path).get_data(as_text=True)
    found = CSRF_FIELD.search(page)
    assert found is not None, page
    return found[1]


def post_sign_in(client: FlaskClient, username: str, password: str, **extra: str) -> Any:
    token = form_token(client)
    return client.post("/signin", data={"username": username, "password": password, "csrf": token, **extra})


def test_nothing_but_health_and_sign_in_answers_without_a_session(dash_store: DashStore, make_app: Any):
    client = anonymous(make_app(dash_store.settings))
    for path in PAGES:
        answer = client.get(path, headers={"Accept": "text/html"})
        if path.startswith(("/_dash", "/geo")):
            assert answer.status_code == 401, path
        else:
            assert answer.status_code == 302, path
            assert answer.headers["Location"].startswith("/signin?next="), path
    assert client.post("/_dash-update-component", json={}).status_code in (401, 403)
    assert client.get("/healthz").status_code == 200
    page = client.get("/signin")
    assert page.status_code == 200
    assert "Đăng nhập" in page.get_data(as_text=True)
    assert "Sign in" in client.get("/signin?lang=en").get_data(as_text=True)


def test_a_password_signs_in_with_safe_cookies_and_a_wrong_one_does_not(dash_store: DashStore, make_app: Any):
    ensure_user(dash_store.url, "signin-viewer", role="viewer", scope=fx.HANOI)
    client = anonymous(make_app(dash_store.settings))
    refused = post_sign_in(client, "signin-viewer", "not the password", next="/alerts")
    assert refused.status_code == 401
    assert "Tên đăng nhập hoặc mật khẩu không đúng." in refused.get_data(as_text=True)
    assert client.get("/_dash-layout").status_code == 401

    accepted = post_sign_in(client, "SIGNIN-viewer ", PASSWORD, next="/alerts?lang=en")
    assert accepted.status_code == 302
    assert accepted.headers["Location"] == "/alerts?lang=en"
    cookies = accepted.headers.getlist("Set-Cookie")
    session_cookie = next(c for c in cookies if c.startswith(f"{guard.SESSION_COOKIE}="))
    assert "HttpOnly" in session_cookie
    assert "SameSite=Lax" in session_cookie
    assert "Expires=" in session_cookie
    csrf_cookie = next(c for c in cookies if c.startswith(f"{guard.CSRF_COOKIE}="))
    assert "SameSite=Strict" in csrf_cookie
    assert client.get("/_dash-layout").status_code == 200


@pytest.mark.parametrize(
    "target", ["//evil.example/x", "https://evil.example/", "/\\evil.example", "/signin"]
)
def test_after_sign_in_the_browser_stays_on_this_site(dash_store: DashStore, make_app: Any, target: str):
    ensure_user(dash_store.url, "signin-redirect", role="viewer")
    client = anonymous(make_app(dash_store.settings))
    answer = post_sign_in(client, "signin-redirect", PASSWORD, next=target)
    assert answer.status_code == 302
    assert answer.headers["Location"] == "/"


def test_state_changes_need_the_csrf_token_and_this_origin(dash_store: DashStore, make_app: Any):
    app = make_app(dash_store.settings)
    values = session_of(dash_store.url, Principal("signin-operator", "operator", "VN"))
    client = signed_in(app.server.test_client(), values)
    body = {
        "output": "..page.children...footer.children..",
        "outputs": [{"id": "page", "property": "children"}, {"id": "footer", "property": "children"}],
        "inputs": [{"id": "url", "property": "pathname", "value": "/status"}],
        "state": [{"id": "url", "property": "search", "value": ""}],
        "changedPropIds": ["url.pathname"],
    }
    assert (
        client.post("/_dash-update-component", json=body, headers={"X-CSRFToken": "forged"}).status_code
        == 403
    )
    del client.environ_base["HTTP_X_CSRFTOKEN"]
    assert client.post("/_dash-update-component", json=body).status_code == 403
    client = signed_in(app.server.test_client(), values)
    foreign = client.post("/_dash-update-component", json=body, headers={"Origin": "https://evil.example"})
    assert foreign.status_code == 403
    assert client.post("/_dash-update-component", json=body).status_code == 200
    # The sign-in form without its token (a login CSRF) is refused too.
    stranger = anonymous(app)
    missing = stranger.post("/signin", data={"username": "signin-operator", "password": PASSWORD})
    assert missing.status_code == 400
    assert stranger.get("/_dash-layout").status_code == 401


def test_every_answer_carries_the_security_headers(dash_store: DashStore, make_app: Any):
    app = make_app(dash_store.settings)
    client = app.server.test_client()
    for answer in (
        client.get("/"),
        client.get("/signin"),
        client.get("/healthz"),
        client.get("/_dash-layout"),
    ):
        policy = answer.headers["Content-Security-Policy"]
        directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
        assert directives["frame-ancestors"] == "'none'"
        assert "'unsafe-inline'" not in directives["script-src"]
        assert "'unsafe-eval'" not in directives["script-src"]
        assert directives["object-src"] == "'none'"
        assert answer.headers["X-Frame-Options"] == "DENY"
        assert answer.headers["Referrer-Policy"] == "same-origin"
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
    # The inline scripts Dash writes into the page are exactly those the policy allows.
    page = client.get("/").get_data(as_text=True)
    allowed = client.get("/").headers["Content-Security-Policy"]
    for script in re.findall(r"<script[^>]*>(.*?)</script>", page, re.S):
        if script.strip() and not script.lstrip().startswith("{"):
            digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
            assert f"'sha256-{digest}'" in allowed, script[:80]


def test_repeated_failures_are_slowed_and_recorded(dash_store: DashStore, make_app: Any):
    ensure_user(dash_store.url, "signin-target", role="viewer")
    settings = replace(dash_store.settings, auth=replace(dash_store.settings.auth, throttle_free=3))
    client = anonymous(make_app(settings))
    codes = [post_sign_in(client, "signin-target", f"guess {n}").status_code for n in range(3)]
    assert codes == [401, 401, 401]
    slowed = post_sign_in(client, "signin-target", PASSWORD)  # even the right password waits
    assert slowed.status_code == 429
    assert int(slowed.headers["Retry-After"]) >= 1
    assert "Đăng nhập sai quá nhiều lần" in slowed.get_data(as_text=True)
    assert client.get("/_dash-layout").status_code == 401
    with psycopg.connect(dash_store.url) as conn:
        failed = conn.execute(
            "SELECT count(*) FROM audit_log WHERE action = 'sign_in_failed' AND subject = %s",
            ("user:signin-target",),
        ).fetchone()
    assert failed == (3,)


def test_sign_out_and_disabling_end_sessions_at_once(dash_store: DashStore, make_app: Any):
    ensure_user(dash_store.url, "signin-leaver", role="operator")
    ensure_user(dash_store.url, "signin-disabled", role="operator")
    app = make_app(dash_store.settings)
    client = anonymous(app)
    assert post_sign_in(client, "signin-leaver", PASSWORD).status_code == 302
    with client.session_transaction() as session:
        copied = dict(session)  # a stolen copy of the cookie
    token = copied[guard.CSRF_FIELD]
    answer = client.post("/signout", data={"csrf": token})
    assert answer.status_code == 302
    assert client.get("/_dash-layout").status_code == 401
    thief = signed_in(app.server.test_client(), copied)
    assert thief.get("/_dash-layout").status_code == 401

    other = anonymous(app)
    assert post_sign_in(other, "signin-disabled", PASSWORD).status_code == 302
    assert other.get("/_dash-layout").status_code == 200
    with psycopg.connect(dash_store.url, autocommit=True) as conn:
        users.disable(conn, "signin-disabled")
    assert other.get("/_dash-layout").status_code == 401


def test_a_session_ends_after_its_lifetime(dash_store: DashStore, make_app: Any):
    settings = replace(dash_store.settings, auth=replace(dash_store.settings.auth, session_s=60))
    app = make_app(settings)
    values = session_of(dash_store.url, Principal("signin-old", "viewer", "VN"))
    client = signed_in(app.server.test_client(), values)
    assert client.get("/_dash-layout").status_code == 200
    aged = {**values, "iat": int(values["iat"]) - 61}  # type: ignore[call-overload]
    assert signed_in(app.server.test_client(), aged).get("/_dash-layout").status_code == 401


def test_with_the_database_gone_a_signed_in_page_still_loads(
    settings: Settings, make_app: Any, caplog: pytest.LogCaptureFixture
):
    """The cookie's signed claims stand in while the database is unreachable: the page says the
    database is down instead of sending a wall display to a sign-in form."""
    unreachable = replace(settings, database_url=f"postgresql://ioc@127.0.0.1:{free_port()}/ioc")
    app = make_app(unreachable)
    client = signed_in(
        app.server.test_client(), session_of(unreachable.database_url, Principal("w", "viewer", "VN"))
    )
    with caplog.at_level(logging.WARNING, logger="ioc.dashboard"):
        assert [client.get("/_dash-layout").status_code for _ in range(3)] == [200] * 3
    # said once for the outage, not once a request (a wall polls every few seconds)
    assert sum("rests on their cookie" in r.getMessage() for r in caplog.records) == 1
    assert anonymous(app).get("/_dash-layout").status_code == 401
    forged = {**session_of(unreachable.database_url, Principal("w", "viewer", "VN")), "role": "root"}
    assert signed_in(app.server.test_client(), forged).get("/_dash-layout").status_code == 503
