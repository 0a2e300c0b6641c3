"""Sign-in through OpenID Connect against a small real identity server run by the test (discovery,
JWKS, an authorize endpoint that signs a fixed identity in at once, a token endpoint that checks
the code, the PKCE verifier and the client secret), and a real store: a known local user gets in
with their own role and scope; an unknown or disabled one, a wrong state, an identity server's
error, an unreachable one, a wrong client secret and every kind of bad ID token are refused with
the sign-in page and no session."""

from __future__ import annotations

import base64
import hashlib
import http.client
import logging
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import parse_qs, unquote_plus, urlencode, urlsplit

import flask
import jwt
import psycopg
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from flask.testing import FlaskClient
from werkzeug.serving import make_server

from auth import users
from ioc.settings import OidcSettings, Settings
from tests import test_dashboard_fixtures as fx
from tests.fix_auth import anonymous, ensure_user
from tests.net import free_port
from tests.test_dashboard_fixtures import DashStore

dash_store = fx.dash_store
make_app = fx.make_app

CLIENT_ID = "ioc-dashboard"
CLIENT_SECRET = "client secret: của bảng điều khiển"  # a space and a colon: Basic auth must quote them
REALM = "/realms/ioc"
CALLBACK = "http://localhost/signin/oidc/callback"  # the test client's host


@dataclass
class Provider:
    """The identity server's behaviour, changed by each test (reset before it)."""

    issuer: str
    username: str = "OIDC-Viewer"
    signer: str = "rsa-1"  # the key (of ``keys``) that signs ID tokens
    published: tuple[str, ...] = ("rsa-1", "ec-1")  # the keys the JWKS lists
    claims: dict[str, Any] = field(default_factory=dict)  # overrides of the ID token's claims
    auth_methods: tuple[str, ...] = ("client_secret_basic", "client_secret_post")
    codes: dict[str, dict[str, str]] = field(default_factory=dict)
    jwks_fetches: int = 0
    client_auth: list[str] = field(default_factory=list)  # how the client authenticated, per request


RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
KEYS: dict[str, tuple[Any, str]] = {  # kid: (private key, algorithm)
    "rsa-1": (RSA_KEY, "RS256"),
    "ec-1": (ec.generate_private_key(ec.SECP256R1()), "ES256"),
    "rsa-2": (rsa.generate_private_key(public_exponent=65537, key_size=2048), "RS256"),
    "rogue": (rsa.generate_private_key(public_exponent=65537, key_size=2048), "RS256"),
}


def _jwk(kid: str) -> dict[str, Any]:
    private, alg = KEYS[kid]
    algorithm = jwt.algorithms.ECAlgorithm if alg.startswith("ES") else jwt.algorithms.RSAAlgorithm
    jwk = algorithm.to_jwk(private.public_key(), as_dict=True)
    assert isinstance(jwk, dict)
    return {**jwk, "kid": kid, "alg": alg, "use": "sig"}


