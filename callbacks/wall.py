"""The wall display's two callbacks: a cheap tick and a refresh when something changed.

``tick`` runs on the timer: it reads ingest's data version from Redis (one GET), works out the
scene from the clock, and updates the clock, the data's age and the stale banner. Only when the
version, the scene, the minute or the database's reachability changed does it change the
``wall-state`` store, which triggers ``refresh``: KPIs (from the Redis cache), then ``Patch``
updates of the map's values and colours, the tiles, counters, ticker and alerts. The map's
geometry is never sent again; lists on screen have a fixed length. What a version means and how
often to look again come from ``Data.poll``, as for every page: with Redis down the tick runs
slower and every refresh asks PostgreSQL.

Whose wall it is decides what it shows, on the server, for every request: a kiosk link's display
shows the link's unit and scenes whatever the URL or a callback's input says (``for_request``
makes a ``Wall`` of the link's scenes for that one request: nothing is kept in the worker); a
signed-in user's, their scope's home unit, or the URL's ``unit`` when their scope holds it. A
unit outside the scope is refused with a message, never a figure.

Every answered tick also stamps ``wall-answered``; the watchdog, in the browser on its own timer,
notices when those stamps stop (the server is down or unreachable, so nothing the server sends
can say so) and covers the wall with the offline banner until they resume.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from string import Template
from typing import Any

import dash
from dash import ALL, Input, Output, State, html, no_update
from dash.exceptions import PreventUpdate

from alerts.episodes import Episode
from callbacks import bounded, footer
from dashboard import access, alert_text, health, i18n, scenes
from dashboard.access import Forbidden, OutOfScope
from dashboard.data import Data, previous
from dashboard.errors import DatabaseDown, UnknownUnit
from dashboard.goals import Goal, goal_for
from dashboard.i18n import Lang
from dashboard.maps import Maps
from dashboard.reference import COUNTRY, Reference
from ioc.settings import Settings
from kpi import periods, registry
from kpi.model import Filters, KpiValue, Period
from layouts import figures, ids
from layouts import wall as wall_layout
from layouts.common import database_message, message
from layouts.wall import COUNTER_KPIS, TILE_KPIS

# The map's text is SVG in pixels: scale it with the screen as the page's CSS (vw) scales the rest,
# once, in the browser (a 3840-pixel-wide screen gets twice the 1920 sizes).
SCALE_MAP_TEXT = """function(home, figure) {
    var s = Math.max(1, window.innerWidth / 1920), p = new window.dash_clientside.Patch();
    var base = (figure && figure.data[2].textfont && figure.data[2].textfont.size) || 14;
    p.assign(["data", 2, "textfont", "size"], Math.round(base * s));
    p.assign(["data", 1, "colorbar", "tickfont", "size"], Math.round(18 * s));
    p.assign(["data", 1, "colorbar", "thickness"], Math.round(20 * s));
    p.assign(["layout", "hoverlabel", "font", "size"], Math.round(16 * s));
    return p.build();
}"""
# The audible cue (``?sound=1``): two short tones from the Web Audio API (no sound file to
# serve) when the number of active alerts grows; the visible cue is the pulsing alert list.
ALERT_SOUND = """function(count, enabled) {
    var before = window.iocAlertCount || 0;
    window.iocAlertCount = count || 0;
    if (enabled && count > before && window.AudioContext) {
        var audio = new window.AudioContext();
        [0, 0.35].forEach(function(at) {
            var tone = audio.createOscillator(), gain = audio.createGain();
            tone.frequency.value = 880; gain.gain.value = 0.2;
            tone.connect(gain); gain.connect(audio.destination);
            tone.start(audio.currentTime + at); tone.stop(audio.currentTime + at + 0.2);
        });
    }
    return count > 0 ? "alert-cue alerting" : "alert-cue";
}"""
# The connection watchdog, run by the browser's own timer and by every answered tick. After
# ``offline_after_ms`` of the tick's current interval without an answer, the offline banner covers
# the wall (the stylesheet dims the figures behind it); the first answer takes it away and clears
# the wall's state, so that the next tick recomputes everything (a refresh lost in the outage
# must not leave old figures on screen). Its own memory is one object on ``window``. It also
# keeps Dash's bookkeeping bounded (``callbacks.bounded``, as the other pages' timers do).
WATCHDOG = Template("""function(tick, answered, interval, hidden) {
    var dc = window.dash_clientside, now = Date.now();
    var watch = window.iocWallWatch || (window.iocWallWatch = {answered: answered, at: now});
    if (answered !== watch.answered || tick === 1) {  // an answer, or a new page's first beat
        watch.answered = answered;
        watch.at = now;
    }
    keepBounded(window.store && window.store.getState && window.store.getState());
    var offline = now - watch.at > Math.max($polls * (interval || 0), $least_ms);
    if (offline === !hidden) {
        return [dc.no_update, dc.no_update];
    }
    return [!offline, offline ? dc.no_update : null];

    $keep_bounded
}""")
OFFLINE_POLLS = 3  # the wall says it is offline after this many of the tick's intervals without an answer,
OFFLINE_LEAST_MS = 10_000  # and never sooner than this (a slow answer is not an outage)
LATEST_EVERY_S = 30.0  # the latest event's time is read again at least this often
SPARK_DAYS = 14
TICKER_LENGTH = 8
ALERTS_SHOWN = 2  # alerts listed on the wall (as tall as the ticker); the title counts them all


def offline_after_ms(interval_ms: int) -> int:
    """How long the wall waits for an answer, ticking every ``interval_ms``, before it says so."""
    return max(OFFLINE_POLLS * interval_ms, OFFLINE_LEAST_MS)


def watchdog_js() -> str:
    """The watchdog's JavaScript with this module's limits written in."""
    return WATCHDOG.substitute(
        polls=OFFLINE_POLLS, least_ms=OFFLINE_LEAST_MS, keep_bounded=bounded.KEEP_BOUNDED
    )


@dataclass(frozen=True)
class Wall:
    data: Data
    maps: Maps
    scenes: tuple[scenes.Scene, ...]
    poll_ms: int
    stale_after_s: int


def for_request(wall: Wall) -> Wall:
    """The wall of the current request: a kiosk link's scenes for its display, else the
    configured ones (a new object per request; nothing is stored)."""
    link = access.kiosk_link()
    return replace(wall, scenes=link.scenes) if link is not None and link.scenes else wall


def home_of(reference: Reference, asked: str | None, default: str) -> str:
    """The unit the wall shows: a kiosk link's own unit whatever was asked; else ``asked`` (the
    URL's or the page's) or the principal's home, only inside their scope (``Forbidden``)."""
    access.require("view_wall")
    link = access.kiosk_link()
    if link is not None:
        return reference.check(link.unit)
    return access.require_unit(reference, asked or access.home(default))


