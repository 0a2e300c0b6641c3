"""The sign-in page, sign-out and kiosk links: the only routes that make or end a session.

Plain HTML forms (no script, so they work under the strictest policy and before Dash loads), in
Vietnamese unless ``?lang=en``. ``auth.signin.sign_in`` decides (throttle, password, audit); this
module turns its outcome into a page or a session. A new session always replaces the old one
(no session fixation) and gets a fresh CSRF token.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import flask
from werkzeug.wrappers import Response as WerkzeugResponse

from auth import kiosk, sessions, signin, throttle, users
from auth.sessions import as_cookie
from dashboard import access, guard, i18n
from dashboard.data import Data
from dashboard.errors import DatabaseDown
from dashboard.i18n import Lang
from ioc.settings import OidcSettings, Settings

OIDC_START = "oidc.start"  # the route of dashboard.oidc, registered when IOC_OIDC_ISSUER is set
PAGE = """<!DOCTYPE html>
<html lang="{{ lang }}" data-bs-theme="dark">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ t("signin_title") }} — IOC</title>
<link rel="stylesheet" href="/assets/vendor/bootstrap/bootstrap.min.css">
<link rel="stylesheet" href="/assets/ioc.css"><link rel="icon" href="/_favicon.ico"></head>
<body class="ioc-signin">
<main class="container" style="max-width: 26rem; margin-top: 12vh">
<h1 class="h4 mb-1">{{ t("app_title") }}</h1>
<h2 class="h5 mb-4 text-body-secondary">{{ t("signin_title") }}</h2>
{% if message %}
<div class="alert alert-warning" role="alert" id="signin-message">{{ message }}</div>
{% endif %}
{% if form %}
<form method="post" action="{{ action }}" id="signin-form">
<input type="hidden" name="csrf" value="{{ csrf }}">
<input type="hidden" name="next" value="{{ next }}">
<div class="mb-3"><label class="form-label" for="username">{{ t("signin_username") }}</label>
<input class="form-control form-control-lg" id="username" name="username" autocomplete="username"
 value="{{ username }}" required maxlength="100" autofocus></div>
<div class="mb-3"><label class="form-label" for="password">{{ t("signin_password") }}</label>
<input class="form-control form-control-lg" id="password" name="password" type="password"
 autocomplete="current-password" required maxlength="1024"></div>