def _identity_server(provider: Provider) -> flask.Flask:
    server = flask.Flask("test-identity-server")
    base = provider.issuer

    @server.get(f"{REALM}/.well-known/openid-configuration")
    def discovery() -> Any:
        return {
            "issuer": base,
            "authorization_endpoint": f"{base}/protocol/openid-connect/auth",
            "token_endpoint": f"{base}/protocol/openid-connect/token",
            "jwks_uri": f"{base}/protocol/openid-connect/certs",
            "response_types_supported": ["code"],
            "id_token_signing_alg_values_supported": ["RS256", "ES256"],
            "token_endpoint_auth_methods_supported": list(provider.auth_methods),
        }

    @server.get(f"{REALM}/protocol/openid-connect/certs")
    def certs() -> Any:
        provider.jwks_fetches += 1
        return {"keys": [_jwk(kid) for kid in provider.published]}

    @server.get(f"{REALM}/protocol/openid-connect/auth")
    def authorize() -> Any:
        args = flask.request.args
        ok = (
            args.get("response_type") == "code"
            and args.get("client_id") == CLIENT_ID
            and args.get("redirect_uri") == CALLBACK
            and args.get("code_challenge_method") == "S256"
            and "openid" in args.get("scope", "").split()
            and all(args.get(name) for name in ("state", "nonce", "code_challenge"))
        )
        if not ok:
            return {"error": "invalid_request"}, 400
        code = secrets.token_urlsafe(16)
        provider.codes[code] = {
            "challenge": args["code_challenge"],
            "nonce": args["nonce"],
            "redirect_uri": args["redirect_uri"],
        }
        return flask.redirect(f"{args['redirect_uri']}?{urlencode({'code': code, 'state': args['state']})}")

    @server.post(f"{REALM}/protocol/openid-connect/token")
    def token() -> Any:
        form = flask.request.form
        basic = flask.request.authorization
        client: tuple[str | None, str | None]
        if basic is not None:
            provider.client_auth.append("basic")
            client = (
                unquote_plus(basic.username or ""),
                unquote_plus(basic.password or ""),
            )  # RFC 6749 2.3.1
        else:
            provider.client_auth.append("post")
            client = (form.get("client_id"), form.get("client_secret"))
        if client != (CLIENT_ID, CLIENT_SECRET):
            return {"error": "invalid_client"}, 401
        grant = provider.codes.pop(form.get("code", ""), None)
        if grant is None or form.get("grant_type") != "authorization_code":
            return {"error": "invalid_grant"}, 400
        verifier = form.get("code_verifier", "")
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        if challenge != grant["challenge"] or form.get("redirect_uri") != grant["redirect_uri"]:
            return {"error": "invalid_grant"}, 400
        now = int(time.time())
        claims = {
            "iss": base,
            "sub": "f3c1d1e2-0000-4000-8000-000000000001",
            "aud": CLIENT_ID,
            "azp": CLIENT_ID,
            "exp": now + 300,
            "iat": now,
            "nonce": grant["nonce"],
            "preferred_username": provider.username,
            **provider.claims,
        }
        private, alg = KEYS[provider.signer]
        kid = "rsa-1" if provider.signer == "rogue" else provider.signer  # the rogue key poses as rsa-1
        id_token = jwt.encode(claims, private, algorithm=alg, headers={"kid": kid})
        return {"access_token": "opaque", "token_type": "Bearer", "expires_in": 300, "id_token": id_token}

    return server


@pytest.fixture(scope="module")
def identity_server() -> Iterator[Provider]:
    port = free_port()
    provider = Provider(issuer=f"http://127.0.0.1:{port}{REALM}")
    server = make_server("127.0.0.1", port, _identity_server(provider), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield provider
    finally:
        server.shutdown()
        thread.join(5)


@pytest.fixture
def provider(identity_server: Provider) -> Provider:
    """The identity server, as each test starts: signing with the RSA key as ``OIDC-Viewer``."""
    fresh = Provider(issuer=identity_server.issuer)
    for name in ("username", "signer", "published", "claims", "auth_methods", "codes", "jwks_fetches"):
        setattr(identity_server, name, getattr(fresh, name))
    identity_server.client_auth.clear()
    return identity_server


def with_oidc(settings: Settings, issuer: str, *, secret: str = CLIENT_SECRET) -> Settings:
    oidc = OidcSettings(
        issuer=issuer,
        client_id=CLIENT_ID,
        client_secret=secret,
        scopes=("openid", "profile"),
        username_claim="preferred_username",
    )
    return replace(settings, auth=replace(settings.auth, oidc=oidc))


def to_identity_server(client: FlaskClient, provider: Provider, path: str) -> str:
    """GET ``path`` (the start) on the dashboard, follow its redirect to the identity server: the
    URL it sends the browser back to."""
    start = client.get(path)
    assert start.status_code == 302, start.get_data(as_text=True)
    location = start.headers["Location"]
    assert location.startswith(f"{provider.issuer}/protocol/openid-connect/auth?")
    parts = urlsplit(location)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    try:
        connection.request("GET", f"{parts.path}?{parts.query}")
        answer = connection.getresponse()
        answer.read()
    finally:
        connection.close()
    assert answer.status == 302, answer.status
    back = answer.getheader("Location") or ""
    assert back.startswith(f"{CALLBACK}?")
    return back


def callback(client: FlaskClient, back: str) -> Any:
    parts = urlsplit(back)
    return client.get(f"{parts.path}?{parts.query}")


def sign_in(client: FlaskClient, provider: Provider, path: str = "/signin/oidc?next=/alerts") -> Any:
    return callback(client, to_identity_server(client, provider, path))


def signed_out(client: FlaskClient) -> bool:
    with client.session_transaction() as session:
        has_user = "uid" in session or "name" in session
    return not has_user and client.get("/_dash-layout").status_code == 401


def audit_of(url: str, username: str) -> list[tuple[str, str, dict[str, Any]]]:
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT actor, action, detail FROM audit_log WHERE subject = %s ORDER BY id",
            (f"user:{username}",),
        ).fetchall()
    return [(str(actor), str(action), dict(detail)) for actor, action, detail in rows]


