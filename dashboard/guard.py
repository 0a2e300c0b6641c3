"""Every request is identified before Dash or a route sees it, and every answer carries the
browser's security headers.

- **Identity.** The session cookie (Flask's, signed with ``IOC_AUTH_SECRET``; HttpOnly,
  SameSite=Lax, Secure over HTTPS) holds either a user's session (``auth.sessions``: checked
  against the database on every request, so a disabled user or a new password ends it at once)
  or a kiosk link's token (``auth.kiosk``: looked up on every request, so a revoked link stops at
  once). The result is stored by ``dashboard.access``, which pages and callbacks ask.
- **Who gets in.** Only ``/healthz``, the sign-in pages, kiosk links and the sign-in page's
  stylesheet answer without a principal. A page asked for without one redirects to the sign-in
  page; anything else (a callback, a map) answers 401, which ``assets/session.js`` turns into
  that redirect.
- **CSRF.** Every state-changing request carries the session's token: Dash's renderer sends the
  ``_csrf_token`` cookie back as the ``X-CSRFToken`` header, the sign-in and sign-out forms carry
  it as a field; a request from another origin is refused outright.
- **Headers.** A Content-Security-Policy without inline scripts (the few Dash writes are allowed
  by their hashes), no framing, no referrer to other sites, no sniffing.

While the database is unreachable, the cookie's signed claims (name, role, scope) stand in for
the check, so that a wall display shows "database unreachable" instead of a sign-in page.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import cast, get_args
from urllib.parse import urlsplit

import flask
from flask.sessions import SecureCookieSessionInterface
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.wrappers import Response as WerkzeugResponse

from auth import kiosk, sessions
from auth.kiosk import KioskLink
from auth.model import Principal, Role
from auth.users import User
from dashboard import access
from dashboard.data import Data
from dashboard.errors import DatabaseDown
from dashboard.pool import Connection
from ioc.errors import ConfigError
from ioc.settings import Settings

log = logging.getLogger("ioc.dashboard")

SESSION_COOKIE = "ioc_session"
CSRF_COOKIE = "_csrf_token"  # the name dash-renderer reads, sending it back as X-CSRFToken
CSRF_HEADER = "X-CSRFToken"
CSRF_FIELD = "csrf"
SIGN_IN = "/signin"
PUBLIC_PATHS = frozenset(
    {
        "/healthz",
        SIGN_IN,
        "/assets/vendor/bootstrap/bootstrap.min.css",
        "/assets/ioc.css",
        "/_favicon.ico",  # the sign-in page's icon (else the browser asks for /favicon.ico)
        "/metrics",  # for a scraper: dashboard.metrics asks for IOC_METRICS_TOKEN instead
    }
)
PUBLIC_PREFIXES = ("/signin/", "/kiosk/")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
ROLES = get_args(Role)
COOKIE_MAX_AGE = timedelta(days=400)  # browsers' cap; a user session still ends after IOC_AUTH_SESSION_S


@dataclass(frozen=True)
class Identity:
    principal: Principal
    user: User | None = None
    link: KioskLink | None = None


def require_secret(settings: Settings) -> None:
    """``ConfigError`` unless the cookie-signing key is set (checked before any worker starts)."""
    if not settings.auth.secret:
        msg = (
            "IOC_AUTH_SECRET (or IOC_AUTH_SECRET_FILE) is not set: the dashboard signs its cookies"
            " with it; make one with `openssl rand -base64 48`, the same for every worker"
        )
        raise ConfigError(msg)


class _Sessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, Secure when ``IOC_AUTH_COOKIE_SECURE`` says or, on ``auto``,
    when the request came over HTTPS."""

    def __init__(self, secure: bool | None) -> None:
        self._secure = secure

    def get_cookie_secure(self, app: flask.Flask) -> bool:
        return flask.request.is_secure if self._secure is None else self._secure