<button class="btn btn-primary btn-lg w-100" type="submit" id="signin-submit">
{{ t("signin_submit") }}</button>
</form>
{% if oidc %}
<a class="btn btn-outline-light w-100 mt-3" id="signin-oidc" href="{{ oidc }}">{{ oidc_label }}</a>
{% endif %}
<p class="mt-4"><a href="{{ other_lang_url }}">{{ other_lang }}</a></p>
{% endif %}
</main></body></html>"""


def blueprint(settings: Settings, data: Data) -> flask.Blueprint:
    pages = flask.Blueprint("signin", __name__)
    policy = throttle.Policy.from_settings(settings.auth)

    @pages.get(guard.SIGN_IN)
    def form() -> WerkzeugResponse | str:
        if access.principal() is not None and access.kiosk_link() is None:
            return flask.redirect(safe_next(flask.request.args.get("next")))
        return render(lang_of_request())

    @pages.post(guard.SIGN_IN)
    def submit() -> WerkzeugResponse | tuple[str, int, dict[str, str]] | tuple[str, int]:
        lang = lang_of_request()
        form = flask.request.form
        username = form.get("username", "")[:100]
        if not guard.check_form_csrf():
            return render(lang, message=i18n.t("signin_expired_form", lang), username=username), 400
        try:
            with data.connection() as conn:
                outcome = signin.sign_in(
                    conn,
                    username,
                    form.get("password", ""),
                    address=flask.request.remote_addr or "unknown",
                    policy=policy,
                )
        except DatabaseDown:
            return render(lang, message=i18n.t("signin_db_down", lang), username=username), 503
        if outcome.outcome == "throttled":
            wait = max(1, round(outcome.retry_after_s))
            page = render(lang, message=i18n.t("signin_throttled", lang, seconds=wait), username=username)
            return page, 429, {"Retry-After": str(wait)}
        if outcome.outcome == "refused" or outcome.session is None or outcome.user is None:
            return render(lang, message=i18n.t("signin_refused", lang), username=username), 401
        start_session(user_session(outcome.user, outcome.session))
        return flask.redirect(safe_next(form.get("next")))

    @pages.post("/signout")
    def sign_out() -> WerkzeugResponse:
        user = flask.g.get("user")
        if user is not None:
            try:
                with data.connection() as conn:
                    signin.sign_out(conn, user, address=flask.request.remote_addr)
            except DatabaseDown:
                pass  # the cookie is cleared below; the session ends when its lifetime does
        flask.session.clear()
        return flask.redirect(flask.url_for("signin.form"))

    @pages.get("/kiosk/<token>")
    def kiosk_link(token: str) -> WerkzeugResponse | tuple[str, int]:
        lang = lang_of_request()
        try:
            with data.connection() as conn:
                link = kiosk.resolve(conn, token)
        except DatabaseDown:
            return render(lang, message=i18n.t("signin_db_down", lang), form=False), 503
        if link is None:
            flask.session.clear()
            return render(lang, message=i18n.t("kiosk_unknown", lang), form=False), 404
        start_session({"kiosk": token, **guard.claims(link.principal)})
        return flask.redirect(f"/wall?lang={lang}" if lang == "en" else "/wall")

    def render(lang: Lang, *, message: str = "", username: str = "", form: bool = True) -> str:
        back = safe_next(flask.request.values.get("next"))
        return page(settings.auth.oidc, lang, back, message=message, username=username, form=form)

    return pages


def page(
    oidc: OidcSettings | None,
    lang: Lang,
    back: str,
    *,
    message: str = "",
    username: str = "",
    form: bool = True,
) -> str:
    """The sign-in page in ``lang``, going to ``back`` once signed in, with ``message`` if any, and
    the link to the identity server when one is configured."""
    other: Lang = "en" if lang == "vi" else "vi"
    in_lang: dict[str, Any] = {"lang": "en"} if lang == "en" else {}
    offer_oidc = oidc is not None and OIDC_START in flask.current_app.view_functions
    return flask.render_template_string(
        PAGE,
        lang=lang,
        t=lambda key, **values: i18n.t(key, lang, **values),
        message=message,
        form=form,
        action=flask.url_for("signin.submit", **in_lang),
        csrf=guard.csrf_token(),
        next=back,
        username=username,
        oidc=flask.url_for(OIDC_START, next=back, **in_lang) if offer_oidc else None,
        oidc_label=i18n.t("signin_oidc", lang, issuer=urlsplit(oidc.issuer).netloc) if oidc else "",
        other_lang="English" if other == "en" else "Tiếng Việt",
        other_lang_url=flask.url_for("signin.form", lang=other, next=back),
    )


def start_session(values: Mapping[str, object]) -> None:
    """Replace whatever session the browser had with ``values`` and a fresh CSRF token."""
    flask.session.clear()
    flask.session.update(values)
    flask.session.permanent = True
    guard.new_csrf_token()


def user_session(user: users.User, session: sessions.Session | None = None) -> dict[str, object]:
    """The cookie's values of ``user``'s ``session`` (default: one starting now)."""
    return {**as_cookie(session or sessions.start(user)), **guard.claims(user.principal)}


def lang_of_request() -> Lang:
    return i18n.lang_of(flask.request.args.get("lang"))


def safe_next(raw: str | None) -> str:
    """Where to go after signing in: a path of this site only (never ``//host`` or ``http://``)."""
    if not raw or not raw.startswith("/") or raw.startswith(("//", "/\\")) or any(c in raw for c in "\r\n\t"):
        return "/"
    parts = urlsplit(raw)
    if parts.scheme or parts.netloc or parts.path.startswith(guard.SIGN_IN):
        return "/"
    return raw
