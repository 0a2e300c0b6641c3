"""Signing in through an OpenID Connect identity server (a provincial Keycloak, say), when
``IOC_OIDC_ISSUER`` is set: the authorization-code flow with PKCE (S256).

- ``GET /signin/oidc`` reads the issuer's discovery document (cached for an hour per process),
  keeps a random ``state``, ``nonce`` and PKCE verifier in the session cookie (signed by
  ``IOC_AUTH_SECRET``; a few flows at once, for a few tabs, each for ten minutes) and sends the
  browser to the identity server.
- ``GET /signin/oidc/callback`` takes the flow of the returned ``state`` (once), exchanges the code
  at the token endpoint (the client secret by HTTP Basic or in the form, as the server says it
  takes it; the PKCE verifier), and checks the ID token with PyJWT: its signature against the
  issuer's JWKS (fetched again once when a token names a key it does not hold: keys are rotated),
  ``iss``, ``aud``, ``exp`` and ``iat`` (a minute's leeway) and ``nonce``.
- The claim ``IOC_OIDC_USERNAME_CLAIM`` names a LOCAL user (``ioc users add``): their role and
  scope apply, and a disabled or unknown one is refused. The identity server only says who
  someone is; what they may see is decided here.

Whatever goes wrong with the identity server (it refused, is unreachable, or its token fails a
check) shows the sign-in page with a short reason, never a 500; the details go to the log, never
a token or a code.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import logging
import secrets
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import flask
import jwt
from werkzeug.wrappers import Response as WerkzeugResponse

from auth import audit, users
from auth.errors import BadUsername
from dashboard import i18n, signin
from dashboard.data import Data
from dashboard.errors import DatabaseDown
from dashboard.i18n import Lang
from ioc.settings import OidcSettings, Settings

log = logging.getLogger("ioc.dashboard.oidc")

START = "/signin/oidc"
CALLBACK = "/signin/oidc/callback"
FLOWS = "oidc_flows"  # the session's pending flows, by state
MAX_FLOWS = 4  # pending sign-ins kept at once (tabs); the oldest goes first
FLOW_TTL_S = 600.0
CACHE_TTL_S = 3600.0  # discovery document and JWKS
TIMEOUT_S = 5.0
LEEWAY_S = 60
MAX_AGE_S = 600  # an ID token issued longer ago than this (plus leeway) is refused
MAX_BYTES = 1 << 20
# Asymmetric algorithms only: an HMAC token would be signed with the client secret, which is not
# how a shared identity server should prove anything, and "none" proves nothing.
ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")

Reason = Literal["state", "refused", "unreachable", "token", "claim"]
REASON_TEXT: dict[Reason, str] = {
    "state": "oidc_reason_state",
    "refused": "oidc_reason_refused",
    "unreachable": "oidc_reason_unreachable",
    "token": "oidc_reason_token",
    "claim": "oidc_reason_claim",
}


class OidcFailure(Exception):
    """The flow failed: its ``reason`` is shown (a sentence of ``dashboard.i18n``), its message
    is logged (never a token or a code)."""

    reason: ClassVar[Reason]


class StateUnknown(OidcFailure):
    reason = "state"


class ServerRefused(OidcFailure):
    reason = "refused"


class ServerUnreachable(OidcFailure):
    reason = "unreachable"


class TokenInvalid(OidcFailure):
    reason = "token"


class ClaimMissing(OidcFailure):
    reason = "claim"


@dataclass(frozen=True)
class Provider:
    """The parts of the discovery document this client uses."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    token_auth_methods: tuple[str, ...]


