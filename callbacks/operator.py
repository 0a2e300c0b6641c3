"""The operator view's callbacks: drill, the map update, the trend, the breakdowns, poll, export.

- ``drill``: a click on a unit of the map (one with units below it) sets the unit; in the
  browser, ``BACK_UP``: a click on the breadcrumb;
- ``update_map`` (the map update): the view's state and the data version give the map's values
  (a ``Patch``; a new map only by URL when the drill changed the map's parent unit), the ranked
  table, the breadcrumb, the title, the URL's query string (so a link reproduces the view) and the
  agency filter's options: all from one KPI of the map's units, nothing else;
- ``update_trend`` and ``update_by_agency`` / ``update_by_procedure``: the KPI's trend and its top
  agencies and procedures, each its own callback so that the browser asks for them in parallel
  and the map never waits for them (a year's trend on a large store takes seconds). The map
  update is registered first: the browser sends it first, so a busy worker pool starts it first;
- every part shows its own message when the unit is unknown, outside the principal's scope
  (``dashboard.access``: checked here, on the server, for every part) or the database is down;
- ``poll``: a cheap timer that reads ingest's data version and changes the version store (which
  triggers the parts above) only when it moved since the page was built or last updated; ten
  times slower while Redis is down; its answer also keeps the footer's status true;
- ``export``: the table as shown (its rows in their current order, values as displayed) as CSV,
  for those who may export (operators, admins), of a unit in their scope, recorded in the audit
  trail;
- in the browser, ``SORT_BY``: a click on a column's header sorts the table by it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from fractions import Fraction
from typing import Any, TypeVar

import dash
import flask
from dash import ALL, Input, Output, State, no_update
from dash.dcc.express import send_string

from callbacks import bounded, footer
from dashboard import access, i18n
from dashboard.access import Forbidden, OutOfScope
from dashboard.data import Actor, Data, Kpis
from dashboard.errors import DatabaseDown, DatabaseFailed, UnknownUnit
from dashboard.goals import Goal, goal_for, plotted
from dashboard.i18n import Lang
from dashboard.maps import Maps
from dashboard.reference import COUNTRY, Reference
from dashboard.view_state import DEFAULT_KPI, ViewState
from ioc.settings import Settings
from kpi import queries, registry
from kpi.model import Period
from kpi.queries import Grain
from layouts import figures, ids, plain, table
from layouts import operator as operator_layout
from layouts.common import message
from refdata.model import Agency

TOP_BREAKDOWN = 15
T = TypeVar("T")


def page(data: Data, maps: Maps, settings: Settings, params: dict[str, str], lang: Lang) -> Any:
    """The operator page for the URL's state, from the principal's home unit when the URL names
    none (``UnknownUnit`` for a unit code not in force, ``Forbidden`` outside their scope)."""
    access.require("view")
    if not params.get("unit"):
        params = {**params, "unit": access.home(COUNTRY)}
    state = replace(ViewState.from_params(params), lang=lang)
    reference = data.reference()
    access.require_unit(reference, state.unit)
    return operator_layout.layout(
        state,
        unit_map=maps.seen(map_parent(reference, state.unit)),
        agencies=agencies_for(reference, state.unit),
        procedures=reference.procedures(),
        poll_ms=settings.poll_ms,
        version=data.version(),
        may_export=access.allowed("export"),
    )


def map_parent(reference: Reference, unit: str) -> str:
    """The map shows the unit's children, or its siblings when it has none (of which a user
    scoped to a commune sees their own commune only: ``Maps.seen``)."""
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


# -- what every part starts from ---------------------------------------------------------------


def view_inputs() -> dict[str, Input]:
    """What every part of the view follows: the filters, the unit and the data version."""
    return {
        "period": Input(ids.OP_PERIOD, "value"),
        "start": Input(ids.OP_DATES, "start_date"),
        "end": Input(ids.OP_DATES, "end_date"),
        "kpi": Input(ids.OP_KPI, "value"),
        "agency": Input(ids.OP_AGENCY, "value"),
        "procedure": Input(ids.OP_PROCEDURE, "value"),
        "channel": Input(ids.OP_CHANNEL, "value"),
        "unit": Input(ids.OP_UNIT, "data"),
        "version": Input(ids.OP_VERSION, "data"),
    }


def view_state(view: Mapping[str, Any], lang: str | None, sort: str | None = None) -> ViewState:
    """The state the controls show (``view``: the values of ``view_inputs``)."""
    params = {
        "period": view["period"] or "",
        "from": (view["start"] or "")[:10],
        "to": (view["end"] or "")[:10],
        "kpi": view["kpi"] or "",
        "agency": view["agency"] or "",
        "procedure": view["procedure"] or "",
        "channel": view["channel"] or "",
        "unit": view["unit"] or "",
        "sort": sort or "",
        "lang": lang or "",
    }
    return ViewState.from_params({k: v for k, v in params.items() if v})


@dataclass(frozen=True)
class Asked:
    """A part's question: the state, its unit checked, the days it covers at this minute."""

    state: ViewState
    reference: Reference
    now: datetime
    period: Period