class Guard:
    def __init__(self, settings: Settings, data: Data) -> None:
        require_secret(settings)
        self._settings = settings
        self._data = data
        self._policy = content_policy(())
        self._on_cookie: set[str] = set()  # who was let in on their cookie alone, warned once each

    def init_app(self, server: flask.Flask) -> None:
        auth = self._settings.auth
        server.secret_key = auth.secret
        server.config.update(
            SESSION_COOKIE_NAME=SESSION_COOKIE,
            SESSION_COOKIE_HTTPONLY=True,
            SESSION_COOKIE_SAMESITE="Lax",  # Lax: the identity server's redirect back is a cross-site GET
            PERMANENT_SESSION_LIFETIME=COOKIE_MAX_AGE,
            SESSION_REFRESH_EACH_REQUEST=False,
        )
        server.session_interface = _Sessions(auth.cookie_secure)
        if auth.proxies:
            n = auth.proxies
            server.wsgi_app = ProxyFix(server.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]
        server.before_request(self._before)
        server.after_request(self._after)

    def allow_scripts(self, hashes: Sequence[str]) -> None:
        """Allow the inline scripts Dash writes, by the quoted hashes ``Dash.csp_hashes`` gives once
        every callback is registered (the policy is made here, once, not per response)."""
        self._policy = content_policy(hashes)

    # -- before every request ------------------------------------------------------------------

    def _before(self) -> WerkzeugResponse | None:
        request = flask.request
        if request.method not in SAFE_METHODS and not self._same_origin():
            return _refuse(403, "cross-origin request refused")
        public = request.path in PUBLIC_PATHS or request.path.startswith(PUBLIC_PREFIXES)
        try:
            identity = self._identify()
        except DatabaseDown:
            if public:
                identity = None
            else:
                return _refuse(503, "the database is unreachable: identity cannot be checked")
        access.set_principal(identity.principal if identity else None, identity.link if identity else None)
        flask.g.user = identity.user if identity else None
        sent = request.headers.get(CSRF_HEADER) or request.form.get(CSRF_FIELD)
        if request.method not in SAFE_METHODS and not public and not _csrf_ok(sent):
            return _refuse(403, "missing or wrong CSRF token")
        if identity is None and not public:
            if request.method == "GET" and _wants_page(request):
                target = request.full_path.rstrip("?")
                return flask.redirect(flask.url_for("signin.form", next=target))
            return _refuse(401, "sign in required")
        return None

    @staticmethod
    def _same_origin() -> bool:
        """Browsers name the origin of every cross-origin and of most same-origin state-changing
        requests; one that names another origin is refused."""
        origin = flask.request.headers.get("Origin")
        if origin is None:
            return True
        parts = urlsplit(origin)
        return f"{parts.scheme}://{parts.netloc}" == flask.request.host_url.rstrip("/")

    def _identify(self) -> Identity | None:
        """Who the session cookie names, checked against the database. While the database is
        unreachable, the cookie's own signed claims stand in (a user's only until the session's
        lifetime ends): nothing but cached figures can be read then anyway, and a wall display
        shows "database unreachable" instead of a sign-in page."""
        session = flask.session
        token = session.get("kiosk")
        held = None if isinstance(token, str) else sessions.from_cookie(session)
        if not isinstance(token, str) and held is None:
            return None
        try:
            with self._data.connection() as conn:
                if isinstance(token, str):
                    identity = _kiosk(conn, token)
                else:
                    identity = _user(sessions.check(conn, held, lifetime_s=self._settings.auth.session_s))
        except DatabaseDown:
            claimed = from_claims(session)
            young = held is None or sessions.fresh(held, lifetime_s=self._settings.auth.session_s)
            if claimed is None or not young:
                raise
            if claimed.name not in self._on_cookie:
                self._on_cookie.add(claimed.name)
                log.warning("database unreachable: %s's access rests on their cookie for now", claimed.name)
            return Identity(claimed)
        if self._on_cookie:
            self._on_cookie.clear()
            log.info("database reachable again: every session is checked against it")
        return identity

    # -- after every request -------------------------------------------------------------------

    def _after(self, response: flask.Response) -> flask.Response:
        token = flask.session.get(CSRF_FIELD)
        if isinstance(token, str) and flask.request.cookies.get(CSRF_COOKIE) != token:
            response.set_cookie(
                CSRF_COOKIE,
                token,
                max_age=int(COOKIE_MAX_AGE.total_seconds()),
                secure=flask.current_app.session_interface.get_cookie_secure(flask.current_app),
                httponly=False,  # dash-renderer reads it
                samesite="Strict",
            )
        headers = response.headers
        headers["Content-Security-Policy"] = self._policy
        headers["X-Frame-Options"] = "DENY"
        headers["Referrer-Policy"] = "same-origin"  # no-referrer would make form posts say Origin: null
        headers["X-Content-Type-Options"] = "nosniff"
        headers["Cross-Origin-Opener-Policy"] = "same-origin"
        headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=(), payment=()"
        if response.mimetype in ("text/html", "application/json") and "Cache-Control" not in headers:
            headers["Cache-Control"] = "no-store"
        return response


def content_policy(script_hashes: Sequence[str]) -> str:
    """The Content-Security-Policy: scripts from this site and the inline ones of these hashes."""
    scripts = " ".join(["'self'", *script_hashes])  # csp_hashes() quotes them
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src {scripts}",
            "style-src 'self' 'unsafe-inline'",  # plotly.js and React set inline styles
            "img-src 'self' data: blob:",
            "font-src 'self' data:",
            "connect-src 'self'",
            "media-src 'self' data: blob:",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


def _kiosk(conn: Connection, token: str) -> Identity | None:
    link = kiosk.resolve(conn, token)
    return None if link is None else Identity(link.principal, link=link)


def _user(user: User | None) -> Identity | None:
    return None if user is None else Identity(user.principal, user=user)


def claims(principal: Principal) -> dict[str, str]:
    """What a session cookie says of its principal, read only while the database is unreachable."""
    return {"name": principal.name, "role": principal.role, "scope": principal.scope}


def from_claims(session: Mapping[str, object]) -> Principal | None:
    name, role, scope = (session.get(key) for key in ("name", "role", "scope"))
    if not (isinstance(name, str) and isinstance(scope, str) and role in ROLES):
        return None
    return Principal(name, cast(Role, role), scope)


def new_csrf_token() -> str:
    token = secrets.token_urlsafe(32)
    flask.session[CSRF_FIELD] = token
    return token


def csrf_token() -> str:
    """The session's CSRF token (made now if it has none): forms carry it in a hidden field."""
    token = flask.session.get(CSRF_FIELD)
    return token if isinstance(token, str) else new_csrf_token()


def _csrf_ok(sent: str | None) -> bool:
    expected = flask.session.get(CSRF_FIELD)
    return isinstance(expected, str) and sent is not None and secrets.compare_digest(sent, expected)


def check_form_csrf() -> bool:
    """Whether the submitted form carries the session's CSRF token (the sign-in form: public, so
    checked by its own route)."""
    return _csrf_ok(flask.request.form.get(CSRF_FIELD))


def _wants_page(request: flask.Request) -> bool:
    return not request.path.startswith(
        ("/_dash-", "/geo/", "/assets/")
    ) and "text/html" in request.headers.get("Accept", "text/html")


def _refuse(status: int, message: str) -> WerkzeugResponse:
    response = flask.jsonify({"error": message})
    response.status_code = status
    return response