class Client:
    """One identity server: its discovery document and keys (cached), the token exchange and the
    ID token's checks. One per app, so per worker process."""

    def __init__(
        self,
        settings: OidcSettings,
        *,
        timeout_s: float = TIMEOUT_S,
        cache_ttl_s: float = CACHE_TTL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self._timeout_s = timeout_s
        self._ttl_s = cache_ttl_s
        self._clock = clock
        self._provider: tuple[float, Provider] | None = None
        self._jwks: tuple[float, list[dict[str, Any]]] | None = None

    # -- discovery and keys --------------------------------------------------------------------

    def provider(self) -> Provider:
        """The discovery document of the issuer (cached; a failure is not)."""
        cached = self._provider
        if cached is not None and self._clock() - cached[0] < self._ttl_s:
            return cached[1]
        url = f"{self.settings.issuer}/.well-known/openid-configuration"
        doc = self._get_json(url)
        endpoints = {}
        for name in ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri"):
            value = doc.get(name)
            if not isinstance(value, str) or not _http_url(value):
                msg = f"discovery document at {url}: no usable {name}"
                raise ServerUnreachable(msg)
            endpoints[name] = value
        if endpoints["issuer"].rstrip("/") != self.settings.issuer:
            detail = f"discovery document at {url} names the issuer {endpoints['issuer']!r}"
            msg = f"{detail}, not IOC_OIDC_ISSUER"
            raise ServerUnreachable(msg)
        methods = doc.get("token_endpoint_auth_methods_supported", ["client_secret_basic"])
        provider = Provider(
            issuer=endpoints["issuer"],
            authorization_endpoint=endpoints["authorization_endpoint"],
            token_endpoint=endpoints["token_endpoint"],
            jwks_uri=endpoints["jwks_uri"],
            token_auth_methods=tuple(m for m in methods if isinstance(m, str))
            if isinstance(methods, list)
            else ("client_secret_basic",),
        )
        self._provider = (self._clock(), provider)
        return provider

    def _keys(self, provider: Provider, *, fresh: bool) -> list[dict[str, Any]]:
        cached = self._jwks
        if not fresh and cached is not None and self._clock() - cached[0] < self._ttl_s:
            return cached[1]
        doc = self._get_json(provider.jwks_uri)
        keys = doc.get("keys")
        if not isinstance(keys, list):
            msg = f"JWKS at {provider.jwks_uri}: no keys"
            raise ServerUnreachable(msg)
        found = [k for k in keys if isinstance(k, dict) and k.get("use", "sig") == "sig"]
        self._jwks = (self._clock(), found)
        return found

    def _key(self, provider: Provider, header: Mapping[str, Any]) -> jwt.PyJWK:
        """The issuer's key that signed a token of ``header``: by its ``kid`` (the JWKS fetched
        again once if no key has it), or the only key of its type when it names none."""
        alg = header.get("alg")
        if alg not in ALGORITHMS:
            msg = f"ID token signed with {alg!r}: expected one of {', '.join(ALGORITHMS)}"
            raise TokenInvalid(msg)
        kid = header.get("kid")
        for fresh in (False, True):
            keys = self._keys(provider, fresh=fresh)
            if kid is not None:
                matching = [k for k in keys if k.get("kid") == kid]
            else:
                matching = [k for k in keys if k.get("alg", alg) == alg and k.get("kty") == _kty(alg)]
            if len(matching) == 1:
                break
        else:
            msg = f"ID token names the key {kid!r}: the issuer's JWKS has no single such key"
            raise TokenInvalid(msg)
        data = matching[0]
        if data.get("alg", alg) != alg:
            msg = f"ID token signed with {alg}, its key is for {data.get('alg')!r}"
            raise TokenInvalid(msg)
        try:
            return jwt.PyJWK(data, algorithm=alg)
        except jwt.PyJWTError as exc:
            msg = f"the issuer's key {kid!r} is unusable for {alg}: {exc}"
            raise TokenInvalid(msg) from None

    # -- the flow ------------------------------------------------------------------------------

    def authorization_url(
        self, provider: Provider, *, redirect_uri: str, state: str, nonce: str, challenge: str, lang: Lang
    ) -> str:
        scopes = (
            self.settings.scopes if "openid" in self.settings.scopes else ("openid", *self.settings.scopes)
        )
        query = urllib.parse.urlencode(
            {
                "response_type": "code",
                "client_id": self.settings.client_id,
                "redirect_uri": redirect_uri,
                "scope": " ".join(scopes),
                "state": state,
                "nonce": nonce,
                "code_challenge": challenge,
                "code_challenge_method": "S256",
                "ui_locales": lang,
            }
        )
        endpoint = provider.authorization_endpoint
        return f"{endpoint}{'&' if urllib.parse.urlsplit(endpoint).query else '?'}{query}"

    def exchange(self, provider: Provider, *, code: str, verifier: str, redirect_uri: str) -> str:
        """The ID token the token endpoint gives for ``code`` (not yet checked)."""
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": verifier,
        }
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
        oidc = self.settings
        if not oidc.client_secret:
            form["client_id"] = oidc.client_id  # a public client: PKCE alone
        elif "client_secret_basic" in provider.token_auth_methods or (
            "client_secret_post" not in provider.token_auth_methods
        ):
            pair = f"{_form_quote(oidc.client_id)}:{_form_quote(oidc.client_secret)}"  # RFC 6749 2.3.1
            headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode("ascii")
        else:
            form |= {"client_id": oidc.client_id, "client_secret": oidc.client_secret}
        request = urllib.request.Request(  # noqa: S310 - http(s) only (checked in the discovery)
            provider.token_endpoint,
            data=urllib.parse.urlencode(form).encode(),
            headers=headers,
            method="POST",
        )
        answer = self._json(request)
        token = answer.get("id_token")
        if not isinstance(token, str) or not token:
            msg = f"the token endpoint {provider.token_endpoint} gave no ID token"
            raise ServerRefused(msg)
        return token

    def verify(self, provider: Provider, id_token: str, *, nonce: str) -> dict[str, Any]:
        """The claims of ``id_token`` once its signature, issuer, audience, times and nonce check."""
        try:
            header = jwt.get_unverified_header(id_token)
        except jwt.PyJWTError as exc:
            msg = f"ID token unreadable: {exc}"
            raise TokenInvalid(msg) from None
        key = self._key(provider, header)
        client_id = self.settings.client_id
        try:
            claims = jwt.decode(
                id_token,
                key,
                algorithms=[key.algorithm_name],
                audience=client_id,
                issuer=provider.issuer,
                leeway=LEEWAY_S,
                options={"require": ["iss", "aud", "exp", "iat", "sub"]},
            )
        except jwt.PyJWTError as exc:
            msg = f"ID token refused: {exc}"
            raise TokenInvalid(msg) from None
        audience = claims.get("aud")
        if isinstance(audience, list) and len(audience) > 1 and claims.get("azp") != client_id:
            msg = "ID token of several audiences without this client as its azp"
            raise TokenInvalid(msg)
        issued = claims.get("iat")
        if not isinstance(issued, int | float) or issued < time.time() - MAX_AGE_S - LEEWAY_S:
            msg = f"ID token issued too long ago (iat {issued!r})"
            raise TokenInvalid(msg)
        sent = claims.get("nonce")
        if not isinstance(sent, str) or not secrets.compare_digest(sent.encode(), nonce.encode()):
            msg = "ID token of another sign-in (its nonce differs)"
            raise TokenInvalid(msg)
        return claims

    # -- HTTP ----------------------------------------------------------------------------------

    def _get_json(self, url: str) -> dict[str, Any]:
        request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310 - see _http_url
        return self._json(request)

    def _json(self, request: urllib.request.Request) -> dict[str, Any]:
        url = request.full_url
        if not _http_url(url):
            msg = f"{url!r} is not an http(s) URL"
            raise ServerUnreachable(msg)
        try:
            with urllib.request.urlopen(request, timeout=self._timeout_s) as response:  # noqa: S310
                body = response.read(MAX_BYTES + 1)
        except urllib.error.HTTPError as exc:
            msg = f"{url} answered HTTP {exc.code}{_error_of(exc)}"
            raise ServerRefused(msg) from None
        except (OSError, ValueError, http.client.HTTPException) as exc:  # refused, timed out, cut short
            msg = f"{url}: {type(exc).__name__}: {exc}"
            raise ServerUnreachable(msg) from None
        if len(body) > MAX_BYTES:
            msg = f"{url}: answer larger than {MAX_BYTES} bytes"
            raise ServerUnreachable(msg)
        try:
            doc = json.loads(body)
        except ValueError:
            msg = f"{url}: the answer is not JSON"
            raise ServerUnreachable(msg) from None
        if not isinstance(doc, dict):
            msg = f"{url}: the answer is not a JSON object"
            raise ServerUnreachable(msg)
        return doc