def asked(data: Data, state: ViewState) -> Asked:
    """``UnknownUnit`` for a unit not in force, ``Forbidden`` for a principal who may not see the
    view or the unit (a forged callback's unit is refused here), ``DatabaseDown`` without the
    database."""
    access.require("view")
    reference = data.reference()
    access.require_unit(reference, state.unit)
    now = data.now()
    return Asked(state, reference, now, state.resolved_period(now.date()))


def shielded(lang: Lang, compute: Callable[[], T], instead: Callable[[str, str], T]) -> T:
    """``compute()``, or ``instead(text, kind)`` saying why it cannot be shown (never a Dash error);
    a refusal says "not allowed" and nothing else (not even whether the unit has data)."""
    try:
        return compute()
    except Forbidden as exc:
        return instead(refusal(exc, lang), "warning")
    except UnknownUnit as exc:
        return instead(i18n.t("unknown_unit", lang, code=exc.code), "warning")
    except DatabaseDown as exc:
        return instead(i18n.t("db_error" if isinstance(exc, DatabaseFailed) else "db_down", lang), "danger")


def refusal(exc: Forbidden, lang: Lang) -> str:
    """What a refused principal reads: a unit they may not see, or an action they may not do."""
    return i18n.t("forbidden" if isinstance(exc, OutOfScope) else "forbidden_action", lang)


def actor() -> Actor:
    """Who makes the current request and from where, for the audit trail."""
    who = access.principal()
    address = flask.request.remote_addr if flask.has_request_context() else None
    return Actor(who.name if who is not None else "nobody", address)


# -- the map update: map, ranked table, breadcrumb, title, URL ---------------------------------

MAP_PARTS = (
    "map",
    "parent",
    "note",
    "table",
    "rows",
    "breadcrumb",
    "title",
    "message",
    "search",
    "lang_href",
    "dates_hidden",
    "agencies",
)


@dataclass(frozen=True)
class Row:
    """One line of the ranked table, values rounded as shown."""

    code: str
    name: str
    value: float | None
    target: float | None
    gap: float | None
    volume: int


def map_update(
    data: Data, maps: Maps, state: ViewState, shown_parent: str | None, search: str | None
) -> dict[str, Any]:
    """Every part of ``MAP_PARTS`` for ``state``: from one KPI of the map's units only."""
    return shielded(
        state.lang,
        lambda: _map_parts(data, maps, asked(data, state), shown_parent, search),
        lambda text, kind: dict.fromkeys(MAP_PARTS, no_update) | {"message": message(text, kind=kind)},
    )


