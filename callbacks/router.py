"""The router: the page for the URL's path, built from its query string, and the footer.

``/`` the operator view, ``/wall`` the wall display, ``/alerts`` the alerts, ``/targets`` the
targets, ``/status`` the system status; any other path, an unknown unit code, a unit outside the
principal's scope or an action their role lacks (``dashboard.access.Forbidden``, raised by the
page builders) or an unreachable database is a clear message, never a Dash error.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

import dash
from dash import Input, Output, State

from dashboard import access, guard, health, i18n
from dashboard.access import Forbidden, OutOfScope
from dashboard.errors import DatabaseDown, UnknownUnit
from dashboard.i18n import Lang
from ioc.settings import Settings
from layouts import common, ids, status

Page = Callable[[dict[str, str], Lang], Any]


def query(search: str | None) -> dict[str, str]:
    """The query string as single values (the first of each name)."""
    return {k: v[0] for k, v in parse_qs((search or "").lstrip("?")).items() if v}


def route(
    pages: dict[str, Page],
    settings: Settings,
    attributions: Callable[[], list[str]],
    pathname: str | None,
    search: str | None,
) -> tuple[Any, Any]:
    """The page and footer for a URL."""
    params = query(search)
    lang = i18n.lang_of(params.get("lang"))
    report = health.check(settings, datetime.now(UTC))
    page = pages.get((pathname or "/").rstrip("/") or "/")
    if page is None:
        content: Any = common.message(i18n.t("unknown_page", lang), link=(i18n.t("back_home", lang), "/"))
    elif pathname == "/status":
        content = status.layout(report, settings)
    else:
        try:
            content = page(params, lang)
        except Forbidden as exc:
            content = refused(exc, lang)
        except UnknownUnit as exc:
            content = common.message(
                i18n.t("unknown_unit", lang, code=exc.code), link=(i18n.t("back_home", lang), "/")
            )
        except DatabaseDown as exc:
            content = common.retrying(common.database_message(exc, lang))
    return content, common.footer(report, attributions(), lang, account())


def refused(exc: Forbidden, lang: Lang) -> Any:
    """What a principal reads for a page or unit they may not see: that, and a link to their own
    home (nothing of the unit asked for, not even whether it exists)."""
    key = "forbidden" if isinstance(exc, OutOfScope) else "forbidden_action"
    return common.message(i18n.t(key, lang), kind="warning", link=(i18n.t("back_home", lang), "/"))


def account() -> common.Account | None:
    """The signed-in user's footer part; None for a kiosk display (nobody to sign out)."""
    who = access.principal()
    if who is None or access.kiosk_link() is not None:
        return None
    return common.Account(who.name, guard.csrf_token())


def register(
    app: dash.Dash, pages: dict[str, Page], settings: Settings, attributions: Callable[[], list[str]]
) -> dict[str, Any]:
    @app.callback(
        Output(ids.PAGE, "children"),
        Output(ids.FOOTER, "children"),
        Input(ids.URL, "pathname"),
        State(ids.URL, "search"),
    )
    def render_page(pathname: str | None, search: str | None) -> tuple[Any, Any]:
        return route(pages, settings, attributions, pathname, search)

    app.clientside_callback(  # type: ignore[no-untyped-call]
        "function(n) { if (n) { window.location.reload(); } return window.dash_clientside.no_update; }",
        Output(ids.RETRY, "disabled"),
        Input(ids.RETRY, "n_intervals"),
        prevent_initial_call=True,
    )
    app.clientside_callback(  # type: ignore[no-untyped-call]
        "function(search) { var m = /[?&]lang=en(&|$)/.test(search || '');"
        " document.documentElement.lang = m ? 'en' : 'vi'; return window.dash_clientside.no_update; }",
        Output(ids.URL, "hash"),
        Input(ids.URL, "search"),
    )
    return {"render_page": render_page}