def blueprint(settings: Settings, data: Data) -> flask.Blueprint:
    """The routes of sign-in through ``settings.auth.oidc`` (which must be set)."""
    oidc = settings.auth.oidc
    if oidc is None:
        msg = "OpenID Connect sign-in needs IOC_OIDC_ISSUER"
        raise ValueError(msg)
    client = Client(oidc)
    pages = flask.Blueprint("oidc", __name__)
    pages.record_once(lambda state: state.app.extensions.__setitem__("ioc_oidc", oidc))

    @pages.get(START)
    def start() -> WerkzeugResponse | tuple[str, int]:
        lang = signin.lang_of_request()
        back = signin.safe_next(flask.request.args.get("next"))
        try:
            provider = client.provider()
        except OidcFailure as failure:
            return _failed(lang, back, failure)
        state, nonce, verifier = (secrets.token_urlsafe(32) for _ in range(3))
        redirect_uri = flask.url_for("oidc.callback", _external=True)
        flows = _flows()
        flows[state] = {
            "nonce": nonce,
            "verifier": verifier,
            "next": back,
            "lang": lang,
            "redirect_uri": redirect_uri,
            "at": time.time(),
        }
        flask.session[FLOWS] = dict(sorted(flows.items(), key=lambda item: item[1]["at"])[-MAX_FLOWS:])
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        url = client.authorization_url(
            provider, redirect_uri=redirect_uri, state=state, nonce=nonce, challenge=challenge, lang=lang
        )
        return flask.redirect(url)

    @pages.get(CALLBACK)
    def callback() -> WerkzeugResponse | tuple[str, int]:
        args = flask.request.args
        flows = _flows()
        flow = flows.pop(args.get("state", ""), None)  # once only
        if flows:
            flask.session[FLOWS] = flows
        else:
            flask.session.pop(FLOWS, None)
        if flow is None:
            lang = signin.lang_of_request()
            failure = StateUnknown("callback of no pending sign-in (state unknown, expired or used)")
            return _failed(lang, "/", failure, status=400)
        lang, back = i18n.lang_of(flow["lang"]), signin.safe_next(flow["next"])
        try:
            if "error" in args:
                error = args.get("error", "")[:64]
                msg = f"the identity server answered error={error!r}"
                raise ServerRefused(msg)
            code = args.get("code", "")
            if not code:
                msg = "the identity server sent no code"
                raise ServerRefused(msg)
            provider = client.provider()
            token = client.exchange(
                provider, code=code, verifier=flow["verifier"], redirect_uri=flow["redirect_uri"]
            )
            claims = client.verify(provider, token, nonce=flow["nonce"])
            raw = claims.get(oidc.username_claim)
            if not isinstance(raw, str) or not raw.strip():
                msg = f"the ID token has no {oidc.username_claim!r} claim"
                raise ClaimMissing(msg)
        except OidcFailure as failure:
            return _failed(lang, back, failure)
        return _sign_in(data, raw, lang, back, issuer=provider.issuer)

    return pages