def _map_parts(
    data: Data, maps: Maps, view: Asked, shown_parent: str | None, search: str | None
) -> dict[str, Any]:
    """The parts, all plain data (the patch too) but for a message: see ``layouts.plain``."""
    state, reference, lang = view.state, view.reference, view.state.lang
    parent = map_parent(reference, state.unit)
    unit_map = maps.seen(parent)
    targets = data.targets()
    every = data.children(parent, view.period, state.filters(), view.now, kpi=state.kpi)
    children = (
        every
        if access.sees(reference, parent)
        else {code: kpis for code, kpis in every.items() if access.sees(reference, code)}
    )
    values = {code: kpis[state.kpi].value for code, kpis in children.items() if state.kpi in kpis}
    goal = goal_for(targets, state.kpi, None, unit_map.level)
    patch = figures.map_geometry_patch(unit_map) if parent != shown_parent else dash.Patch()
    ranks = ranked(reference, targets, state.kpi, children, unit_map.level)
    rows = table.ordered([row.__dict__ for row in ranks], state.sort)
    chain = [  # drilling up stops at the principal's scope
        (code, reference.name(code, lang))
        for code in reference.ancestors(state.unit)
        if access.sees(reference, code)
    ]
    note = (
        map_note(state.kpi, goal, unit_map.samples, lang) if unit_map.codes else i18n.t("no_geometry", lang)
    )
    query = state.query()
    return {
        "map": figures.map_patch(unit_map, state.kpi, values, goal, lang, patch=patch).to_plotly_json(),
        "parent": parent,
        "note": note,
        "table": table.table(rows, state.kpi, lang, state.sort),
        "rows": rows,
        "breadcrumb": operator_layout.breadcrumb(chain),
        "title": i18n.t("children_of", lang, unit=reference.name(parent, lang)),
        "message": [] if data.has_events() else message(i18n.t("no_data_yet", lang), kind="info"),
        "search": query if query != (search or "") else no_update,
        "lang_href": state.query(lang="vi" if lang == "en" else "en") or "/",
        "dates_hidden": state.period != "custom",
        "agencies": (
            operator_layout.agency_options(agencies_for(reference, state.unit))
            if parent != shown_parent
            else no_update
        ),
    }


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


# -- the trend ------------------------------------------------------------------------------------


def trend_update(data: Data, state: ViewState) -> Any:
    """The KPI of the unit over time, with its target: a figure, or one saying why not."""
    return shielded(
        state.lang,
        lambda: trend_figure(data, asked(data, state)),
        lambda text, _: figures.empty(text),
    )


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


def trend_figure(data: Data, view: Asked) -> Any:
    state, lang, kpi = view.state, view.state.lang, view.state.kpi
    span, grain = grain_of(state, view.period)
    found = data.series(state.unit, span, grain, state.filters(), view.now, kpi=kpi)
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
    unit = None if state.unit == COUNTRY else state.unit
    level = view.reference.units[state.unit].level if unit else None
    goal = goal_for(data.targets(), kpi, unit, level)
    title = f"{i18n.kpi_name(kpi, lang)} — {view.reference.name(state.unit, lang)}"
    return figures.trend(labels, points, texts, goal, title=title, lang=lang)


def _bucket_label(start: date, grain: Grain, lang: Lang) -> str:
    if grain == "month":
        return f"{start:%m/%Y}" if lang == "vi" else f"{start:%Y-%m}"
    return f"{start:%d/%m}" if lang == "vi" else f"{start:%m-%d}"


# -- the breakdowns -------------------------------------------------------------------------------


def breakdown_update(data: Data, state: ViewState, by: queries.Breakdown) -> Any:
    """The KPI of the unit's top agencies or procedures (by volume), or why they cannot be shown."""
    return shielded(
        state.lang,
        lambda: breakdown_list(data, asked(data, state), by),
        lambda text, _: _breakdown_note(by, text, state.lang),
    )


def breakdown_list(data: Data, view: Asked, by: queries.Breakdown) -> Any:
    state, lang, kpi = view.state, view.state.lang, view.state.kpi
    found = data.breakdown(state.unit, view.period, by, state.filters(), view.now, kpi=kpi)
    entries = []
    for code, kpis in found.items():
        item = kpis.get(kpi)
        if item is not None and item.value is not None:
            entries.append(
                (item.denominator if item.denominator is not None else item.numerator, code, item.value)
            )
    if not entries:
        return _breakdown_note(by, i18n.t("no_data", lang), lang)
    entries.sort(key=lambda e: -e[0])
    top = sorted(entries[:TOP_BREAKDOWN], key=lambda e: -float(e[2]))
    name = view.reference.agency_name if by == "agency" else view.reference.procedure_name
    return figures.bar_list(
        [_short(name(code)) for _, code, _ in top],
        [float(plotted(kpi, value)) for _, _, value in top],
        [i18n.kpi_value(kpi, value, lang) for _, _, value in top],
        title=_breakdown_title(by, lang),
    )


def _breakdown_title(by: queries.Breakdown, lang: Lang) -> str:
    return i18n.t("by_agency" if by == "agency" else "by_procedure", lang)


def _breakdown_note(by: queries.Breakdown, text: str, lang: Lang) -> plain.Json:
    """The breakdown's title and, in place of its bars, why there are none."""
    return figures.bar_frame(_breakdown_title(by, lang), [plain.html("P", text, className="no-data")])


