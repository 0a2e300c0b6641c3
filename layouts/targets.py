"""The targets page (``/targets``): the targets as a list, and a form to add, change or delete one.

Every field of the form has its input (``ids.tg_field``) and, under it, where a problem with it
is said (``ids.tg_error``); a problem of the row as a whole (neither or both of unit and level)
is said under the scope. callbacks/targets.py fills the list and acts on the form.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import dash_bootstrap_components as dbc  # type: ignore[import-untyped]
from dash import dcc, html

from alerts.targets import LEVELS, SEVERITIES, WINDOWS, Target
from dashboard import alert_text, i18n
from dashboard.i18n import Lang
from dashboard.reference import Reference
from kpi import registry
from layouts import ids
from layouts.common import lang_switch, nav
from refdata.model import Agency, Unit

LIGHT: Any = {"data-bs-theme": "light"}
Options = list[dict[str, str]]
INPUTS = ("name", "threshold", "min_volume")  # typed; the other fields are chosen from a list


@dataclass(frozen=True)
class Choices:
    """What the form offers the principal: units and agencies of their scope, and whether a
    target may cover a whole level (the whole country's users only). The save checks again."""

    units: Sequence[Unit]
    agencies: Sequence[Agency]
    levels: bool = True


def layout(
    *,
    reference: Reference,
    lang: Lang,
    poll_ms: int,
    version: dict[str, Any],
    editable: bool,
    listed: Any,
    choices: Choices | None = None,
) -> html.Div:
    """The page; ``editable``: whether this request may change targets (else the form is hidden);
    ``listed``: the list of targets as it is now (the page's poll replaces it when they change);
    ``choices``: what the form offers (None: everything in ``reference``)."""
    offered = choices or Choices(list(reference.units.values()), reference.data.agencies)
    return html.Div(
        [
            dcc.Store(id=ids.LANG, data=lang),
            dcc.Store(id=ids.TG_VERSION, data=version),
            dcc.Store(id=ids.TG_EDITING, data=None),
            dcc.Interval(id=ids.TG_POLL, interval=poll_ms),
            html.Header(
                [
                    html.H1(i18n.t("targets_title", lang), className="op-title"),
                    lang_switch(lang, "/targets" if lang == "en" else "/targets?lang=en"),
                ],
                className="op-header",
            ),
            nav(lang, "/targets"),
            html.Div(
                [] if editable else dbc.Alert(i18n.t("tg_read_only", lang), color="secondary"),
                id=ids.TG_MESSAGE,
            ),
            dbc.Row(
                [
                    dbc.Col(html.Div(listed, id=ids.TG_LIST, className="tg-list"), lg=7),
                    dbc.Col(form(offered, lang), lg=5, style={} if editable else {"display": "none"}),
                ],
                className="g-3",
            ),
        ],
        id=ids.TG,
        className="ioc-page",
        **LIGHT,
    )


def form(choices: Choices, lang: Lang) -> dbc.Card:
    """The form, empty (a new target) until a target's "edit" fills it."""
    levels = level_options(lang) if choices.levels else []

    def field(name: str, label: str, control: Any) -> html.Div:
        return html.Div(
            [
                dbc.Label(label, html_for=ids.tg_field(name)),
                control,
                html.Div(id=ids.tg_error(name), className="invalid-feedback d-block"),
            ],
            className="mb-2",
        )

    def choose(name: str, options: Options, value: str | None, *, clearable: bool = False) -> dcc.Dropdown:
        return dcc.Dropdown(
            id=ids.tg_field(name),
            options=options,
            value=value,
            clearable=clearable,
            placeholder="—",
        )

    def typed(name: str, **more: Any) -> dbc.Input:
        return dbc.Input(id=ids.tg_field(name), type="text", value="", **more)

    return dbc.Card(
        dbc.CardBody(
            [
                html.H2(i18n.t("tg_adding", lang), id=ids.TG_FORM_TITLE, className="tg-form-title"),
                field(
                    "name", i18n.t("tg_name", lang), typed("name", placeholder=i18n.t("tg_name_hint", lang))
                ),
                field("kpi", i18n.t("kpi", lang), choose("kpi", kpi_options(lang), None)),
                html.Fieldset(
                    [
                        html.Legend(i18n.t("tg_scope", lang), className="tg-legend"),
                        field(
                            "unit",
                            i18n.t("tg_unit", lang),
                            choose("unit", unit_options(choices.units), None, clearable=True),
                        ),
                        field(
                            "level",
                            i18n.t("tg_level", lang),
                            choose("level", levels, None, clearable=True),
                        ),
                        html.Div(id=ids.TG_SCOPE_ERROR, className="invalid-feedback d-block"),
                    ],
                    className="tg-scope",
                ),
                field(
                    "agency",
                    i18n.t("tg_agency", lang),
                    choose("agency", agency_options(choices.agencies), None, clearable=True),
                ),
                dbc.Row(
                    [
                        dbc.Col(
                            field(
                                "comparison",
                                i18n.t("tg_comparison", lang),
                                choose("comparison", comparison_options(lang), ">="),
                            ),
                            md=6,
                        ),
                        dbc.Col(
                            field(
                                "threshold",
                                i18n.t("tg_threshold", lang),
                                typed("threshold", inputMode="decimal"),
                            ),
                            md=6,
                        ),
                    ]
                ),
                dbc.Row(
                    [
                        dbc.Col(
                            field(
                                "window",
                                i18n.t("tg_window", lang),
                                choose("window", window_options(lang), "month"),
                            ),
                            md=6,
                        ),
                        dbc.Col(
                            field(
                                "min_volume",
                                i18n.t("tg_min_volume", lang),
                                typed("min_volume", inputMode="numeric"),
                            ),
                            md=6,
                        ),
                    ]
                ),
                field(
                    "severity",
                    i18n.t("tg_severity", lang),
                    choose("severity", severity_options(lang), "warning"),
                ),
                html.Div(
                    [
                        dbc.Button(i18n.t("tg_save", lang), id=ids.TG_SAVE, color="primary", n_clicks=0),
                        dbc.Button(
                            i18n.t("tg_delete", lang),
                            id=ids.TG_DELETE,
                            color="danger",
                            outline=True,
                            n_clicks=0,
                            disabled=True,
                        ),
                        dbc.Button(
                            i18n.t("tg_new", lang), id=ids.TG_NEW, color="secondary", outline=True, n_clicks=0
                        ),
                    ],
                    className="tg-buttons",
                ),
            ]
        ),
        id=ids.TG_FORM,
        className="tg-form",
    )


def table(targets: Sequence[Target], reference: Reference, lang: Lang, *, editable: bool) -> Any:
    """Every target: name, KPI, where, threshold, window, minimum volume, severity (and "edit")."""
    if not targets:
        return html.P(i18n.t("targets_none", lang), className="no-data")
    columns = [
        "tg_name",
        "kpi",
        "tg_scope",
        "tg_agency",
        "tg_threshold",
        "tg_window",
        "tg_min_volume",
        "tg_severity",
    ]
    header = html.Thead(
        html.Tr([html.Th(i18n.t(c, lang)) for c in columns] + ([html.Th("")] if editable else []))
    )
    rows = []
    for target in targets:
        cells: list[Any] = [
            target.name,
            alert_text.kpi_name(target.kpi, lang),
            scope(target, reference, lang),
            reference.agency_name(target.agency) if target.agency else "",
            alert_text.threshold(target.kpi, target.comparison, target.threshold, lang)
            if alert_text.known(target.kpi)
            else "",
            alert_text.window(target.window, lang),
            i18n.number(target.min_volume, lang),
            html.Span(alert_text.badge(target.severity, lang), className=f"alert-{target.severity}"),
        ]
        if editable:
            cells.append(
                dbc.Button(
                    i18n.t("tg_edit", lang),
                    id={"type": ids.TG_EDIT, "name": target.name},
                    n_clicks=0,
                    size="sm",
                    color="primary",
                    outline=True,
                )
            )
        rows.append(html.Tr([html.Td(c) for c in cells], className=ids.TG_ROW))
    return dbc.Table([header, html.Tbody(rows)], className="tg-table", size="sm", hover=True, responsive=True)


def scope(target: Target, reference: Reference, lang: Lang) -> str:
    if target.unit is not None:
        return reference.name(target.unit, lang)
    return i18n.t(f"every_{target.level}", lang) if target.level in LEVELS else str(target.level)


def shown_number(value: Decimal | int, lang: Lang) -> str:
    """A number as the form shows it, to be typed again: ``40,5`` in Vietnamese."""
    text = f"{Decimal(value).normalize():f}"
    return text.replace(".", ",") if lang == "vi" else text


def kpi_options(lang: Lang) -> Options:
    return [{"label": i18n.kpi_name(k.key, lang), "value": k.key} for k in registry.all_kpis()]


def unit_options(units: Sequence[Unit]) -> Options:
    return [{"label": f"{u.name} ({u.code})", "value": u.code} for u in units]


def agency_options(agencies: Sequence[Agency]) -> Options:
    return [{"label": f"{a.name} ({a.code})", "value": a.code} for a in agencies]


def level_options(lang: Lang) -> Options:
    return [{"label": i18n.t(f"level_{level}", lang), "value": level} for level in LEVELS]


def comparison_options(lang: Lang) -> Options:
    return [
        {"label": i18n.t("comparison_ge", lang), "value": ">="},
        {"label": i18n.t("comparison_le", lang), "value": "<="},
    ]


def window_options(lang: Lang) -> Options:
    return [{"label": alert_text.window(w, lang), "value": w} for w in WINDOWS]


def severity_options(lang: Lang) -> Options:
    return [{"label": alert_text.badge(s, lang), "value": s} for s in SEVERITIES]