def test_the_sign_in_page_offers_the_identity_server(
    dash_store: DashStore, make_app: Any, provider: Provider
):
    client = anonymous(make_app(with_oidc(dash_store.settings, provider.issuer)))
    page = client.get("/signin?next=/alerts&lang=en").get_data(as_text=True)
    assert 'id="signin-oidc"' in page
    assert 'href="/signin/oidc?next=/alerts&amp;lang=en"' in page  # the flow goes on in English
    assert f"Sign in with 127.0.0.1:{urlsplit(provider.issuer).port}" in page
    plain = anonymous(make_app(dash_store.settings))
    assert 'id="signin-oidc"' not in plain.get("/signin").get_data(as_text=True)
    assert plain.get("/signin/oidc").status_code != 302  # no route: Dash's page answers


def test_a_known_local_user_signs_in_with_their_own_role_and_scope(
    dash_store: DashStore, make_app: Any, provider: Provider
):
    ensure_user(dash_store.url, "oidc-viewer", role="viewer", scope=fx.HANOI, password=None)
    app = make_app(with_oidc(dash_store.settings, provider.issuer))
    client = anonymous(app)
    back = to_identity_server(client, provider, "/signin/oidc?next=/alerts%3Flang%3Den")
    started = time.monotonic()
    answer = callback(client, back)
    assert answer.status_code == 302, answer.get_data(as_text=True)
    assert answer.headers["Location"] == "/alerts?lang=en"
    assert time.monotonic() - started < 5
    with client.session_transaction() as session:
        assert (session["name"], session["role"], session["scope"]) == ("oidc-viewer", "viewer", fx.HANOI)
        assert "oidc_flows" not in session
    assert client.get("/_dash-layout").status_code == 200
    assert provider.client_auth == ["basic"]
    assert audit_of(dash_store.url, "oidc-viewer")[-1] == ("oidc-viewer", "sign_in", {"via": "oidc"})

    replayed = callback(anonymous(app), back)  # a used code and state: refused
    assert replayed.status_code == 400


def test_an_es256_token_and_the_secret_in_the_form(dash_store: DashStore, make_app: Any, provider: Provider):
    ensure_user(dash_store.url, "oidc-operator", role="operator", scope="VN", password=None)
    provider.username, provider.signer = "oidc-operator", "ec-1"
    provider.auth_methods = ("client_secret_post",)
    client = anonymous(make_app(with_oidc(dash_store.settings, provider.issuer)))
    answer = sign_in(client, provider, "/signin/oidc?next=//evil.example/")
    assert answer.status_code == 302, answer.get_data(as_text=True)
    assert answer.headers["Location"] == "/"
    assert provider.client_auth == ["post"]
    assert client.get("/_dash-layout").status_code == 200


def test_a_rotated_key_is_fetched_once_more(dash_store: DashStore, make_app: Any, provider: Provider):
    ensure_user(dash_store.url, "oidc-viewer", role="viewer", scope=fx.HANOI, password=None)
    app = make_app(with_oidc(dash_store.settings, provider.issuer))
    assert sign_in(anonymous(app), provider).status_code == 302
    assert sign_in(anonymous(app), provider).status_code == 302
    assert provider.jwks_fetches == 1  # cached
    provider.published, provider.signer = ("rsa-2",), "rsa-2"
    client = anonymous(app)
    answer = sign_in(client, provider)
    assert answer.status_code == 302, answer.get_data(as_text=True)
    assert provider.jwks_fetches == 2
    assert client.get("/_dash-layout").status_code == 200


@pytest.mark.parametrize("disabled", [False, True])
def test_an_identity_without_an_enabled_local_user_is_refused(
    dash_store: DashStore, make_app: Any, provider: Provider, disabled: bool
):
    name = "oidc-disabled" if disabled else "oidc-stranger"
    if disabled:
        ensure_user(dash_store.url, name, role="admin", password=None)
        with psycopg.connect(dash_store.url, autocommit=True) as conn:
            users.disable(conn, name)
    provider.username = name.upper()
    client = anonymous(make_app(with_oidc(dash_store.settings, provider.issuer)))
    answer = sign_in(client, provider, "/signin/oidc?lang=en&next=/alerts")
    assert answer.status_code == 403
    page = answer.get_data(as_text=True)
    assert f"The account “{name}” has no access to this system." in page
    assert 'id="signin-form"' in page
    assert signed_out(client)
    actor, action, detail = audit_of(dash_store.url, name)[-1]
    assert (actor, action) == ("anonymous", "sign_in_failed")
    assert detail["via"] == "oidc"
    assert detail["reason"] == ("disabled" if disabled else "unknown_user")


