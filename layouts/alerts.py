"""The alerts page (``/alerts``): active and past alert episodes, and acknowledging them.

The layout holds the filter (active, or all), who acknowledges (typed until sign-in exists) and
the list, which callbacks/alerts.py fills and refreshes when the data version moves; ``table``
builds the list from the episodes.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, tzinfo
from typing import Any

import dash_bootstrap_components as dbc  # type: ignore[import-untyped]
from dash import dcc, html

from alerts.episodes import NAME_MAX, Episode
from dashboard import alert_text, i18n
from dashboard.i18n import Lang
from dashboard.reference import Reference
from layouts import ids
from layouts.common import lang_switch, nav

LIGHT: Any = {"data-bs-theme": "light"}
SHOW = ("active", "all")
COLUMNS = (
    "col_severity",
    "col_state",
    "unit",
    "kpi",
    "col_fired_value",
    "col_resolved_value",
    "col_threshold",
    "col_window",
    "col_fired_at",
    "col_resolved_at",
    "col_duration",
    "col_ack",
)


def layout(
    *,
    unit: str,
    unit_name: str,
    show: str,
    lang: Lang,
    poll_ms: int,
    version: dict[str, Any],
    switch: str,
    signer: str | None = None,
) -> html.Div:
    """The page for ``unit``'s subtree; ``version``: what the list is first computed at (the
    first poll then leaves it alone); ``switch``: the other language's query string; ``signer``:
    the signed-in person's name, the acknowledging name until they type another."""
    title = i18n.t("alerts_title", lang) if unit == "VN" else i18n.t("alerts_in", lang, unit=unit_name)
    return html.Div(
        [
            dcc.Store(id=ids.LANG, data=lang),
            dcc.Store(id=ids.AL_UNIT, data=unit),
            dcc.Store(id=ids.AL_VERSION, data=version),
            dcc.Interval(id=ids.AL_POLL, interval=poll_ms),
            html.Header(
                [html.H1(title, className="op-title"), lang_switch(lang, switch)],
                className="op-header",
            ),
            nav(lang, "/alerts"),
            dbc.Row(
                [
                    dbc.Col(
                        dbc.RadioItems(
                            id=ids.AL_SHOW,
                            options=[{"label": i18n.t(f"show_{s}", lang), "value": s} for s in SHOW],
                            value=show,
                            inline=True,
                        ),
                        md=6,
                    ),
                    dbc.Col(
                        [
                            dbc.Label(i18n.t("ack_name", lang), html_for=ids.AL_NAME),
                            dbc.Input(
                                id=ids.AL_NAME,
                                type="text",
                                maxLength=NAME_MAX,
                                placeholder=i18n.t("ack_name_placeholder", lang),
                                value=signer,
                                persistence=True,  # kept in the browser for the next acknowledgement
                                persistence_type="local",
                            ),
                            dbc.FormFeedback(id=ids.AL_NAME_ERROR, type="invalid"),
                        ],
                        md=4,
                    ),
                ],
                className="al-controls g-2 align-items-end",
            ),
            html.Div(id=ids.AL_MESSAGE),
            html.P(id=ids.AL_COUNT, className="al-count"),
            html.Div(id=ids.AL_LIST, className="al-list"),
        ],
        id=ids.AL,
        className="ioc-page",
        **LIGHT,
    )


def table(
    found: Sequence[Episode],
    reference: Reference,
    now: datetime,
    tz: tzinfo,
    lang: Lang,
    *,
    active_only: bool,
    may_acknowledge: bool = True,
) -> Any:
    """The episodes as a table (an acknowledge button on firing ones not yet acknowledged, for a
    principal who may acknowledge: the callback checks again), or "no alerts"."""
    if not found:
        return html.P(i18n.t("no_alerts" if active_only else "no_alerts_all", lang), className="no-alerts")
    header = html.Thead(html.Tr([html.Th(i18n.t(c, lang)) for c in COLUMNS]))
    rows = [row(e, reference, now, tz, lang, may_acknowledge=may_acknowledge) for e in found]
    return dbc.Table([header, html.Tbody(rows)], className="al-table", size="sm", hover=True, responsive=True)


def row(
    episode: Episode,
    reference: Reference,
    now: datetime,
    tz: tzinfo,
    lang: Lang,
    *,
    may_acknowledge: bool = True,
) -> html.Tr:
    kpi = episode.kpi
    cells = [
        html.Span(
            alert_text.badge(episode.severity, lang), className=f"al-severity alert-{episode.severity}"
        ),
        alert_text.state(episode, lang),
        reference.name(episode.unit_code, lang),
        alert_text.kpi_name(kpi, lang),
        alert_text.value(kpi, episode.fired_value, lang),
        alert_text.value(kpi, episode.resolved_value, lang) if not episode.firing else "",
        alert_text.threshold(kpi, episode.comparison, episode.threshold, lang),
        alert_text.window(episode.window_name, lang),
        alert_text.moment(episode.fired_at, tz, lang),
        alert_text.moment(episode.resolved_at, tz, lang),
        alert_text.lasted(episode, now, lang),
        acknowledgement(episode, tz, lang) if may_acknowledge or episode.acknowledged_by else "",
    ]
    kinds = {4: "num", 5: "num", 6: "num", 8: "when", 9: "when", 10: "when"}
    return html.Tr(
        [html.Td(cell, className=kinds.get(i)) for i, cell in enumerate(cells)],
        id=f"{ids.AL_ROW}-{episode.id}",
        className="al-firing" if episode.firing else "al-resolved",
    )


def acknowledgement(episode: Episode, tz: tzinfo, lang: Lang) -> Any:
    """Who acknowledged it and when; a button for a firing one nobody has; else nothing."""
    if episode.acknowledged_by is not None:
        at = alert_text.moment(episode.acknowledged_at, tz, lang)
        return html.Span(
            [f"{episode.acknowledged_by},", html.Br(), at], className="al-acked"
        )  # who, then when
    if episode.firing:
        return dbc.Button(
            i18n.t("ack_button", lang),
            id={"type": ids.AL_ACK, "alert": episode.id},
            n_clicks=0,
            size="sm",
            color="primary",
            outline=True,
        )
    return ""