def page(wall: Wall, settings: Settings, params: dict[str, str], lang: Lang) -> Any:
    """The wall page for the principal (see ``home_of``); ``?sound=1`` adds the audible cue."""
    reference = wall.data.reference()
    home = home_of(reference, params.get("unit"), settings.wall_unit)
    return wall_layout.layout(
        home=home,
        home_name=reference.name(home, lang),
        unit_map=wall.maps.of(home),
        lang=lang,
        poll_ms=wall.poll_ms,
        sound=params.get("sound") == "1",
    )


def tick(
    wall: Wall, state: dict[str, Any] | None, lang: Lang, now: datetime, shown: str | None = None
) -> tuple[Any, ...]:
    """Clock, age, banner, root class, the new state (or no_update), the timer's interval, the
    answer's stamp (the server's time: a new value on every answer, for the watchdog), and the
    footer's status text and class (no update while ``shown``, its class, says so already)."""
    beat = wall.data.poll(wall.poll_ms)
    version = beat.version
    scene = scenes.current(wall.scenes, now)
    minute = now.astimezone(wall.data.tz).replace(second=0, microsecond=0).isoformat()
    old = state or {}
    latest, checked, database = old.get("latest"), float(old.get("checked", 0.0)), bool(old.get("db", True))
    if beat.moved(old.get("version")) or time.time() - checked > LATEST_EVERY_S:
        try:
            found = wall.data.latest_event_at()
            latest, database = (found.isoformat() if found else None), True
        except DatabaseDown:
            database = False
        checked = time.time()
    new = {
        "version": version,
        "scene": scene,
        "minute": minute,
        "db": database,
        "latest": latest,
        "checked": checked,
    }
    changed = any(new[k] != old.get(k) for k in ("version", "scene", "minute", "db", "latest"))
    age_s = (now - datetime.fromisoformat(latest)).total_seconds() if latest else None
    status = health.status_of(
        database=database, redis=version is not None, age_s=age_s, stale_after_s=wall.stale_after_s
    )
    stale = status in ("down", "stale")
    if not database:
        banner = i18n.t("db_down", lang)
    elif age_s is None:
        banner = i18n.t("stale_banner", lang, age=i18n.t("never_received", lang))
    else:
        banner = i18n.t("stale_banner", lang, age=i18n.age(age_s, lang))
    age_text = (
        i18n.t("data_age", lang, age=i18n.age(age_s, lang))
        if age_s is not None
        else i18n.t("data_age_none", lang)
    )
    local = now.astimezone(wall.data.tz)
    clock = [
        html.Span(f"{local:%H:%M}", className="clock-time"),
        html.Span(i18n.day(local.date(), lang), className="clock-date"),
    ]
    return (
        clock,
        age_text,
        banner,
        not stale,
        "wall stale" if stale else "wall",
        new if changed else no_update,
        beat.interval_ms,
        now.timestamp(),
        *footer.update(status, lang, shown),
    )