def _short(name: str, limit: int = 48) -> str:
    return name if len(name) <= limit else f"{name[: limit - 1]}…"


# -- drill-down ------------------------------------------------------------------------------------


def drilled(reference: Reference, click: dict[str, Any] | None) -> str | None:
    """The unit a click on the map drills into (one with units below it), or None to stay."""
    if not click or not click.get("points"):
        return None
    point = click["points"][0]
    code = point.get("location") or point.get("customdata")
    if code and code in reference.units and reference.children(str(code)):
        return str(code)
    return None


# -- export ----------------------------------------------------------------------------------------

EXPORT_VIEW = ("unit", "period", "start", "end", "agency", "procedure", "channel")
EXPORTED = {
    name: State(given.component_id, given.component_property) for name, given in view_inputs().items()
}
AUDIT_TEXT_MAX = 64  # characters of a state's value the audit entry keeps (values come from the browser)


def export_csv(data: Data, rows: Any, kpi: str | None, lang: Lang, view: Mapping[str, Any]) -> Any:
    """The CSV download of ``rows`` (those of units in scope), audited; ``no_update`` when the
    principal may not export, may not see ``view``'s unit, or the audit cannot be written."""
    try:
        access.require("export")
        reference = data.reference()
        unit = access.require_unit(reference, str(view.get("unit") or COUNTRY))
        kept = [
            row
            for row in rows or []
            if isinstance(row, dict) and access.sees(reference, str(row.get("code")))
        ]
        detail = {name: _audit_text(view.get(name)) for name in EXPORT_VIEW if name != "unit"}
        data.record(actor(), "export", f"unit:{unit}", {"kpi": _audit_text(kpi), **detail, "rows": len(kept)})
    except (Forbidden, UnknownUnit, DatabaseDown):
        return no_update
    known = kpi if kpi in {k.key for k in registry.all_kpis()} else DEFAULT_KPI
    text = table.csv_text(kept, known, lang)
    return send_string(text, "ioc-export.csv", type="text/csv")  # type: ignore[no-untyped-call]


def _audit_text(value: object) -> str | None:
    return None if value is None else str(value)[:AUDIT_TEXT_MAX]


# -- registration ----------------------------------------------------------------------------------

LANG = State(ids.LANG, "data")


def on_click(key: str, result: str) -> str:
    """A clientside callback of pattern-matched buttons: ``result`` (JavaScript of ``value``, the
    clicked button's ``key`` in its ID, and ``current``, the state) after a click; no update when
    the renderer calls it for new buttons (every map update replaces the table and the breadcrumb).
    In the browser, not on the server: there, that call's "no update" could arrive after a click's
    answer and swallow it (a busy page lost clicks) and cost a request on every map update."""
    return f"""function(clicks, current) {{
    var context = window.dash_clientside.callback_context;
    var value = (context.triggered_id || {{}})["{key}"];
    if (!value || !context.triggered.some(function(t) {{ return t.value; }})) {{
        return window.dash_clientside.no_update;
    }}
    return {result};
}}"""


SORT_BY = on_click("column", "current === value ? '-' + value : value")  # ascending, then descending
BACK_UP = on_click("unit", "value === current ? window.dash_clientside.no_update : value")  # breadcrumb


