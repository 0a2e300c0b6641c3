"""Prometheus metrics of the dashboard, at ``/metrics`` for a scraper holding ``IOC_METRICS_TOKEN``.

ioc_dashboard_requests_total{group,status}   answers by route group (page, callback, geo, static,
                                             signin, health) and status class (2xx, 3xx, 4xx, 5xx)
ioc_dashboard_request_seconds{group}         histogram of the time to answer
ioc_dashboard_sign_ins_total{via,outcome}    sign-in attempts: via password | oidc, outcome
                                             success | refused | throttled | expired_form | error

``/metrics`` needs no session (``guard.PUBLIC_PATHS``) but answers only a request carrying
``Authorization: Bearer <IOC_METRICS_TOKEN>`` (401 otherwise), and 404 while the setting is empty.

gunicorn's workers are separate processes: ``ioc serve`` gives them a private folder in
``PROMETHEUS_MULTIPROC_DIR`` before they fork (``multiprocess_dir``), each worker writes its counts
there and ``/metrics``, whichever worker answers it, adds up every worker's. Without that variable
(a single process, the tests) each app counts in its own registry.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from types import TracebackType
from typing import Any

import flask
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
    values,
)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
PATH = "/metrics"
GROUPS = ("page", "callback", "geo", "static", "signin", "health")
SECONDS_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None] | None
StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def group(path: str) -> str:
    """The route group of a request path (a few values, whatever the paths asked)."""
    if path == "/_dash-update-component":
        return "callback"
    if path.startswith("/geo/"):
        return "geo"
    if path.startswith(("/assets/", "/_dash-component-suites/")) or path == "/_favicon.ico":
        return "static"
    if path in {"/signin", "/signout"} or path.startswith(("/signin/", "/kiosk/")):
        return "signin"
    if path in {"/healthz", PATH}:
        return "health"
    return "page"


def sign_in_attempt(method: str, path: str, status: int) -> tuple[str, str] | None:
    """(via, outcome) when the request was a sign-in attempt: the form's POST, or the identity
    server's redirect back."""
    if method == "POST" and path == "/signin":
        via = "password"
    elif method == "GET" and path == "/signin/oidc/callback":
        via = "oidc"
    else:
        return None
    if 300 <= status < 400:  # redirected to the page asked for
        outcome = "success"
    elif status == 429:
        outcome = "throttled"
    elif status == 400:  # the form's CSRF token or the OIDC state expired
        outcome = "expired_form"
    elif status < 500:
        outcome = "refused"
    else:
        outcome = "error"
    return via, outcome


def multiprocess_dir() -> tuple[Path, bool]:
    """Make the workers about to fork count into one folder: ``PROMETHEUS_MULTIPROC_DIR`` if set
    (emptied of a previous run's files), else a new private temporary folder. Returns it and
    whether it was made here (then the caller removes it at the end)."""
    given = os.environ.get(MULTIPROC_ENV, "").strip()
    if given:
        directory, made = Path(given), False
        directory.mkdir(parents=True, exist_ok=True)
        for old in directory.glob("*.db"):
            old.unlink()
    else:
        directory, made = Path(tempfile.mkdtemp(prefix="ioc-dashboard-metrics-")), True
        os.environ[MULTIPROC_ENV] = str(directory)
    # prometheus_client chose its value class when first imported (before the variable was set):
    # choose again, so that metrics made in the workers write to the folder.
    values.ValueClass = values.MultiProcessValue()  # type: ignore[no-untyped-call]
    return directory, made


def remove_dir(directory: Path) -> None:
    shutil.rmtree(directory, ignore_errors=True)


class DashboardMetrics:
    def __init__(self, token: str) -> None:
        self._token = token
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "ioc_dashboard_requests",
            "Answers by route group and status class.",
            ["group", "status"],
            registry=r,
        )
        self.seconds = Histogram(
            "ioc_dashboard_request_seconds",
            "Time to answer, by route group.",
            ["group"],
            buckets=SECONDS_BUCKETS,
            registry=r,
        )
        self.sign_ins = Counter(
            "ioc_dashboard_sign_ins", "Sign-in attempts by way and outcome.", ["via", "outcome"], registry=r
        )

    def register(self, server: flask.Flask) -> None:
        """The ``/metrics`` route, and the counting of every request around the whole app (so that
        answers the guard gives before any route, 401 and 403, are counted too)."""
        server.add_url_rule(PATH, "metrics", self.view)
        server.wsgi_app = self.wrap(server.wsgi_app)  # type: ignore[method-assign,assignment]

    def wrap(self, app: WsgiApp) -> WsgiApp:
        def counted(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
            started = time.perf_counter()
            status = [500]

            def recording(status_line: str, headers: list[tuple[str, str]], exc_info: ExcInfo = None) -> Any:
                status[0] = int(status_line.split(" ", 1)[0])
                return start_response(status_line, headers, exc_info)

            try:
                return app(environ, recording)
            finally:
                self.record(
                    str(environ.get("REQUEST_METHOD", "GET")),
                    str(environ.get("PATH_INFO", "/")),
                    status[0],
                    time.perf_counter() - started,
                )

        return counted

    def record(self, method: str, path: str, status: int, seconds: float) -> None:
        kind = group(path)
        self.requests.labels(kind, f"{status // 100}xx").inc()
        self.seconds.labels(kind).observe(seconds)
        attempt = sign_in_attempt(method, path, status)
        if attempt is not None:
            self.sign_ins.labels(*attempt).inc()

    def view(self) -> flask.Response:
        if not self._token:
            flask.abort(404)
        sent = flask.request.headers.get("Authorization", "")
        if not secrets.compare_digest(sent.encode(), f"Bearer {self._token}".encode()):
            return flask.Response(
                "metrics need Authorization: Bearer <IOC_METRICS_TOKEN>\n",
                401,
                {"WWW-Authenticate": 'Bearer realm="metrics"', "Content-Type": "text/plain"},
            )
        return flask.Response(generate_latest(self._collected()), 200, {"Content-Type": CONTENT_TYPE_LATEST})

    def _collected(self) -> CollectorRegistry:
        """Every worker's counts when they share a folder, else this app's own."""
        if not os.environ.get(MULTIPROC_ENV):
            return self.registry
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return registry