def _sign_in(
    data: Data, raw: str, lang: Lang, back: str, *, issuer: str
) -> WerkzeugResponse | tuple[str, int]:
    """Sign in the local user ``raw`` names, if there is an enabled one."""
    name = raw.strip().lower()[:100]
    address = flask.request.remote_addr or "unknown"
    try:
        username = users.checked_username(name)
    except BadUsername:
        username = None
    try:
        with data.connection() as conn:
            user = users.get(conn, username) if username else None
            if user is None or not user.active:
                reason = "unknown_user" if user is None else "disabled"
                detail = {"via": "oidc", "reason": reason, "issuer": issuer}
                audit.record(
                    conn,
                    "anonymous",
                    "sign_in_failed",
                    subject=f"user:{name}",
                    address=address,
                    detail=detail,
                )
            else:
                audit.record(
                    conn,
                    user.username,
                    "sign_in",
                    subject=f"user:{user.username}",
                    address=address,
                    detail={"via": "oidc"},
                )
    except DatabaseDown:
        return _page(lang, back, i18n.t("signin_db_down", lang)), 503
    if user is None or not user.active:
        log.warning("OpenID Connect sign-in of %r from %r refused: no enabled local user", name, address)
        return _page(lang, back, i18n.t("signin_no_account", lang, name=name)), 403
    log.info("%s signed in through OpenID Connect from %r", user.username, address)
    signin.start_session(signin.user_session(user))
    return flask.redirect(back)


def _flows() -> dict[str, dict[str, Any]]:
    """The session's pending flows younger than ``FLOW_TTL_S``."""
    raw = flask.session.get(FLOWS)
    if not isinstance(raw, dict):
        return {}
    oldest = time.time() - FLOW_TTL_S
    return {
        state: flow
        for state, flow in raw.items()
        if isinstance(flow, dict) and isinstance(flow.get("at"), int | float) and flow["at"] >= oldest
    }


def _failed(lang: Lang, back: str, failure: OidcFailure, *, status: int = 502) -> tuple[str, int]:
    log.warning("OpenID Connect sign-in failed (%s): %s", failure.reason, failure)
    reason = i18n.t(REASON_TEXT[failure.reason], lang)
    return _page(lang, back, i18n.t("signin_oidc_failed", lang, reason=reason)), status


def _page(lang: Lang, back: str, message: str) -> str:
    """The sign-in page with ``message``, and its link to sign in here again."""
    oidc = flask.current_app.extensions["ioc_oidc"]
    assert isinstance(oidc, OidcSettings)
    return signin.page(oidc, lang, back, message=message)


def _kty(alg: str) -> str:
    """The JWK key type of the algorithm ``alg``."""
    return "EC" if alg.startswith("ES") else "OKP" if alg == "EdDSA" else "RSA"


def _http_url(url: str) -> bool:
    parts = urllib.parse.urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _form_quote(value: str) -> str:
    return urllib.parse.quote_plus(value)


def _error_of(exc: urllib.error.HTTPError) -> str:
    """The OAuth ``error`` code of an error answer, for the log (never its other fields)."""
    try:
        doc = json.loads(exc.read(4096))
    except (OSError, ValueError):
        return ""
    error = doc.get("error") if isinstance(doc, dict) else None
    return f" ({str(error)[:64]!r})" if error else ""
