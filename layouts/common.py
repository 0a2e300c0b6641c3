"""Pieces every page shares: the shell, the footer (status and map attributions), messages."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import dash_bootstrap_components as dbc  # type: ignore[import-untyped]
from dash import dcc, html
from dash.development.base_component import Component

from dashboard import access, i18n
from dashboard.errors import DatabaseDown, DatabaseFailed
from dashboard.health import Health, Status
from dashboard.i18n import Lang
from layouts import ids


def shell(report: Health, attributions: Sequence[str]) -> html.Div:
    """The app's layout: the URL, the page (filled by the router) and the footer."""
    return html.Div(
        [
            dcc.Location(id=ids.URL, refresh=False),
            html.Div(id=ids.PAGE),
            html.Footer(footer(report, attributions, "vi"), id=ids.FOOTER, className="ioc-footer"),
        ]
    )


def footer(
    report: Health, attributions: Sequence[str], lang: Lang, account: Account | None = None
) -> list[Component]:
    parts: list[Component] = [
        html.Span(status_text(report.status, lang), id=ids.STATUS, className=status_class(report.status))
    ]
    parts += [
        html.Span(i18n.t("attribution", lang, text=line), className="attribution") for line in attributions
    ]
    if account is not None:
        parts.append(sign_out(account, lang))
    return parts


def may_administer() -> bool:
    """Whether the current request's principal may open any admin page (its footer links there)."""
    return any(access.allowed(a) for a in ("manage_users", "manage_kiosk_links", "view_audit"))


@dataclass(frozen=True)
class Account:
    """Who is signed in, for the footer's sign-out form (a kiosk display has none)."""

    name: str
    csrf: str
    admin: bool = field(default_factory=may_administer)  # asked of the current request


def sign_out(account: Account, lang: Lang) -> html.Form:
    """The signed-in user's name, a link to the admin pages for admins, and a sign-out button: a
    form POST carrying the CSRF token."""
    query = "?lang=en" if lang == "en" else ""
    admin = [html.A(i18n.t("admin_link", lang), href=f"/admin{query}", id=ids.ADMIN_LINK, className="me-2")]
    return html.Form(
        [
            html.Span(account.name, className="me-2"),
            *(admin if account.admin else []),
            dcc.Input(type="hidden", name="csrf", value=account.csrf),
            html.Button(
                i18n.t("signout", lang), type="submit", id=ids.SIGN_OUT, className="btn btn-link btn-sm p-0"
            ),
        ],
        method="POST",
        action="/signout",
        className="ioc-account",
    )


def status_text(status: Status, lang: Lang) -> str:
    """The footer's words for ``status``; the pages' timers keep them true (``callbacks.footer``)."""
    return i18n.t(f"status_{status}", lang)


def status_class(status: Status) -> str:
    return f"status-{status}"


def message(text: str, *, kind: str = "warning", link: tuple[str, str] | None = None) -> dbc.Alert:
    """A clear message in place of what cannot be shown."""
    children: list[object] = [html.Span(text)]
    if link is not None:
        children += [" ", html.A(link[0], href=link[1], className="alert-link")]
    return dbc.Alert(children, color=kind, id=ids.MESSAGE, className="ioc-message")


def database_message(exc: DatabaseDown, lang: Lang) -> dbc.Alert:
    """Unreachable, or answering with errors: each says so."""
    key = "db_error" if isinstance(exc, DatabaseFailed) else "db_down"
    return message(i18n.t(key, lang), kind="danger")


def retrying(content: dbc.Alert, seconds: int = 15) -> html.Div:
    """A page-level message that reloads the page every ``seconds`` (a wall left alone recovers)."""
    return html.Div([content, dcc.Interval(id=ids.RETRY, interval=seconds * 1000)])


def lang_switch(lang: Lang, href: str) -> html.A:
    """A link to the same view in the other language (``?lang=``)."""
    return html.A(i18n.t("language", lang), href=href, id=ids.LANG_SWITCH, className="lang-switch")


PAGES = (("nav_operator", "/"), ("nav_alerts", "/alerts"), ("nav_targets", "/targets"), ("nav_wall", "/wall"))


def nav(
    lang: Lang, current: str, pages: Sequence[tuple[str, str]] = PAGES, nav_id: str = ids.NAV
) -> html.Nav:
    """Links to ``pages`` (text key, path), in the page's language (the current one plain text)."""
    query = "?lang=en" if lang == "en" else ""
    links: list[html.Span | html.A] = []
    for key, path in pages:
        text = i18n.t(key, lang)
        links.append(
            html.Span(text, className="nav-current")
            if path == current
            else html.A(text, href=f"{path}{query}", className="nav-link-inline")
        )
    return html.Nav(links, id=nav_id, className="ioc-nav")
