"""The Dash app factory: ``create_app(settings)`` builds the app; its Flask server is the WSGI app.

Nothing a request needs is kept in a worker's memory: every page reads PostgreSQL (through the
Redis cache), so any number of workers can serve any request. ``/healthz`` answers without
Dash: 200 while the database answers (``ok``, ``stale`` or ``degraded``), 503 when it does not.
"""

from __future__ import annotations

from datetime import UTC, datetime

import dash
import flask

from dashboard import health
from ioc.settings import Settings
from layouts import status

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
    )
    server: flask.Flask = app.server
    app.index_string = INDEX

    @server.get("/healthz")
    def healthz() -> tuple[flask.Response, int]:
        report = health.check(settings, datetime.now(UTC))
        return flask.jsonify(report.as_dict()), 503 if report.status == "down" else 200

    def page() -> object:
        return status.layout(health.check(settings, datetime.now(UTC)), settings)

    app.layout = page
    return app