def refresh(wall: Wall, home: str, state: dict[str, Any] | None, lang: Lang) -> tuple[Any, ...]:
    """Every value on screen for the state's scene, as patches and short lists."""
    if not state:  # the page's first call, or the watchdog's reset: the next tick brings a state
        raise PreventUpdate
    skip = _unchanged()
    if not state.get("db", True):
        return (*skip, message(i18n.t("db_down", lang), kind="danger"), no_update)
    scene = wall.scenes[int(state["scene"]) % len(wall.scenes)]
    try:
        home = home_of(wall.data.reference(), home, COUNTRY)
        values = _values(wall, home, scene, lang)
        shown = wall.data.alerts(home, active_only=True, limit=ALERTS_SHOWN)
        firing = wall.data.alert_summary(home).count
        return (*values, _alerts(wall, shown, firing, lang), [], firing)
    except DatabaseDown as exc:
        return (*skip, database_message(exc, lang), no_update)
    except Forbidden as exc:  # a forged home: a message, nothing of that unit
        key = "forbidden" if isinstance(exc, OutOfScope) else "forbidden_action"
        return (*skip, message(i18n.t(key, lang), kind="warning"), no_update)
    except UnknownUnit as exc:
        return (*skip, message(i18n.t("unknown_unit", lang, code=exc.code), kind="warning"), no_update)


def _unchanged() -> tuple[Any, ...]:
    """The ten outputs of values, left as they are: the tiles' and counters' as lists (Dash
    refuses a lone ``no_update`` for an ``ALL`` output)."""
    tiles = [[no_update] * len(TILE_KPIS) for _ in range(4)]
    counters = [no_update] * len(COUNTER_KPIS)
    return (no_update, no_update, no_update, *tiles, counters, no_update, no_update)  # ticker, alerts


def _values(wall: Wall, home: str, scene: scenes.Scene, lang: Lang) -> tuple[Any, ...]:
    data = wall.data
    reference = data.reference()
    now = data.now()
    today = now.date()
    period = periods.named(scene.period, today)
    targets = data.targets()
    unit_map = wall.maps.of(home)
    children = data.children(home, period, Filters(), now)
    child_goal = goal_for(targets, scene.kpi, None, unit_map.level)
    map_values = {code: kpis[scene.kpi].value for code, kpis in children.items() if scene.kpi in kpis}
    patch = figures.map_patch(unit_map, scene.kpi, map_values, child_goal, lang)
    title = i18n.t(
        "scene_title", lang, kpi=i18n.kpi_name(scene.kpi, lang), period=i18n.t(f"period_{scene.period}", lang)
    )
    note = _map_note(scene.kpi, child_goal, lang) if unit_map.codes else i18n.t("no_geometry", lang)

    level = None if home == COUNTRY else reference.units[home].level
    goal_unit = None if home == COUNTRY else home
    current = data.values(home, period, Filters(), now)
    before = data.values(home, previous(period), Filters(), now, settled=True)
    spark_period = Period(today - timedelta(days=SPARK_DAYS - 1), today + timedelta(days=1))
    trend = data.series(home, spark_period, "day", Filters(), now, settled=True)
    goals = {key: goal_for(targets, key, goal_unit, level) for key in TILE_KPIS}
    tile_values = [i18n.kpi_value(key, _value(current, key), lang) for key in TILE_KPIS]
    tile_targets = [_target_text(key, goals[key], lang) for key in TILE_KPIS]
    tile_changes = [_change(key, _value(current, key), _value(before, key), lang) for key in TILE_KPIS]
    sparks = [_spark([kpis for _, kpis in trend], key) for key in TILE_KPIS]

    live = data.values(home, periods.named("today", today), Filters(), now)
    counters = [i18n.kpi_value(key, _value(live, key), lang) for key in COUNTER_KPIS]
    ticker = _ticker(wall, home, lang)
    return (patch, title, note, tile_values, tile_targets, tile_changes, sparks, counters, ticker)


