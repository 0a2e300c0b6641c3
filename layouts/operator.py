"""The operator view (``/``): filters, breadcrumb, drill-down map, ranked table, trend, breakdowns.

Built from the URL's state (``dashboard.view_state``); callbacks/operator.py fills the values
and keeps the URL in step with every change.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import dash_bootstrap_components as dbc  # type: ignore[import-untyped]
from dash import dcc, html

from dashboard import i18n
from dashboard.maps import UnitMap
from dashboard.view_state import PERIOD_NAMES, ViewState
from kpi import registry
from kpi.queries import CHANNELS
from layouts import figures, ids, plain
from layouts.common import lang_switch, nav
from refdata.model import Agency, Procedure

Options = list[dict[str, str]]
CHART: dict[str, str] = {"height": "480px"}
LIGHT: Any = {"data-bs-theme": "light"}  # Bootstrap 5.3 colour mode of this subtree


def layout(
    state: ViewState,
    *,
    unit_map: UnitMap,
    agencies: Sequence[Agency],
    procedures: Sequence[Procedure],
    poll_ms: int,
    version: int | None,
    may_export: bool = True,
) -> html.Div:
    """The page for ``state``; ``version``: the data version it is built at (the first poll then
    leaves the page alone unless the data moved meanwhile); ``may_export``: whether the export
    button is enabled (a convenience: the export callback checks again)."""
    lang = state.lang
    return html.Div(
        [
            dcc.Store(id=ids.LANG, data=lang),
            dcc.Store(id=ids.OP_UNIT, data=state.unit),
            dcc.Store(id=ids.OP_MAP_PARENT, data=unit_map.parent),
            dcc.Store(id=ids.OP_VERSION, data=version),
            dcc.Store(id=ids.OP_SORT_STATE, data=state.sort),
            dcc.Store(id=ids.OP_ROWS, data=[]),
            dcc.Interval(id=ids.OP_POLL, interval=poll_ms),
            dcc.Download(id=ids.OP_DOWNLOAD),
            html.Header(
                [
                    html.H1(i18n.t("app_title", lang), className="op-title"),
                    lang_switch(lang, state.query(lang="vi" if lang == "en" else "en") or "/"),
                ],
                className="op-header",
            ),
            nav(lang, "/"),
            html.Div(id=ids.OP_ALERT_BANNER),
            controls(state, agencies, procedures),
            html.Nav(id=ids.OP_BREADCRUMB, className="op-breadcrumb"),
            html.Div(id=ids.OP_MESSAGE),
            html.H2(id=ids.OP_TITLE, className="op-subtitle"),
            dbc.Row(
                [
                    dbc.Col(
                        [
                            dcc.Graph(
                                id=ids.OP_MAP,
                                figure=figures.choropleth(unit_map, dark=False, lang=lang),
                                config=figures.MAP_CONFIG,
                                className="op-map",
                                style={"height": "60vh"},
                            ),
                            html.P(id=ids.OP_MAP_NOTE, className="op-map-note"),
                        ],
                        lg=6,
                    ),
                    dbc.Col(
                        [
                            html.Div(
                                dbc.Button(
                                    i18n.t("export_csv", lang),
                                    id=ids.OP_EXPORT,
                                    color="secondary",
                                    size="sm",
                                    disabled=not may_export,
                                ),
                                className="op-export",
                            ),
                            html.Div(id=ids.OP_TABLE, className="op-table-wrap"),
                        ],
                        lg=6,
                    ),
                ]
            ),
            dbc.Row(
                dbc.Col(
                    dcc.Graph(
                        id=ids.OP_SERIES, figure=figures.empty(""), config=figures.GRAPH_CONFIG, style=CHART
                    )
                )
            ),
            dbc.Row(
                [
                    dbc.Col(
                        html.Div(id=ids.OP_BY_AGENCY),
                        lg=6,
                    ),
                    dbc.Col(
                        html.Div(id=ids.OP_BY_PROCEDURE),
                        lg=6,
                    ),
                ]
            ),
        ],
        id=ids.OP,
        className="operator",
        **LIGHT,
    )


def controls(state: ViewState, agencies: Sequence[Agency], procedures: Sequence[Procedure]) -> dbc.Row:
    lang = state.lang
    every = i18n.t("all", lang)

    def choice(
        label: str,
        component: str,
        options: Options,
        value: str | None,
        *,
        width: int = 2,
        optional: bool = True,
    ) -> dbc.Col:
        """A labelled dropdown; ``optional``: it may be cleared (then it says "all")."""
        chosen: Any = {"placeholder": every} if optional else {"clearable": False}
        dropdown = dcc.Dropdown(id=component, options=options, value=value, **chosen)
        return dbc.Col([dbc.Label(i18n.t(label, lang)), dropdown], md=width)

    return dbc.Row(
        [
            choice(
                "period",
                ids.OP_PERIOD,
                [{"label": i18n.t(f"period_{p}", lang), "value": p} for p in PERIOD_NAMES],
                state.period,
                optional=False,
            ),
            choice(
                "kpi",
                ids.OP_KPI,
                [{"label": i18n.kpi_name(k.key, lang), "value": k.key} for k in registry.all_kpis()],
                state.kpi,
                width=3,
                optional=False,
            ),
            choice("agency", ids.OP_AGENCY, agency_options(agencies), state.agency),
            choice(
                "procedure",
                ids.OP_PROCEDURE,
                [{"label": f"{p.code} — {p.name}", "value": p.code} for p in procedures],
                state.procedure,
                width=3,
            ),
            choice(
                "channel",
                ids.OP_CHANNEL,
                [{"label": i18n.t(f"channel_{c}", lang), "value": c} for c in CHANNELS],
                state.channel,
            ),
            dbc.Col(
                html.Div(
                    dcc.DatePickerRange(
                        id=ids.OP_DATES,
                        start_date=state.start.isoformat() if state.start else None,
                        end_date=state.end.isoformat() if state.end else None,
                        display_format="DD/MM/YYYY" if lang == "vi" else "YYYY-MM-DD",
                        start_date_placeholder_text=i18n.t("from", lang),
                        end_date_placeholder_text=i18n.t("to", lang),
                        first_day_of_week=1,
                    ),
                    id=ids.OP_DATES_WRAP,
                    hidden=state.period != "custom",
                ),
                md=12,
            ),
        ],
        className="op-controls g-2",
    )


def agency_options(agencies: Sequence[Agency]) -> Options:
    return [{"label": a.name, "value": a.code} for a in agencies]


def breadcrumb(chain: Sequence[tuple[str, str]]) -> list[plain.Json]:
    """Buttons from the country down to the current unit (the last one is not a button); sent on
    every map update, so built as plain data (``layouts.plain``)."""
    items: list[plain.Json] = []
    for index, (code, name) in enumerate(chain):
        if index:
            items.append(plain.html("Span", " › ", className="crumb-sep"))  # noqa: RUF001
        crumb = {"type": ids.OP_CRUMB, "unit": code}
        if index == len(chain) - 1:
            items.append(plain.html("Span", name, className="crumb-current", id=crumb))
        else:
            items.append(plain.html("Button", name, id=crumb, className="btn btn-link crumb", n_clicks=0))
    return items
