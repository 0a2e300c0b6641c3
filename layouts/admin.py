"""The admin pages: display links (``/admin/kiosk``), users (``/admin/users``), the audit trail
(``/admin/audit``). Pure functions of what callbacks/admin.py read; each page is a list and a
form, in the style of ``/targets``.

Times are shown in the dashboard's time zone (``IOC_TIMEZONE``), in the page's locale format, to
the second for the audit trail (the order of events within a minute matters there).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, tzinfo
from typing import Any

import dash_bootstrap_components as dbc  # type: ignore[import-untyped]
from dash import dcc, html

from auth import audit
from auth.kiosk import KioskLink
from auth.model import USER_ROLES
from auth.passwords import MIN_LENGTH
from auth.users import User
from dashboard import i18n
from dashboard.i18n import Lang
from dashboard.reference import Reference
from dashboard.scenes import Scene
from layouts import ids
from layouts.common import lang_switch, nav

LIGHT: Any = {"data-bs-theme": "light"}
Options = list[dict[str, str]]
PAGES = (("admin_users", "/admin/users"), ("admin_kiosk", "/admin/kiosk"), ("admin_audit", "/admin/audit"))
LIMITS = (50, 100, 200, 500)


# -- the frame every admin page shares -----------------------------------------------------


def frame(page_id: str, title_key: str, path: str, lang: Lang, body: list[Any]) -> html.Div:
    """Title, language switch, the admin pages' links, then ``body``."""
    other = path if lang == "en" else f"{path}?lang=en"
    return html.Div(
        [
            dcc.Store(id=ids.LANG, data=lang),
            html.Header(
                [html.H1(i18n.t(title_key, lang), className="op-title"), lang_switch(lang, other)],
                className="op-header",
            ),
            admin_nav(lang, path),
            *body,
        ],
        id=page_id,
        className="ioc-page",
        **LIGHT,
    )


def admin_nav(lang: Lang, current: str) -> html.Nav:
    """Links between the admin pages and back to the operator view (the current page plain)."""
    return nav(lang, current, (("nav_operator", "/"), *PAGES), ids.ADMIN_NAV)


def field(label: str, control: Any, control_id: str) -> html.Div:
    return html.Div([dbc.Label(label, html_for=control_id), control], className="mb-2")


def when(at: datetime | None, lang: Lang, tz: tzinfo, *, seconds: bool = False) -> str:
    """A moment in the dashboard's time zone and the page's format ("" for none)."""
    if at is None:
        return ""
    local = at.astimezone(tz)
    return f"{i18n.day(local.date(), lang)} {local:%H:%M:%S}" if seconds else i18n.moment(local, lang)


def unit_options(reference: Reference, scope: str, lang: Lang) -> Options:
    """``scope`` and every unit in force below it, by code (the choices an admin of ``scope`` has)."""
    below = reference.subtree(scope)
    codes = [code for code in reference.units if below is None or code in below]
    first = [{"label": f"{reference.name(scope, lang)} ({scope})", "value": scope}]
    return first + [
        {"label": f"{reference.units[c].name} ({c})", "value": c} for c in sorted(codes) if c != scope
    ]


def table(columns: Sequence[str], rows: list[html.Tr], lang: Lang, class_name: str) -> dbc.Table:
    header = html.Thead(html.Tr([html.Th(i18n.t(c, lang) if c else "") for c in columns]))
    return dbc.Table([header, html.Tbody(rows)], className=class_name, size="sm", hover=True, responsive=True)


# -- /admin/kiosk --------------------------------------------------------------------------


def kiosk_page(
    *, links: Any, reference: Reference, scope: str, scenes: Sequence[Scene], lang: Lang
) -> html.Div:
    """``links``: the list, as ``kiosk_table`` makes it (or a message)."""
    return frame(
        ids.KL,
        "kl_title",
        "/admin/kiosk",
        lang,
        [
            html.Div(id=ids.KL_MESSAGE),
            dbc.Row(
                [
                    dbc.Col(html.Div(links, id=ids.KL_LIST), lg=8),
                    dbc.Col(kiosk_form(reference, scope, scenes, lang), lg=4),
                ],
                className="g-3",
            ),
        ],
    )


