"""The operator view's callbacks: drill, render, poll, export.

- ``drill``: a click on a unit of the map (one with units below it) or on the breadcrumb sets
  the unit;
- ``render``: every filter, the unit and the data version give the map's values (a ``Patch``;
  a new map only by URL when the drill changed the level), the ranked table, the trend, the
  breakdowns, the breadcrumb, and the URL's query string (so a link reproduces the view);
- ``poll``: a cheap timer that reads ingest's data version and changes the version store (which
  triggers ``render``) only when it moved; ten times slower while Redis is down;
- ``export``: the table as shown (its rows in their current order, values as displayed) as CSV.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from fractions import Fraction
from typing import Any

import dash
from dash import ALL, Input, Output, State, ctx, html, no_update
from dash.dcc.express import send_string

from dashboard import i18n
from dashboard.data import Data, Kpis
from dashboard.errors import DatabaseDown, UnknownUnit
from dashboard.goals import Goal, goal_for, plotted
from dashboard.i18n import Lang
from dashboard.maps import Maps
from dashboard.reference import COUNTRY, Reference
from dashboard.view_state import DEFAULT_KPI, ViewState
from ioc.settings import Settings
from kpi import registry
from kpi.model import Period
from kpi.queries import Grain
from layouts import figures, ids, table
from layouts import operator as operator_layout
from layouts.common import database_message, message
from refdata.model import Agency

TOP_BREAKDOWN = 15


def page(data: Data, maps: Maps, settings: Settings, params: dict[str, str], lang: Lang) -> Any:
    """The operator page for the URL's state (``UnknownUnit`` for a unit code not in force)."""
    state = replace(ViewState.from_params(params), lang=lang)
    reference = data.reference()
    reference.check(state.unit)
    return operator_layout.layout(
        state,
        unit_map=maps.of(map_parent(reference, state.unit)),
        agencies=agencies_for(reference, state.unit),
        procedures=reference.procedures(),
        poll_ms=settings.poll_ms,
    )


def map_parent(reference: Reference, unit: str) -> str:
    """The map shows the unit's children, or its siblings when it has none."""
    if unit == COUNTRY or reference.children(unit):
        return unit
    return reference.units[unit].parent_code or COUNTRY


def agencies_for(reference: Reference, unit: str) -> list[Agency]:
    """The agencies of the unit's subtree; for the country, the provincial ones only."""
    if unit == COUNTRY:
        return [
            a
            for a in reference.data.agencies
            if (home := reference.units.get(a.unit_code)) is not None and home.level == "province"
        ]
    return reference.agencies_in(unit)


def agency_options(reference: Reference, unit: str) -> list[dict[str, str]]:
    return [{"label": a.name, "value": a.code} for a in agencies_for(reference, unit)]


@dataclass(frozen=True)
class Row:
    """One line of the ranked table, values rounded as shown."""

    code: str
    name: str
    value: float | None
    target: float | None
    gap: float | None
    volume: int