def _value(kpis: dict[str, KpiValue], key: str) -> Fraction | int | None:
    found = kpis.get(key)
    return found.value if found is not None else None


def _map_note(kpi: str, goal: Goal | None, lang: Lang) -> str:
    grey = i18n.t("grey_no_data", lang)
    if goal is None:
        return f"{i18n.t('coloured_by_value', lang)} · {grey}"
    return f"{i18n.t('coloured_by_target', lang, target=i18n.kpi_value(kpi, goal.value, lang))} · {grey}"


def _target_text(key: str, goal: Goal | None, lang: Lang) -> str:
    if goal is None:
        return i18n.t("no_target", lang)
    return f"{i18n.t('target', lang)}: {i18n.kpi_value(key, goal.value, lang)}"


def _change(key: str, now: Fraction | int | None, before: Fraction | int | None, lang: Lang) -> str:
    """``▲ 2,3 điểm %`` (the caption under the tiles says: versus the previous period); nothing to
    compare when either side has no data."""
    if now is None or before is None:
        return i18n.t("no_change", lang)
    display = registry.get(key).display
    difference = Fraction(now) - Fraction(before)
    if display == "percent":
        amount, suffix = float(difference * 100), f" {i18n.t('points', lang)}"
    elif display == "days":
        amount, suffix = float(difference), f" {i18n.t('days_unit', lang)}"
    else:
        amount, suffix = float(difference), ""
    arrow = "▲" if difference > 0 else "▼" if difference < 0 else "="
    decimals = 0 if display == "integer" else 1
    return f"{arrow} {i18n.number(abs(amount), lang, decimals)}{suffix}"


def _spark(rows: Sequence[dict[str, KpiValue]], key: str) -> dash.Patch:
    patch = dash.Patch()
    values = [_value(row, key) for row in rows]
    patch["data"][0]["y"] = [float(v) if v is not None else None for v in values]
    return patch


def _ticker(wall: Wall, home: str, lang: Lang) -> list[html.Li]:
    reference = wall.data.reference()
    items = []
    for event in wall.data.latest_events(home, TICKER_LENGTH):
        at = event.occurred_at.astimezone(wall.data.tz)
        items.append(
            html.Li(
                [
                    html.Span(f"{at:%H:%M}", className="ticker-time"),
                    html.Span(
                        i18n.t(f"ev_{event.event_type}", lang), className=f"ticker-type ev-{event.event_type}"
                    ),
                    html.Span(reference.name(event.unit_code, lang), className="ticker-unit"),
                    html.Span(reference.procedure_name(event.procedure_code), className="ticker-procedure"),
                ]
            )
        )
    return items


def _alerts(wall: Wall, shown: Sequence[Episode], firing: int, lang: Lang) -> list[Any]:
    """The firing alerts of the home unit's subtree, most severe and newest first (the title
    counts them all), each on two lines: its severity as a shape, a word and a colour, the unit
    and since when; the value against the target and the KPI."""
    title = html.H2(
        f"{i18n.t('active_alerts', lang)} ({firing})" if firing else i18n.t("active_alerts", lang),
        className="wall-section-title",
    )
    if not shown:
        return [title, html.P(i18n.t("no_alerts", lang), className="no-alerts")]
    reference = wall.data.reference()
    today = datetime.now(wall.data.tz).date()
    rows = []
    for alert in shown:
        fired = alert.fired_at.astimezone(wall.data.tz)
        since = f"{fired:%H:%M}" if fired.date() == today else alert_text.moment(fired, wall.data.tz, lang)
        target = alert_text.threshold(alert.kpi, alert.comparison, alert.threshold, lang)
        head = [
            html.Span(alert_text.badge(alert.severity, lang), className="alert-severity"),
            html.Span(reference.name(alert.unit_code, lang), className="alert-unit"),
            html.Span(i18n.t("alert_since", lang, at=since), className="alert-since"),
        ]
        body = [
            html.Span(alert_text.value(alert.kpi, alert.fired_value, lang), className="alert-value"),
            html.Span(i18n.t("alert_target", lang, threshold=target), className="alert-target"),
            html.Span(alert_text.kpi_name(alert.kpi, lang), className="alert-kpi"),
        ]
        rows.append(
            html.Li(
                [
                    html.Div(_spaced(head), className="alert-head"),
                    html.Div(_spaced(body), className="alert-body"),
                ],
                className=f"wall-alert alert-{alert.severity}",
            )
        )
    return [title, html.Ul(rows, className="wall-alert-list alerting")]


