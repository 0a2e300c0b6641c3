"""The alerts page's callbacks: the list, its poll, acknowledging; and the operator's banner.

- ``poll``: a cheap timer that reads the data version (the alert engine moves it after each
  firing or resolved alert, and so does an acknowledgement) and the minute (how long a firing
  alert has lasted grows), and changes the version store only when either moved;
- ``render``: the list of the unit's subtree for the filter, at that version;
- ``acknowledge``: a click on a row's button records who (the name typed, checked: not empty,
  trimmed, at most ``NAME_MAX`` characters) and when, once; the data version moves so that every
  open page shows it;
- ``banner``: on the operator view, how many alerts fire in the current unit and below it, the
  most severe, and a link to this page; nothing when none fires.

Every callback asks ``dashboard.access`` on the server: the list and the banner only for a unit
in the principal's scope (so they list alerts of their scope only), acknowledging only for those
who may (operators, admins) and only an alert of a unit in their scope, audited in the same
transaction. A refusal or a database that cannot be reached is a message, never a Dash error.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

import dash
import dash_bootstrap_components as dbc  # type: ignore[import-untyped]
import flask
from dash import ALL, Input, Output, State, ctx, html, no_update

from alerts.episodes import NAME_MAX, BadName, checked_name
from callbacks import bounded, footer
from callbacks.clicks import clicked
from callbacks.operator import actor, shielded
from dashboard import access, alert_text, i18n
from dashboard.access import OutOfScope
from dashboard.data import Data
from dashboard.i18n import Lang
from dashboard.reference import COUNTRY
from ioc.settings import Settings
from layouts import alerts as alerts_layout
from layouts import ids
from layouts.common import message

SEVERITY_COLOURS = {"critical": "danger", "warning": "warning", "info": "info"}


def page(data: Data, settings: Settings, params: dict[str, str], lang: Lang) -> Any:
    """The alerts page for the URL's ``unit`` (default: the principal's home, the whole country
    for its users) and ``show``; ``Forbidden`` for a unit outside their scope."""
    access.require("view")
    reference = data.reference()
    unit = access.require_unit(reference, params.get("unit") or access.home(COUNTRY))
    show = "all" if params.get("show") == "all" else "active"
    query = _query(
        unit=unit if unit != COUNTRY else "", show=show if show == "all" else "", lang=_other(lang)
    )
    return alerts_layout.layout(
        unit=unit,
        unit_name=reference.name(unit, lang),
        show=show,
        lang=lang,
        poll_ms=settings.poll_ms,
        version=seen(data),
        switch=f"/alerts?{query}" if query else "/alerts",
        signer=user.display_name if (user := flask.g.get("user")) is not None else None,
    )


def seen(data: Data, **more: object) -> dict[str, Any]:
    """What the list is computed at: the data version and the minute."""
    return {"version": data.version(), "minute": data.now().isoformat(), **more}


def render(data: Data, unit: str, show: str | None, lang: Lang) -> tuple[Any, Any]:
    """The list and the count line, or a message saying why not."""
    active_only = show != "all"

    def compute() -> tuple[Any, Any]:
        access.require("view")
        reference = data.reference()
        found = data.alerts(access.require_unit(reference, unit), active_only=active_only)
        firing = sum(1 for e in found if e.firing)
        count = i18n.t("alert_count", lang, n=firing) if firing else ""
        now = datetime.now(data.tz)  # to the second: how long each has lasted
        listed = alerts_layout.table(
            found,
            reference,
            now,
            data.tz,
            lang,
            active_only=active_only,
            may_acknowledge=access.allowed("acknowledge_alert"),
        )
        return listed, count

    return shielded(lang, compute, lambda text, kind: (message(text, kind=kind), ""))


def acknowledge(data: Data, alert_id: int, name: str | None, lang: Lang) -> tuple[Any, str, bool, Any]:
    """The message, the name field's error and whether it shows, and the version store (moved,
    so the list shows the acknowledgement at once, Redis or not)."""
    try:
        by = checked_name(name)
    except BadName as exc:
        return no_update, i18n.t(f"ack_name_{exc.reason}", lang, n=NAME_MAX), True, no_update

    def compute() -> tuple[Any, str, bool, Any]:
        access.require("acknowledge_alert")
        episode = data.alert(alert_id)
        if episode is not None:
            access.require_unit(data.reference(), episode.unit_code)
        elif access.home(COUNTRY) != COUNTRY:  # a scoped user learns nothing of other ids
            raise OutOfScope(access.principal(), f"alert:{alert_id}")
        done = data.acknowledge(alert_id, by, actor())
        if done is None:
            said = message(i18n.t("ack_missing", lang, id=alert_id), kind="warning")
        elif done.recorded:
            said = message(i18n.t("ack_done", lang, id=alert_id), kind="success")
        else:
            first = done.episode.acknowledged_by or ""
            said = message(i18n.t("ack_already", lang, id=alert_id, name=first), kind="info")
        return said, "", False, seen(data, at=time.time())

    return shielded(lang, compute, lambda text, kind: (message(text, kind=kind), "", False, no_update))


def banner(data: Data, unit: str | None, lang: Lang) -> Any:
    """How many alerts fire in ``unit`` and below it, the most severe and a link; [] for none
    (and when the database is down: the view's other parts say so)."""

    def compute() -> Any:
        access.require("view")
        where = access.require_unit(data.reference(), unit or COUNTRY)
        summary = data.alert_summary(where)
        if not summary.count or summary.worst is None:
            return []
        text = i18n.t(
            "banner_alerts",
            lang,
            n=summary.count,
            unit=data.reference().name(where, lang),
            severity=alert_text.severity(summary.worst, lang),
        )
        query = _query(unit=where if where != COUNTRY else "", lang="en" if lang == "en" else "")
        return dbc.Alert(
            [
                html.Span(alert_text.ICONS.get(summary.worst, "●"), className="banner-icon"),
                html.Span(text),
                " ",
                html.A(
                    i18n.t("banner_link", lang),
                    href=f"/alerts?{query}" if query else "/alerts",
                    className="alert-link",
                ),
            ],
            color=SEVERITY_COLOURS.get(summary.worst, "warning"),
            className=f"op-alert-banner alert-banner-{summary.worst}",
        )

    return shielded(lang, compute, lambda _text, _kind: [])


def _query(**params: str) -> str:
    """A URL's query string of the non-empty ``params``."""
    return urlencode({k: v for k, v in params.items() if v})


def _other(lang: Lang) -> str:
    """The other language's ``lang`` parameter (Vietnamese is the default: none)."""
    return "" if lang == "en" else "en"


def register(app: dash.Dash, data: Data, settings: Settings) -> dict[str, Any]:
    """Register the alerts page's callbacks and the operator's banner; returns them by name."""

    @app.callback(
        Output(ids.AL_VERSION, "data"),
        Output(ids.AL_POLL, "interval"),
        *footer.OUTPUTS,
        Input(ids.AL_POLL, "n_intervals"),
        State(ids.AL_VERSION, "data"),
        State(ids.LANG, "data"),
        footer.SHOWN,
        prevent_initial_call=True,
    )
    def alerts_poll(
        n: int | None, shown: dict[str, Any] | None, lang: str | None = None, status_shown: str | None = None
    ) -> tuple[Any, ...]:
        beat = data.poll(settings.poll_ms)
        now = {"version": beat.version, "minute": data.now().isoformat()}
        status = footer.follow(data, beat, lang, status_shown)
        if beat.version is None:  # no Redis: recompute on the slower beat, from PostgreSQL
            return {**now, "beat": n or 0}, beat.interval_ms, *status
        old = shown or {}
        moved = any(now[k] != old.get(k) for k in now)
        return (now if moved else no_update), beat.interval_ms, *status

    bounded.trim_on(app, ids.AL_POLL)  # each beat is an entry of Dash's undo history

    @app.callback(
        Output(ids.AL_LIST, "children"),
        Output(ids.AL_COUNT, "children"),
        Input(ids.AL_VERSION, "data"),
        Input(ids.AL_SHOW, "value"),
        State(ids.AL_UNIT, "data"),
        State(ids.LANG, "data"),
    )
    def alerts_render(_: Any, show: str | None, unit: str | None, lang: str | None) -> tuple[Any, Any]:
        return render(data, unit or COUNTRY, show, i18n.lang_of(lang))

    @app.callback(
        Output(ids.AL_MESSAGE, "children"),
        Output(ids.AL_NAME_ERROR, "children"),
        Output(ids.AL_NAME, "invalid"),
        Output(ids.AL_VERSION, "data", allow_duplicate=True),
        Input({"type": ids.AL_ACK, "alert": ALL}, "n_clicks"),
        State(ids.AL_NAME, "value"),
        State(ids.LANG, "data"),
        prevent_initial_call=True,
    )
    def alerts_acknowledge(clicks: list[int | None], name: str | None, lang: str | None) -> tuple[Any, ...]:
        button = ctx.triggered_id
        # New buttons (every render replaces them) call this too, with no click: nothing to do.
        if not isinstance(button, dict) or not clicked(button, ctx.inputs_list):
            return no_update, no_update, no_update, no_update
        return acknowledge(data, int(button["alert"]), name, i18n.lang_of(lang))

    @app.callback(
        Output(ids.OP_ALERT_BANNER, "children"),
        Input(ids.OP_UNIT, "data"),
        Input(ids.OP_VERSION, "data"),
        State(ids.LANG, "data"),
    )
    def alert_banner(unit: str | None, _: Any, lang: str | None) -> Any:
        return banner(data, unit, i18n.lang_of(lang))

    return {
        "alerts_poll": alerts_poll,
        "alerts_render": alerts_render,
        "alerts_acknowledge": alerts_acknowledge,
        "alert_banner": alert_banner,
    }
