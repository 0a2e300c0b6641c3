"""Figures: the choropleth (built once per map, then patched), sparklines, trends, bars.

The map has three traces: 0 every unit in grey ("no data" underneath), 1 the units with a
value, coloured, 2 the values written at each unit's label point. A map's geometry is a URL
(``dashboard.maps.geojson_url``): ``map_patch`` changes values and colours only, and
``map_geometry_patch`` points the traces at another map (drill-down) by URL, never by content.

Colours: against a target, ColorBrewer's PuOr (colour-blind safe), centred on the target,
orange on the wrong side and purple on the right one; without a target, Cividis by value.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from fractions import Fraction
from typing import Any

import plotly.graph_objects as go  # type: ignore[import-untyped]
import plotly.io as pio  # type: ignore[import-untyped]
from dash import Patch, dcc

from dashboard import i18n
from dashboard.goals import Goal, plotted
from dashboard.i18n import Lang
from dashboard.maps import UnitMap, geojson_url
from kpi import registry
from layouts import plain

Figure = dict[str, Any]  # a figure as plotly.js reads it (what ``go.Figure.to_plotly_json`` gives)
PUOR = ("#b35806", "#e08214", "#fdb863", "#fee0b6", "#f7f7f7", "#d8daeb", "#b2abd2", "#8073ac", "#542788")
GREY = "#5f6368"
OUTLINE = "#9aa0a6"
MIN_SPAN = {"percent": 5.0, "days": 1.0, "integer": 5.0}

MAP_CONFIG: dcc.Graph.Config = {
    "topojsonURL": "/assets/topojson/",  # plotly's world outline, served locally (NOTES.md)
    "displayModeBar": False,
    "scrollZoom": False,
    "responsive": True,
}
GRAPH_CONFIG: dcc.Graph.Config = {"displayModeBar": False, "responsive": True}


def diverging(higher_is_better: bool) -> list[list[float | str]]:
    colours = PUOR if higher_is_better else tuple(reversed(PUOR))
    return [[i / (len(colours) - 1), c] for i, c in enumerate(colours)]


def choropleth(unit_map: UnitMap, *, dark: bool, lang: Lang) -> go.Figure:
    """The empty map of ``unit_map``: every unit grey until ``map_patch`` gives values."""
    text_colour = "#f8f9fa" if dark else "#212529"
    figure = go.Figure(
        [
            go.Choropleth(
                geojson=geojson_url(unit_map.parent),
                featureidkey="id",
                locations=list(unit_map.codes),
                z=[0] * len(unit_map.codes),
                colorscale=[[0, GREY], [1, GREY]],
                showscale=False,
                marker={"line": {"color": OUTLINE, "width": 0.6}},
                hovertext=[label.name for label in unit_map.labels],
                hoverinfo="text",
                name="base",
            ),
            go.Choropleth(
                geojson=geojson_url(unit_map.parent),
                featureidkey="id",
                locations=[],
                z=[],
                colorscale=diverging(True),
                marker={"line": {"color": OUTLINE, "width": 0.6}},
                hovertext=[],
                hoverinfo="text",
                colorbar={"thickness": 14, "len": 0.6, "tickfont": {"color": text_colour}},
                name="values",
            ),
            go.Scattergeo(
                lon=[label.lon for label in unit_map.labels],
                lat=[label.lat for label in unit_map.labels],
                text=["" for _ in unit_map.labels],
                customdata=list(unit_map.codes),
                mode="text",
                # white with a dark halo: readable on the light and the dark ends of every palette
                textfont={
                    "color": "#ffffff",
                    "size": label_size(len(unit_map.codes), dark=dark),
                    "shadow": "auto",
                },
                hoverinfo="skip",
                name="labels",
            ),
        ]
    )
    figure.update_geos(fitbounds="geojson", visible=False, projection_type="mercator")
    figure.update_layout(
        margin={"l": 0, "r": 0, "t": 0, "b": 0},
        paper_bgcolor="rgba(0,0,0,0)",
        geo_bgcolor="rgba(0,0,0,0)",
        showlegend=False,
        separators=i18n.plotly_separators(lang),
        uirevision=unit_map.parent,
        dragmode=False,
    )
    return figure


def label_size(units: int, *, dark: bool) -> int:
    """Value labels in pixels at 1920 wide: large on a wall, smaller the more units share it."""
    if not dark:
        return 11 if units > 40 else 12
    return 20 if units <= 12 else 16 if units <= 36 else 12


def map_geometry_patch(unit_map: UnitMap) -> Patch:
    """Point the map at another set of units (by URL) and clear its values."""
    patch = Patch()
    for trace in (0, 1):
        patch["data"][trace]["geojson"] = geojson_url(unit_map.parent)
    patch["data"][0]["locations"] = list(unit_map.codes)
    patch["data"][0]["z"] = [0] * len(unit_map.codes)
    patch["data"][0]["hovertext"] = [label.name for label in unit_map.labels]
    patch["data"][1]["locations"] = []
    patch["data"][1]["z"] = []
    patch["data"][2]["lon"] = [label.lon for label in unit_map.labels]
    patch["data"][2]["lat"] = [label.lat for label in unit_map.labels]
    patch["data"][2]["customdata"] = list(unit_map.codes)
    patch["data"][2]["text"] = ["" for _ in unit_map.labels]
    patch["data"][2]["textfont"]["size"] = label_size(len(unit_map.codes), dark=False)
    patch["layout"]["uirevision"] = unit_map.parent
    return patch


def map_patch(
    unit_map: UnitMap,
    kpi: str,
    values: Mapping[str, Fraction | int | None],
    goal: Goal | None,
    lang: Lang,
    *,
    patch: Patch | None = None,
) -> Patch:
    """Colour the units of ``unit_map`` by ``values`` (None: no data, left grey)."""
    patch = patch if patch is not None else Patch()
    shown = [code for code in unit_map.codes if values.get(code) is not None]
    z = [round(float(plotted(kpi, values[code])), 2) for code in shown]  # type: ignore[arg-type]
    names = {label.code: label.name for label in unit_map.labels}
    formatted = {code: i18n.kpi_value(kpi, values.get(code), lang) for code in unit_map.codes}
    trace: Any = patch["data"][1]
    trace["locations"] = shown
    trace["z"] = z
    trace["hovertext"] = [f"{names[code]}: {formatted[code]}" for code in shown]
    display = _display(kpi)
    if goal is not None:
        centre = goal.plotted()
        span = max([abs(v - centre) for v in z] + [MIN_SPAN[display]])
        trace["colorscale"] = diverging(goal.higher_is_better)
        trace["zauto"] = False
        trace["zmin"], trace["zmid"], trace["zmax"] = centre - span, centre, centre + span
    else:
        trace["colorscale"] = "Cividis"
        trace["zauto"] = True
        trace["zmid"] = None
    patch["data"][0]["hovertext"] = [f"{names[code]}: {formatted[code]}" for code in unit_map.codes]
    patch["data"][2]["text"] = [
        formatted[code] if values.get(code) is not None else "" for code in unit_map.codes
    ]
    return patch


def sparkline(points: Sequence[float | None], *, dark: bool = True) -> go.Figure:
    colour = "#8ab4f8" if dark else "#0d6efd"
    figure = go.Figure(
        go.Scatter(
            y=list(points),
            mode="lines",
            connectgaps=True,
            line={"color": colour, "width": 3},
            hoverinfo="skip",
        )
    )
    figure.update_layout(
        margin={"l": 0, "r": 0, "t": 0, "b": 0},
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        xaxis={"visible": False, "fixedrange": True},
        yaxis={"visible": False, "fixedrange": True},
        showlegend=False,
    )
    return figure


def trend(
    labels: Sequence[str],
    points: Sequence[float | None],
    texts: Sequence[str],
    goal: Goal | None,
    *,
    title: str,
    lang: Lang,
) -> Figure:
    """A KPI over time with its target as a dashed line (what ``go.Figure`` and ``add_hline``
    would build, written directly: they took 27 ms for a month's trend)."""
    layout: Figure = {
        "template": default_template(),
        "title": {"text": title},
        "margin": {"l": 40, "r": 10, "t": 40, "b": 40},
        "separators": i18n.plotly_separators(lang),
        "showlegend": False,
        "xaxis": {"type": "category"},
    }
    if goal is not None:
        y = goal.plotted()
        layout["shapes"] = [
            {
                "type": "line",
                "xref": "x domain",
                "x0": 0,
                "x1": 1,
                "yref": "y",
                "y0": y,
                "y1": y,
                "line": {"color": "#b35806", "dash": "dash"},
            }
        ]
        layout["annotations"] = [
            {
                "text": i18n.t("target", lang),
                "showarrow": False,
                "xref": "x domain",
                "x": 1,
                "xanchor": "right",
                "yref": "y",
                "y": y,
                "yanchor": "bottom",
            }
        ]
    scatter = {
        "type": "scatter",
        "x": list(labels),
        "y": list(points),
        "text": list(texts),
        "hoverinfo": "x+text",
        "mode": "lines+markers",
        "connectgaps": False,
        "name": title,
    }
    return {"data": [scatter], "layout": layout}


def bar_list(
    names: Sequence[str], points: Sequence[float], texts: Sequence[str], *, title: str
) -> plain.Json:
    """Horizontal bars in HTML (no plotly needed), widths relative to the largest value (an
    ``html.Div``, as plain data: sent on every update, see ``layouts.plain``)."""
    top = max([p for p in points if p > 0] or [1.0])
    rows = [
        plain.html(
            "Div",
            [
                plain.html("Span", name, className="bar-name", title=name),
                plain.html(
                    "Span",
                    plain.html(
                        "Span", className="bar-fill", style={"width": f"{max(0.0, p) / top * 100:.1f}%"}
                    ),
                    className="bar-track",
                ),
                plain.html("Span", text, className="bar-value"),
            ],
            className="bar-row",
        )
        for name, p, text in zip(names, points, texts, strict=True)
    ]
    return bar_frame(title, rows)


def bar_frame(title: str, children: list[plain.Json]) -> plain.Json:
    """The bars' box: their title, then ``children`` (the bars, or why there are none)."""
    return plain.html(
        "Div", [plain.html("H3", title, className="bar-title"), *children], className="bar-list"
    )


def empty(message: str) -> Figure:
    """A figure that says why it has nothing to show (never a blank chart)."""
    return {
        "data": [],
        "layout": {
            "template": default_template(),
            "xaxis": {"visible": False},
            "yaxis": {"visible": False},
            "annotations": [
                {"text": message, "showarrow": False, "font": {"size": 16}, "xref": "paper", "yref": "paper"}
            ],
            "margin": {"l": 10, "r": 10, "t": 10, "b": 10},
            "paper_bgcolor": "rgba(0,0,0,0)",
            "plot_bgcolor": "rgba(0,0,0,0)",
        },
    }


@functools.cache
def default_template() -> Figure:
    """plotly's default template as JSON, which ``go.Figure`` puts in every figure (built once)."""
    return dict(pio.templates[pio.templates.default].to_plotly_json())


def _display(kpi: str) -> str:
    return registry.get(kpi).display