def register(app: dash.Dash, data: Data, maps: Maps, settings: Settings) -> dict[str, Any]:
    """Register the operator view's callbacks on ``app``; returns them by name (for tests)."""

    @app.callback(
        Output(ids.OP_UNIT, "data"),
        Input(ids.OP_MAP, "clickData"),
        State(ids.OP_UNIT, "data"),
        prevent_initial_call=True,
    )
    def drill(click: dict[str, Any] | None, current: str) -> Any:
        try:
            reference = data.reference()
            target = drilled(reference, click)
        except DatabaseDown:
            return no_update
        if target is None or target == current or not access.sees(reference, target):
            return no_update
        return target

    app.clientside_callback(  # type: ignore[no-untyped-call]
        BACK_UP,
        Output(ids.OP_UNIT, "data", allow_duplicate=True),
        Input({"type": ids.OP_CRUMB, "unit": ALL}, "n_clicks"),
        State(ids.OP_UNIT, "data"),
        prevent_initial_call=True,
    )

    @app.callback(  # first: the browser sends it before the slower parts
        output={
            "map": Output(ids.OP_MAP, "figure"),
            "parent": Output(ids.OP_MAP_PARENT, "data"),
            "note": Output(ids.OP_MAP_NOTE, "children"),
            "table": Output(ids.OP_TABLE, "children"),
            "rows": Output(ids.OP_ROWS, "data"),
            "breadcrumb": Output(ids.OP_BREADCRUMB, "children"),
            "title": Output(ids.OP_TITLE, "children"),
            "message": Output(ids.OP_MESSAGE, "children"),
            "search": Output(ids.URL, "search"),
            "lang_href": Output(ids.LANG_SWITCH, "href"),
            "dates_hidden": Output(ids.OP_DATES_WRAP, "hidden"),
            "agencies": Output(ids.OP_AGENCY, "options"),
        },
        inputs={"view": view_inputs(), "sort": Input(ids.OP_SORT_STATE, "data")},
        state={
            "shown_parent": State(ids.OP_MAP_PARENT, "data"),
            "search": State(ids.URL, "search"),
            "lang": LANG,
        },
    )
    def update_map(
        view: dict[str, Any], sort: str | None, shown_parent: str | None, search: str | None, lang: str | None
    ) -> dict[str, Any]:
        return map_update(data, maps, view_state(view, lang, sort), shown_parent, search)

    def part(output: Output, compute: Callable[[ViewState], Any]) -> Callable[..., Any]:
        """A part of the view that follows its state and the data version, and nothing else."""

        def update(view: dict[str, Any], lang: str | None) -> Any:
            return compute(view_state(view, lang))

        app.callback(output=output, inputs={"view": view_inputs()}, state={"lang": LANG})(update)
        return update

    update_trend = part(Output(ids.OP_SERIES, "figure"), lambda state: trend_update(data, state))
    update_by_agency = part(
        Output(ids.OP_BY_AGENCY, "children"), lambda state: breakdown_update(data, state, "agency")
    )
    update_by_procedure = part(
        Output(ids.OP_BY_PROCEDURE, "children"), lambda state: breakdown_update(data, state, "procedure")
    )

    @app.callback(
        Output(ids.OP_VERSION, "data"),
        Output(ids.OP_POLL, "interval"),
        *footer.OUTPUTS,
        Input(ids.OP_POLL, "n_intervals"),
        State(ids.OP_VERSION, "data"),
        LANG,
        footer.SHOWN,
        prevent_initial_call=True,
    )
    def poll(n: int | None, seen: Any, lang: str | None = None, shown: str | None = None) -> tuple[Any, ...]:
        """The version when it moved since ``seen`` (the page's, from when it was built), and the
        footer's status when it changed."""
        beat = data.poll(settings.poll_ms)
        status = footer.follow(data, beat, lang, shown)
        if beat.version is None:  # no Redis: recompute on the slower beat, from PostgreSQL
            return {"none": n or 0}, beat.interval_ms, *status
        return (beat.version if beat.moved(seen) else no_update), beat.interval_ms, *status

    bounded.trim_on(app, ids.OP_POLL)  # each beat is an entry of Dash's undo history

    @app.callback(
        Output(ids.OP_DOWNLOAD, "data"),
        Input(ids.OP_EXPORT, "n_clicks"),
        State(ids.OP_ROWS, "data"),
        State(ids.OP_KPI, "value"),
        State(ids.LANG, "data"),
        *(EXPORTED[name] for name in EXPORT_VIEW),
        prevent_initial_call=True,
    )
    def export(
        _: int | None,
        rows: list[dict[str, Any]] | None,
        kpi: str | None,
        lang: str | None,
        *view: Any,
    ) -> Any:
        """The table as shown (rows in their order, values as displayed) as a CSV file; nothing
        (no download) for a principal who may not export or see the view's unit."""
        return export_csv(data, rows, kpi, i18n.lang_of(lang), dict(zip(EXPORT_VIEW, view, strict=False)))

    app.clientside_callback(  # type: ignore[no-untyped-call]
        SORT_BY,
        Output(ids.OP_SORT_STATE, "data"),
        Input({"type": ids.OP_SORT, "column": ALL}, "n_clicks"),
        State(ids.OP_SORT_STATE, "data"),
        prevent_initial_call=True,
    )

    return {
        "drill": drill,
        "update_map": update_map,
        "update_trend": update_trend,
        "update_by_agency": update_by_agency,
        "update_by_procedure": update_by_procedure,
        "poll": poll,
        "export": export,
    }