def _spaced(parts: list[html.Span]) -> list[Any]:
    """Spans with a space between them (for screen readers and copied text; CSS sets the gap)."""
    spaced: list[Any] = []
    for part in parts:
        spaced += [part, " "] if part is not parts[-1] else [part]
    return spaced


def register(app: dash.Dash, wall: Wall) -> dict[str, Any]:
    """Register the wall's callbacks on ``app``; returns them by name (for tests)."""

    @app.callback(
        Output(ids.WALL_CLOCK, "children"),
        Output(ids.WALL_AGE, "children"),
        Output(ids.WALL_STALE, "children"),
        Output(ids.WALL_STALE, "hidden"),
        Output(ids.WALL, "className"),
        Output(ids.WALL_STATE, "data"),
        Output(ids.WALL_POLL, "interval"),
        Output(ids.WALL_ANSWERED, "data"),
        *footer.OUTPUTS,
        Input(ids.WALL_POLL, "n_intervals"),
        State(ids.WALL_STATE, "data"),
        State(ids.LANG, "data"),
        footer.SHOWN,
        prevent_initial_call="initial_duplicate",  # the first beat fills the wall
    )
    def wall_tick(
        _: int | None, state: dict[str, Any] | None, lang: str, shown: str | None = None
    ) -> tuple[Any, ...]:
        return tick(for_request(wall), state, i18n.lang_of(lang), datetime.now(UTC), shown)

    @app.callback(
        Output(ids.WALL_MAP, "figure"),
        Output(ids.WALL_MAP_TITLE, "children"),
        Output(ids.WALL_MAP_NOTE, "children"),
        Output({"type": ids.TILE_VALUE, "kpi": ALL}, "children"),
        Output({"type": ids.TILE_TARGET, "kpi": ALL}, "children"),
        Output({"type": ids.TILE_CHANGE, "kpi": ALL}, "children"),
        Output({"type": ids.TILE_SPARK, "kpi": ALL}, "figure"),
        Output({"type": ids.COUNTER_VALUE, "kpi": ALL}, "children"),
        Output(ids.WALL_TICKER, "children"),
        Output(ids.WALL_ALERTS, "children"),
        Output(ids.WALL_ERROR, "children"),
        Output(ids.WALL_ALERT_COUNT, "data"),
        Input(ids.WALL_STATE, "data"),
        State(ids.WALL_HOME, "data"),
        State(ids.LANG, "data"),
    )
    def wall_refresh(state: dict[str, Any] | None, home: str, lang: str) -> tuple[Any, ...]:
        return refresh(for_request(wall), home, state, i18n.lang_of(lang))

    app.clientside_callback(  # type: ignore[no-untyped-call]
        ALERT_SOUND,
        Output(ids.WALL_ALERT_CUE, "className"),
        Input(ids.WALL_ALERT_COUNT, "data"),
        State(ids.WALL_SOUND, "data"),
        prevent_initial_call=True,
    )
    app.clientside_callback(  # type: ignore[no-untyped-call]
        watchdog_js(),
        Output(ids.WALL_OFFLINE, "hidden"),
        Output(ids.WALL_STATE, "data", allow_duplicate=True),
        Input(ids.WALL_WATCHDOG, "n_intervals"),
        Input(ids.WALL_ANSWERED, "data"),
        State(ids.WALL_POLL, "interval"),
        State(ids.WALL_OFFLINE, "hidden"),
        prevent_initial_call=True,
    )
    app.clientside_callback(  # type: ignore[no-untyped-call]
        SCALE_MAP_TEXT,
        Output(ids.WALL_MAP, "figure", allow_duplicate=True),
        Input(ids.WALL_HOME, "data"),
        State(ids.WALL_MAP, "figure"),
        prevent_initial_call="initial_duplicate",
    )
    return {"wall_tick": wall_tick, "wall_refresh": wall_refresh}