def scene_text(scene: Scene, lang: Lang) -> str:
    return i18n.t(
        "kl_scene",
        lang,
        kpi=i18n.kpi_name(scene.kpi, lang),
        period=i18n.t(f"period_{scene.period}", lang),
        seconds=scene.seconds,
    )


def kiosk_form(reference: Reference, scope: str, scenes: Sequence[Scene], lang: Lang) -> dbc.Card:
    """Label, unit (the admin's scope by default), scenes of the configured file (all ticked)."""
    choices = [{"label": scene_text(s, lang), "value": str(i)} for i, s in enumerate(scenes)]
    return dbc.Card(
        dbc.CardBody(
            [
                html.H2(i18n.t("kl_adding", lang), className="tg-form-title"),
                field(
                    i18n.t("kl_label", lang),
                    dbc.Input(
                        id=ids.KL_LABEL,
                        type="text",
                        value="",
                        maxLength=200,
                        placeholder=i18n.t("kl_label_hint", lang),
                    ),
                    ids.KL_LABEL,
                ),
                field(
                    i18n.t("kl_unit", lang),
                    dcc.Dropdown(
                        id=ids.KL_UNIT,
                        options=unit_options(reference, scope, lang),
                        value=scope,
                        clearable=False,
                    ),
                    ids.KL_UNIT,
                ),
                field(
                    i18n.t("kl_scenes", lang),
                    dbc.Checklist(id=ids.KL_SCENES, options=choices, value=[c["value"] for c in choices]),
                    ids.KL_SCENES,
                ),
                dbc.Button(i18n.t("kl_create", lang), id=ids.KL_CREATE, color="primary", n_clicks=0),
            ]
        ),
        className="tg-form",
    )


def kiosk_table(links: Sequence[KioskLink], reference: Reference, lang: Lang, tz: tzinfo) -> Any:
    """Every link: label, unit, scenes, created by/at, revoked by/at or a revoke button."""
    if not links:
        return html.P(i18n.t("kl_none", lang), className="no-data")
    rows = []
    for link in links:
        revoked: Any = (
            i18n.t("by_at", lang, by=link.revoked_by, at=when(link.revoked_at, lang, tz))
            if link.revoked_at is not None
            else dbc.Button(
                i18n.t("kl_revoke", lang),
                id={"type": ids.KL_REVOKE, "link": link.id},
                n_clicks=0,
                size="sm",
                color="danger",
                outline=True,
            )
        )
        cells: list[Any] = [
            link.label,
            f"{reference.name(link.unit, lang)} ({link.unit})",
            html.Ul([html.Li(scene_text(s, lang)) for s in link.scenes], className="mb-0 ps-3"),
            i18n.t("by_at", lang, by=link.created_by, at=when(link.created_at, lang, tz)),
            revoked,
        ]
        state = "active" if link.active else "revoked"
        rows.append(html.Tr([html.Td(c) for c in cells], className=f"{ids.KL_ROW} {state}"))
    return table(("col_label", "unit", "col_scenes", "col_created", "col_revoked"), rows, lang, "kl-table")


def kiosk_created(label: str, url: str, lang: Lang) -> dbc.Alert:
    """The new link's address, with the warning that it is shown only this once."""
    return dbc.Alert(
        [
            html.P(i18n.t("kl_created", lang, label=label), className="mb-1"),
            dbc.Input(id=ids.KL_NEW_URL, value=url, readonly=True, className="font-monospace mb-2"),
            html.P(html.Strong(i18n.t("kl_once", lang)), className="mb-0"),
        ],
        color="success",
        className="ioc-message",
    )


# -- /admin/users --------------------------------------------------------------------------