def render(
    data: Data, maps: Maps, state: ViewState, shown_parent: str | None, search: str | None
) -> tuple[Any, ...]:
    """Every output of the view for ``state`` (see ``register`` for their order)."""
    lang = state.lang
    try:
        reference = data.reference()
        reference.check(state.unit)
        parent = map_parent(reference, state.unit)
        unit_map = maps.of(parent)
        now = data.now()
        period = state.resolved_period(now.date())
        filters = state.filters()
        targets = data.targets()
        children = data.children(parent, period, filters, now)
        values = {code: kpis[state.kpi].value for code, kpis in children.items() if state.kpi in kpis}
        goal = goal_for(targets, state.kpi, None, unit_map.level)
        patch = figures.map_geometry_patch(unit_map) if parent != shown_parent else dash.Patch()
        patch = figures.map_patch(unit_map, state.kpi, values, goal, lang, patch=patch)
        rows = ranked(reference, targets, state.kpi, children, unit_map.level)
        empty_note = data.latest_event_at() is None
        series = trend_figure(data, state, period, now=now, reference=reference, targets=targets)
        by_agency = breakdown_figure(data, state, period, now=now, by="agency", reference=reference)
        by_procedure = breakdown_figure(data, state, period, now=now, by="procedure", reference=reference)
    except UnknownUnit as exc:
        return (*(no_update,) * 10, message(i18n.t("unknown_unit", lang, code=exc.code)), *(no_update,) * 4)
    except DatabaseDown as exc:
        return (*(no_update,) * 10, database_message(exc, lang), *(no_update,) * 4)
    chain = [(code, reference.name(code, lang)) for code in reference.ancestors(state.unit)]
    shown_rows = table.ordered([row.__dict__ for row in rows], state.sort)
    query = state.query()
    title = i18n.t("children_of", lang, unit=reference.name(parent, lang))
    return (
        patch,
        parent,
        map_note(state.kpi, goal, unit_map.samples, lang) if unit_map.codes else i18n.t("no_geometry", lang),
        table.table(shown_rows, state.kpi, lang, state.sort),
        shown_rows,
        series,
        by_agency,
        by_procedure,
        operator_layout.breadcrumb(chain),
        title,
        message(i18n.t("no_data_yet", lang), kind="info") if empty_note else [],
        query if query != (search or "") else no_update,
        state.query(lang="vi" if lang == "en" else "en") or "/",
        state.period != "custom",
        agency_options(reference, state.unit) if parent != shown_parent else no_update,
    )


def ranked(
    reference: Reference, targets: Sequence[Any], kpi: str, children: dict[str, Kpis], level: str | None
) -> list[Row]:
    """The children against their targets, the furthest short of target first (no data last)."""
    rows = []
    for code, kpis in children.items():
        found = kpis.get(kpi)
        value = found.value if found else None
        goal = goal_for(targets, kpi, code, level)
        volume = (found.denominator if found.denominator is not None else found.numerator) if found else 0
        gap = goal.gap(value) if goal else None
        rows.append(
            Row(
                code=code,
                name=reference.name(code, "vi"),
                value=shown(kpi, value),
                target=shown(kpi, goal.value) if goal else None,
                gap=shown(kpi, gap),
                volume=volume,
            )
        )
    higher = registry.get(kpi).direction != "lower_is_better"

    def order(row: Row) -> tuple[int, float]:
        if row.gap is not None:
            return (0, row.gap)
        if row.value is not None:
            return (1, -row.value if higher else row.value)
        return (2, 0.0)

    return sorted(rows, key=order)


def shown(kpi: str, value: Fraction | int | None) -> float | None:
    """A value on the table's scale, rounded half up as the registry displays it."""
    if value is None:
        return None
    scaled = plotted(kpi, value)
    decimals = 0 if registry.get(kpi).display == "integer" else 1
    factor: int = 10**decimals
    rounded = int(abs(scaled) * factor + Fraction(1, 2))
    return (rounded if scaled >= 0 else -rounded) / factor


def grain_of(state: ViewState, period: Period) -> tuple[Period, Grain]:
    """The trend's buckets: days for up to a month (today and this week: the last 14 days)."""
    days = (period.end - period.start).days
    if state.period in ("today", "week"):
        return Period(period.end - timedelta(days=14), period.end), "day"
    if days <= 62:
        return period, "day"
    if days <= 190:
        return period, "week"
    return period, "month"


def trend_figure(
    data: Data, state: ViewState, period: Period, *, now: Any, reference: Reference, targets: Sequence[Any]
) -> Any:
    lang = state.lang
    span, grain = grain_of(state, period)
    found = data.series(state.unit, span, grain, state.filters(), now)
    kpi = state.kpi
    points: list[float | None] = []
    texts: list[str] = []
    labels: list[str] = []
    for bucket, kpis in found:
        value = kpis[kpi].value if kpi in kpis else None
        points.append(float(plotted(kpi, value)) if value is not None else None)
        texts.append(i18n.kpi_value(kpi, value, lang))
        labels.append(_bucket_label(bucket.start, grain, lang))
    if all(p is None for p in points):
        return figures.empty(i18n.t("no_data", lang))
    level = None if state.unit == COUNTRY else reference.units[state.unit].level
    goal = goal_for(targets, kpi, None if state.unit == COUNTRY else state.unit, level)
    title = f"{i18n.kpi_name(kpi, lang)} — {reference.name(state.unit, lang)}"
    return figures.trend(labels, points, texts, goal, title=title, lang=lang)


