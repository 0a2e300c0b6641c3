"""The Dash app factory: ``create_app(settings)`` builds the app; its Flask server is the WSGI app.

Nothing a request needs is kept in a worker's memory: every page reads PostgreSQL (through the
Redis cache), so any number of workers can serve any request. ``/healthz`` answers without
Dash: 200 while the database answers (``ok``, ``stale`` or ``degraded``), 503 when it does not.

Everything the pages load is served by this app (``serve_locally``, Bootstrap vendored under
``assets/vendor``, plotly's world outline under ``assets/topojson``, system fonts): no request
leaves a closed government network.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import dash
import flask

from callbacks import admin as admin_callbacks
from callbacks import alerts as alerts_callbacks
from callbacks import operator as operator_callbacks
from callbacks import router
from callbacks import targets as targets_callbacks
from callbacks import wall as wall_callbacks
from dashboard import compress, guard, health, oidc, scenes, signin
from dashboard.data import Data
from dashboard.i18n import Lang
from dashboard.maps import Maps
from dashboard.metrics import DashboardMetrics
from ioc.settings import Settings
from layouts import common

BOOTSTRAP = "/assets/vendor/bootstrap/bootstrap.min.css"
# plotly.js's geo bundle (scatter, scattergeo, choropleth: all the figures here draw) is a third
# of the full bundle's size; bar charts are drawn in HTML (layouts.figures.bar_list).
PLOTLY = "/assets/vendor/plotly/plotly-geo.min.js"
INDEX = """<!DOCTYPE html>
<html lang="vi" data-bs-theme="dark">
<head>{%metas%}<title>{%title%}</title>{%favicon%}{%css%}</head>
<body>{%app_entry%}<footer>{%config%}{%scripts%}{%renderer%}</footer></body>
</html>"""


def create_app(settings: Settings) -> dash.Dash:
    app = dash.Dash(
        __name__,
        title="IOC — Dịch vụ công trực tuyến",
        serve_locally=True,  # every script from the package: no CDN on a closed network
        update_title="",
        suppress_callback_exceptions=True,  # pages are built by the router
        external_stylesheets=[BOOTSTRAP],  # a local file, listed first so our styles come after it
        external_scripts=[PLOTLY],  # defines window.Plotly: dcc.Graph then loads no other plotly.js
        assets_ignore=r"^(bootstrap\.min\.css|plotly-geo\.min\.js)$",
        meta_tags=[{"name": "viewport", "content": "width=device-width, initial-scale=1"}],
    )
    server: flask.Flask = app.server
    app.index_string = INDEX
    data = Data(settings)
    gate = guard.Guard(settings, data)
    gate.init_app(server)
    server.register_blueprint(signin.blueprint(settings, data))
    if settings.auth.oidc is not None:
        server.register_blueprint(oidc.blueprint(settings, data))
    maps = Maps(data)
    maps.register(server)
    compress.init_app(server)
    DashboardMetrics(settings.auth.metrics_token).register(server)  # /metrics; counts every request
    wall = wall_callbacks.Wall(
        data=data,
        maps=maps,
        scenes=scenes.load(settings.wall_scenes),
        poll_ms=settings.poll_ms,
        stale_after_s=settings.stale_after_s,
    )

    @server.get("/healthz")
    def healthz() -> tuple[flask.Response, int]:
        report = health.check(settings, datetime.now(UTC))
        return flask.jsonify(report.as_dict()), 503 if report.status == "down" else 200

    def wall_page(params: dict[str, str], lang: Lang) -> Any:
        return wall_callbacks.page(wall, settings, params, lang)  # the principal's home and scenes

    requiring = admin_callbacks.requiring  # the not-allowed message unless the principal may
    pages: dict[str, router.Page] = {
        "/": requiring(
            "view", lambda params, lang: operator_callbacks.page(data, maps, settings, params, lang)
        ),
        "/wall": requiring("view_wall", wall_page),
        "/status": lambda params, lang: None,
        "/alerts": requiring(
            "view", lambda params, lang: alerts_callbacks.page(data, settings, params, lang)
        ),
        "/targets": requiring(
            "view", lambda params, lang: targets_callbacks.page(data, settings, params, lang)
        ),
        "/admin": lambda params, lang: admin_callbacks.users_page(data, settings, params, lang),
        "/admin/users": lambda params, lang: admin_callbacks.users_page(data, settings, params, lang),
        "/admin/kiosk": lambda params, lang: admin_callbacks.kiosk_page(data, settings, params, lang),
        "/admin/audit": lambda params, lang: admin_callbacks.audit_page(data, settings, params, lang),
    }

    def shell() -> Any:
        return common.shell(health.check(settings, datetime.now(UTC)), maps.attributions())

    app.layout = shell
    registered = {
        **router.register(app, pages, settings, maps.attributions),
        **wall_callbacks.register(app, wall),
        **operator_callbacks.register(app, data, maps, settings),
        **alerts_callbacks.register(app, data, settings),
        **targets_callbacks.register(app, data, settings),
        **admin_callbacks.register(app, data, settings),
    }
    gate.allow_scripts(app.csp_hashes())  # after every callback: clientside ones are inline scripts
    app._ioc_data = data  # type: ignore[attr-defined]  # tests close its pool
    app._ioc_callbacks = registered  # type: ignore[attr-defined]  # tests call them directly
    return app