def users_page(
    *, users: Any, manageable: Sequence[str], reference: Reference, scope: str, lang: Lang
) -> html.Div:
    """``users``: the list, as ``users_table`` makes it (or a message); ``manageable``: the
    usernames whose password this admin may set."""
    return frame(
        ids.US,
        "us_title",
        "/admin/users",
        lang,
        [
            html.Div(id=ids.US_MESSAGE),
            dbc.Row(
                [
                    dbc.Col(html.Div(users, id=ids.US_LIST), lg=8),
                    dbc.Col(
                        [add_form(reference, scope, lang), password_form(manageable, lang)],
                        lg=4,
                    ),
                ],
                className="g-3",
            ),
        ],
    )


def role_options(lang: Lang) -> Options:
    return [{"label": i18n.t(f"role_{r}", lang), "value": r} for r in USER_ROLES]


def add_form(reference: Reference, scope: str, lang: Lang) -> dbc.Card:
    def typed(control_id: str, label: str, **more: Any) -> html.Div:
        return field(label, dbc.Input(id=control_id, value="", **more), control_id)

    return dbc.Card(
        dbc.CardBody(
            [
                html.H2(i18n.t("us_adding", lang), className="tg-form-title"),
                typed(ids.US_USERNAME, i18n.t("us_username", lang), type="text", maxLength=64),
                typed(ids.US_DISPLAY_NAME, i18n.t("us_display_name", lang), type="text", maxLength=200),
                field(
                    i18n.t("us_role", lang),
                    dcc.Dropdown(id=ids.US_ROLE, options=role_options(lang), value="viewer", clearable=False),
                    ids.US_ROLE,
                ),
                field(
                    i18n.t("us_scope", lang),
                    dcc.Dropdown(
                        id=ids.US_SCOPE,
                        options=unit_options(reference, scope, lang),
                        value=scope,
                        clearable=False,
                    ),
                    ids.US_SCOPE,
                ),
                typed(
                    ids.US_PASSWORD,
                    i18n.t("us_password", lang, n=MIN_LENGTH),
                    type="password",
                    autoComplete="new-password",
                ),
                dbc.Button(i18n.t("us_add", lang), id=ids.US_ADD, color="primary", n_clicks=0),
            ]
        ),
        className="tg-form mb-3",
    )


def password_form(manageable: Sequence[str], lang: Lang) -> dbc.Card:
    return dbc.Card(
        dbc.CardBody(
            [
                html.H2(i18n.t("us_set_password", lang), className="tg-form-title"),
                field(
                    i18n.t("us_username", lang),
                    dcc.Dropdown(id=ids.US_PW_USER, options=list(manageable), value=None, placeholder="—"),
                    ids.US_PW_USER,
                ),
                field(
                    i18n.t("us_new_password", lang, n=MIN_LENGTH),
                    dbc.Input(id=ids.US_PW_PASSWORD, type="password", value="", autoComplete="new-password"),
                    ids.US_PW_PASSWORD,
                ),
                dbc.Button(i18n.t("us_set_password", lang), id=ids.US_PW_SET, color="primary", n_clicks=0),
            ]
        ),
        className="tg-form",
    )


def users_table(users: Sequence[User], reference: Reference, lang: Lang, tz: tzinfo, *, me: str) -> Any:
    """Every user shown: username, name, role, scope, state (and disable/enable, not for ``me``)."""
    if not users:
        return html.P(i18n.t("us_none", lang), className="no-data")
    rows = []
    for user in users:
        state = (
            i18n.t("us_active", lang)
            if user.active
            else i18n.t("us_disabled", lang, at=when(user.disabled_at, lang, tz))
        )
        button: Any = (
            ""
            if user.username == me
            else dbc.Button(
                i18n.t("us_disable" if user.active else "us_enable", lang),
                id={
                    "type": ids.US_TOGGLE,
                    "user": user.username,
                    "action": "user_disabled" if user.active else "user_enabled",
                },
                n_clicks=0,
                size="sm",
                color="danger" if user.active else "secondary",
                outline=True,
            )
        )
        cells: list[Any] = [
            user.username,
            user.display_name,
            i18n.t(f"role_{user.role}", lang),
            f"{reference.name(user.scope, lang)} ({user.scope})",
            state,
            when(user.password_changed_at, lang, tz),
            button,
        ]
        kind = "active" if user.active else "disabled"
        rows.append(html.Tr([html.Td(c) for c in cells], className=f"{ids.US_ROW} {kind}"))
    columns = ("us_username", "us_display_name", "us_role", "us_scope", "us_state", "us_password_changed", "")
    return table(columns, rows, lang, "us-table")