def breakdown_figure(
    data: Data, state: ViewState, period: Period, *, now: Any, by: Any, reference: Reference
) -> Any:
    lang = state.lang
    found = data.breakdown(state.unit, period, by, state.filters(), now)
    kpi = state.kpi
    entries = []
    for code, kpis in found.items():
        item = kpis.get(kpi)
        if item is None or item.value is None:
            continue
        volume = item.denominator if item.denominator is not None else item.numerator
        name = reference.agency_name(code) if by == "agency" else reference.procedure_name(code)
        entries.append((volume, name, item.value))
    title = i18n.t("by_agency" if by == "agency" else "by_procedure", lang)
    if not entries:
        return html.Div(
            [html.H3(title, className="bar-title"), html.P(i18n.t("no_data", lang), className="no-data")],
            className="bar-list",
        )
    entries.sort(key=lambda e: -e[0])
    top = sorted(entries[:TOP_BREAKDOWN], key=lambda e: -float(e[2]))
    return figures.bar_list(
        [_short(name) for _, name, _ in top],
        [float(plotted(kpi, value)) for _, _, value in top],
        [i18n.kpi_value(kpi, value, lang) for _, _, value in top],
        title=title,
    )


def map_note(kpi: str, goal: Goal | None, samples: bool, lang: Lang) -> str:
    parts = [
        i18n.t("coloured_by_target", lang, target=i18n.kpi_value(kpi, goal.value, lang))
        if goal
        else i18n.t("coloured_by_value", lang),
        i18n.t("grey_no_data", lang),
    ]
    if samples:
        parts.append(i18n.t("sample_map", lang))
    return " · ".join(parts)


def drilled(reference: Reference, current: str, trigger: Any, click: dict[str, Any] | None) -> str | None:
    """The unit to show after a click, or None to stay."""
    if isinstance(trigger, dict) and trigger.get("type") == ids.OP_CRUMB:
        return str(trigger["unit"])
    if trigger == ids.OP_MAP and click and click.get("points"):
        point = click["points"][0]
        code = point.get("location") or point.get("customdata")
        if code and code in reference.units and reference.children(str(code)):
            return str(code)
    return None


def _bucket_label(start: date, grain: Grain, lang: Lang) -> str:
    if grain == "month":
        return f"{start:%m/%Y}" if lang == "vi" else f"{start:%Y-%m}"
    return f"{start:%d/%m}" if lang == "vi" else f"{start:%m-%d}"


def _short(name: str, limit: int = 48) -> str:
    return name if len(name) <= limit else f"{name[: limit - 1]}…"


