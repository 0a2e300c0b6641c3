"""The wall display (``/wall``): no controls, dark, large type sized to the screen (CSS ``vw``).

The layout holds the map (geometry by URL, grey until the first values arrive), the tiles of
the scene's KPIs, today's live counters, the ticker and the alerts area; callbacks/wall.py
fills and refreshes them with ``Patch`` updates on a timer. A second timer, the browser's own,
drives the watchdog that covers the wall with the offline banner when the server stops answering.
"""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc  # type: ignore[import-untyped]
from dash import dcc, html

from dashboard import i18n
from dashboard.i18n import Lang
from dashboard.maps import UnitMap
from layouts import figures, ids

TILE_KPIS = (
    "online_submission_rate",
    "full_online_rate",
    "on_time_rate",
    "digitization_rate",
    "online_payment_rate",
    "satisfaction_rate",
)
DARK: Any = {"data-bs-theme": "dark"}  # Bootstrap 5.3 colour mode of this subtree
COUNTER_KPIS = ("received", "resolved", "open", "overdue_open", "due_soon_open")
WATCHDOG_MS = 1000  # how often the browser checks that the server still answers


def layout(
    *, home: str, home_name: str, unit_map: UnitMap, lang: Lang, poll_ms: int, sound: bool = False
) -> html.Div:
    return html.Div(
        [
            dcc.Store(id=ids.LANG, data=lang),
            dcc.Store(id=ids.WALL_STATE, data=None),
            dcc.Store(id=ids.WALL_HOME, data=home),
            dcc.Store(id=ids.WALL_SOUND, data=sound),
            dcc.Store(id=ids.WALL_ALERT_COUNT, data=0),
            dcc.Interval(id=ids.WALL_POLL, interval=poll_ms),
            dcc.Store(id=ids.WALL_ANSWERED, data=None),
            dcc.Interval(id=ids.WALL_WATCHDOG, interval=WATCHDOG_MS),
            # Before the rest: the stylesheet dims what follows it while it shows.
            html.Div(
                i18n.t("offline_banner", lang),
                id=ids.WALL_OFFLINE,
                className="wall-offline",
                role="alert",
                hidden=True,
            ),
            html.Header(
                [
                    html.H1(home_name, id=ids.WALL_TITLE, className="wall-title"),
                    html.Div(
                        [
                            html.Div("--:--", id=ids.WALL_CLOCK, className="wall-clock"),
                            html.Div("", id=ids.WALL_AGE, className="wall-age"),
                            html.Div("", id=ids.WALL_ALERT_CUE, className="alert-cue"),
                        ],
                        className="wall-time",
                    ),
                ],
                className="wall-header",
            ),
            html.Div("", id=ids.WALL_STALE, className="wall-stale", hidden=True),
            html.Div(id=ids.WALL_ERROR),
            html.Main(
                [
                    html.Section(
                        [
                            html.H2("", id=ids.WALL_MAP_TITLE, className="wall-map-title"),
                            dcc.Graph(
                                id=ids.WALL_MAP,
                                figure=figures.choropleth(unit_map, dark=True, lang=lang),
                                config=figures.MAP_CONFIG,
                                className="wall-map",
                                style={"height": "100%"},
                            ),
                            html.P("", id=ids.WALL_MAP_NOTE, className="wall-map-note"),
                        ],
                        className="wall-map-area",
                    ),
                    html.Section(
                        [
                            html.Div(
                                [tile(key, lang) for key in TILE_KPIS],
                                id=ids.WALL_TILES,
                                className="wall-tiles",
                            ),
                            html.P(i18n.t("change", lang), className="wall-tiles-caption"),
                            html.H2(i18n.t("live_today", lang), className="wall-section-title"),
                            html.Div(
                                [counter(key, lang) for key in COUNTER_KPIS],
                                id=ids.WALL_COUNTERS,
                                className="wall-counters",
                            ),
                        ],
                        className="wall-side",
                    ),
                ],
                className="wall-main",
            ),
            html.Section(
                [
                    html.Div(
                        [
                            html.H2(i18n.t("latest_events", lang), className="wall-section-title"),
                            html.Ul([], id=ids.WALL_TICKER, className="wall-ticker"),
                        ],
                        className="wall-ticker-area",
                    ),
                    html.Div([], id=ids.WALL_ALERTS, className="wall-alerts"),
                ],
                className="wall-bottom",
            ),
        ],
        id=ids.WALL,
        className="wall",
        **DARK,
    )


def tile(key: str, lang: Lang) -> dbc.Card:
    return dbc.Card(
        [
            html.Div(i18n.kpi_name(key, lang), className="tile-name"),
            html.Div("—", id={"type": ids.TILE_VALUE, "kpi": key}, className="tile-value"),
            html.Div("", id={"type": ids.TILE_TARGET, "kpi": key}, className="tile-target"),
            html.Div("", id={"type": ids.TILE_CHANGE, "kpi": key}, className="tile-change"),
            dcc.Graph(
                id={"type": ids.TILE_SPARK, "kpi": key},
                figure=figures.sparkline([]),
                config={"staticPlot": True},
                className="tile-spark",
            ),
        ],
        className="wall-tile",
    )


def counter(key: str, lang: Lang) -> html.Div:
    return html.Div(
        [
            html.Div("—", id={"type": ids.COUNTER_VALUE, "kpi": key}, className="counter-value"),
            html.Div(i18n.kpi_name(key, lang), className="counter-name"),
        ],
        className="wall-counter",
    )