# -- /admin/audit --------------------------------------------------------------------------


def audit_page(lang: Lang) -> html.Div:
    """Filters (actor, action), the page size, newer/older; callbacks/admin.py fills the list."""
    actions = [{"label": action_text(a, lang), "value": a} for a in audit.ACTIONS]
    filters = dbc.Row(
        [
            dbc.Col(
                field(
                    i18n.t("au_actor", lang),
                    dbc.Input(
                        id=ids.AU_ACTOR,
                        type="text",
                        value="",
                        debounce=True,
                        placeholder=i18n.t("au_actor_hint", lang),
                    ),
                    ids.AU_ACTOR,
                ),
                md=4,
            ),
            dbc.Col(
                field(
                    i18n.t("au_action", lang),
                    dcc.Dropdown(
                        id=ids.AU_ACTION, options=actions, value=None, placeholder=i18n.t("all", lang)
                    ),
                    ids.AU_ACTION,
                ),
                md=4,
            ),
            dbc.Col(
                field(
                    i18n.t("au_limit", lang),
                    dcc.Dropdown(
                        id=ids.AU_LIMIT,
                        options=[{"label": str(n), "value": n} for n in LIMITS],
                        value=LIMITS[1],
                        clearable=False,
                    ),
                    ids.AU_LIMIT,
                ),
                md=2,
            ),
        ],
        className="g-3 align-items-end",
    )
    paging = html.Div(
        [
            dbc.Button(
                i18n.t("au_newer", lang), id=ids.AU_NEWER, color="secondary", outline=True, n_clicks=0
            ),
            html.Span(id=ids.AU_SHOWING, className="mx-3"),
            dbc.Button(
                i18n.t("au_older", lang), id=ids.AU_OLDER, color="secondary", outline=True, n_clicks=0
            ),
        ],
        className="my-2",
    )
    return frame(
        ids.AU,
        "au_title",
        "/admin/audit",
        lang,
        [dcc.Store(id=ids.AU_OFFSET, data=0), filters, paging, html.Div(id=ids.AU_LIST)],
    )


def action_text(action: str, lang: Lang) -> str:
    """An audit action in words (its key for one this dashboard does not know)."""
    key = f"act_{action}"
    return i18n.t(key, lang) if i18n.has(key) else action


def audit_table(entries: Sequence[audit.Entry], lang: Lang, tz: tzinfo) -> Any:
    """Entries as read, newest first: when, who, what, about what, from where, the facts."""
    if not entries:
        return html.P(i18n.t("au_none", lang), className="no-data")
    rows = [
        html.Tr(
            [
                html.Td(when(e.at, lang, tz, seconds=True)),
                html.Td(e.actor),
                html.Td(action_text(e.action, lang), title=e.action),
                html.Td(e.subject or ""),
                html.Td(e.address or ""),
                html.Td(
                    " ".join(f"{k}={v}" for k, v in sorted(e.detail.items())), className="font-monospace"
                ),
            ],
            className=ids.AU_ROW,
        )
        for e in entries
    ]
    columns = ("au_at", "au_actor", "au_action", "au_subject", "au_address", "au_detail")
    return table(columns, rows, lang, "au-table")