def register(app: dash.Dash, data: Data, maps: Maps, settings: Settings) -> dict[str, Any]:
    """Register the operator view's callbacks on ``app``; returns them by name (for tests)."""

    @app.callback(
        Output(ids.OP_UNIT, "data"),
        Input(ids.OP_MAP, "clickData"),
        Input({"type": ids.OP_CRUMB, "unit": ALL}, "n_clicks"),
        State(ids.OP_UNIT, "data"),
        prevent_initial_call=True,
    )
    def drill(click: dict[str, Any] | None, _: list[int | None], current: str) -> Any:
        if not ctx.triggered or not ctx.triggered[0].get("value"):
            return no_update
        try:
            target = drilled(data.reference(), current, ctx.triggered_id, click)
        except DatabaseDown:
            return no_update
        return target if target is not None and target != current else no_update

    @app.callback(
        Output(ids.OP_MAP, "figure"),
        Output(ids.OP_MAP_PARENT, "data"),
        Output(ids.OP_MAP_NOTE, "children"),
        Output(ids.OP_TABLE, "children"),
        Output(ids.OP_ROWS, "data"),
        Output(ids.OP_SERIES, "figure"),
        Output(ids.OP_BY_AGENCY, "children"),
        Output(ids.OP_BY_PROCEDURE, "children"),
        Output(ids.OP_BREADCRUMB, "children"),
        Output(ids.OP_TITLE, "children"),
        Output(ids.OP_MESSAGE, "children"),
        Output(ids.URL, "search"),
        Output(ids.LANG_SWITCH, "href"),
        Output(ids.OP_DATES_WRAP, "hidden"),
        Output(ids.OP_AGENCY, "options"),
        Input(ids.OP_PERIOD, "value"),
        Input(ids.OP_DATES, "start_date"),
        Input(ids.OP_DATES, "end_date"),
        Input(ids.OP_KPI, "value"),
        Input(ids.OP_AGENCY, "value"),
        Input(ids.OP_PROCEDURE, "value"),
        Input(ids.OP_CHANNEL, "value"),
        Input(ids.OP_UNIT, "data"),
        Input(ids.OP_SORT_STATE, "data"),
        Input(ids.OP_VERSION, "data"),
        State(ids.OP_MAP_PARENT, "data"),
        State(ids.URL, "search"),
        State(ids.LANG, "data"),
    )
    def render_view(  # noqa: PLR0917 - Dash passes a callback's inputs by position
        period: str | None,
        start: str | None,
        end: str | None,
        kpi: str | None,
        agency: str | None,
        procedure: str | None,
        channel: str | None,
        unit: str | None,
        sort: str | None,
        _version: Any,
        shown_parent: str | None,
        search: str | None,
        lang: str | None,
    ) -> tuple[Any, ...]:
        params = {
            "period": period or "",
            "from": (start or "")[:10],
            "to": (end or "")[:10],
            "kpi": kpi or "",
            "agency": agency or "",
            "procedure": procedure or "",
            "channel": channel or "",
            "unit": unit or "",
            "sort": sort or "",
            "lang": lang or "",
        }
        state = ViewState.from_params({k: v for k, v in params.items() if v})
        return render(data, maps, state, shown_parent, search)

    @app.callback(
        Output(ids.OP_VERSION, "data"),
        Output(ids.OP_POLL, "interval"),
        Input(ids.OP_POLL, "n_intervals"),
        State(ids.OP_VERSION, "data"),
        prevent_initial_call=True,
    )
    def poll(n: int | None, seen: Any) -> tuple[Any, int]:
        version = data.version()
        interval = settings.poll_ms if version is not None else settings.poll_ms * 10
        if version is None:  # no Redis: recompute on the slower beat, from PostgreSQL
            return {"none": n or 0}, interval
        return (version if version != seen else no_update), interval

    @app.callback(
        Output(ids.OP_DOWNLOAD, "data"),
        Input(ids.OP_EXPORT, "n_clicks"),
        State(ids.OP_ROWS, "data"),
        State(ids.OP_KPI, "value"),
        State(ids.LANG, "data"),
        prevent_initial_call=True,
    )
    def export(_: int | None, rows: list[dict[str, Any]] | None, kpi: str | None, lang: str | None) -> Any:
        """The table as shown (rows in their order, values as displayed) as a CSV file."""
        text = table.csv_text(rows or [], kpi or DEFAULT_KPI, i18n.lang_of(lang))
        return send_string(text, "ioc-export.csv", type="text/csv")  # type: ignore[no-untyped-call]

    @app.callback(
        Output(ids.OP_SORT_STATE, "data"),
        Input({"type": ids.OP_SORT, "column": ALL}, "n_clicks"),
        State(ids.OP_SORT_STATE, "data"),
        prevent_initial_call=True,
    )
    def sort_by(_: list[int | None], current: str | None) -> Any:
        trigger = ctx.triggered_id
        if not ctx.triggered or not ctx.triggered[0].get("value") or not isinstance(trigger, dict):
            return no_update
        return table.next_sort(current, str(trigger["column"]))

    return {"drill": drill, "render_view": render_view, "poll": poll, "export": export, "sort_by": sort_by}