BAD_TOKENS: dict[str, tuple[dict[str, Any], str]] = {  # case: (the identity server's change, what is logged)
    "signed by another key": ({"signer": "rogue"}, "Signature verification failed"),
    "for another audience": ({"claims": {"aud": "another-client", "azp": "another-client"}}, "Audience"),
    "of another sign-in": ({"claims": {"nonce": "a-nonce-of-someone-else"}}, "nonce differs"),
    "expired": ({"claims": {"exp": int(time.time()) - 3600, "iat": int(time.time()) - 3900}}, "expired"),
    "of another issuer": ({"claims": {"iss": "http://127.0.0.1:1/realms/evil"}}, "Invalid issuer"),
    "issued long ago": ({"claims": {"iat": int(time.time()) - 3600}}, "issued too long ago"),
    "without the username": ({"username": ""}, "no 'preferred_username' claim"),
}


@pytest.mark.parametrize("case", list(BAD_TOKENS))
def test_a_bad_id_token_is_refused(
    dash_store: DashStore, make_app: Any, provider: Provider, case: str, caplog: pytest.LogCaptureFixture
):
    ensure_user(dash_store.url, "oidc-viewer", role="viewer", scope=fx.HANOI, password=None)
    change, logged = BAD_TOKENS[case]
    for name, value in change.items():
        setattr(provider, name, value)
    client = anonymous(make_app(with_oidc(dash_store.settings, provider.issuer)))
    with caplog.at_level(logging.WARNING, logger="ioc.dashboard.oidc"):
        answer = sign_in(client, provider, "/signin/oidc?lang=en")
    page = answer.get_data(as_text=True)
    assert answer.status_code == 502, page
    assert "Sign-in through the identity server failed:" in page
    assert "eyJ" not in page  # no token is echoed
    assert logged in caplog.text
    assert "eyJ" not in caplog.text
    assert signed_out(client)


def test_a_wrong_state_is_refused_and_the_right_one_still_works(
    dash_store: DashStore, make_app: Any, provider: Provider
):
    ensure_user(dash_store.url, "oidc-viewer", role="viewer", scope=fx.HANOI, password=None)
    client = anonymous(make_app(with_oidc(dash_store.settings, provider.issuer)))
    back = to_identity_server(client, provider, "/signin/oidc")
    query = parse_qs(urlsplit(back).query)
    forged = client.get(f"/signin/oidc/callback?{urlencode({'code': query['code'][0], 'state': 'forged'})}")
    assert forged.status_code == 400
    assert "Đăng nhập qua máy chủ định danh không thành công" in forged.get_data(as_text=True)
    assert signed_out(client)
    assert callback(client, back).status_code == 302  # the pending sign-in was not spent


def test_an_error_of_the_identity_server_is_shown(dash_store: DashStore, make_app: Any, provider: Provider):
    client = anonymous(make_app(with_oidc(dash_store.settings, provider.issuer)))
    back = to_identity_server(client, provider, "/signin/oidc?lang=en")
    state = parse_qs(urlsplit(back).query)["state"][0]
    answer = client.get(f"/signin/oidc/callback?{urlencode({'error': 'access_denied', 'state': state})}")
    assert answer.status_code == 502
    assert "the identity server refused the request" in answer.get_data(as_text=True)
    assert signed_out(client)


def test_a_wrong_client_secret_is_refused(dash_store: DashStore, make_app: Any, provider: Provider):
    ensure_user(dash_store.url, "oidc-viewer", role="viewer", scope=fx.HANOI, password=None)
    client = anonymous(make_app(with_oidc(dash_store.settings, provider.issuer, secret="not-the-secret")))
    answer = sign_in(client, provider, "/signin/oidc?lang=en")
    assert answer.status_code == 502
    assert "the identity server refused the request" in answer.get_data(as_text=True)
    assert signed_out(client)


def test_an_unreachable_identity_server_shows_the_page(dash_store: DashStore, make_app: Any):
    issuer = f"http://127.0.0.1:{free_port()}{REALM}"  # nobody listens there
    client = anonymous(make_app(with_oidc(dash_store.settings, issuer)))
    answer = client.get("/signin/oidc?lang=en")
    assert answer.status_code == 502
    page = answer.get_data(as_text=True)
    assert "the identity server could not be reached" in page
    assert 'id="signin-form"' in page
