"""Prometheus metrics of the alert engine (``ioc alerts --metrics-port``) and of the dashboard
(``/metrics`` with ``IOC_METRICS_TOKEN``), against the real stack; the dashboard's also under
gunicorn, where every worker's counts add up."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import pytest
from dash import Dash
from prometheus_client.parser import text_string_to_metric_families

from dashboard import guard
from dashboard.metrics import MULTIPROC_ENV, group, sign_in_attempt
from ioc.settings import Settings
from tests import test_alerts_engine as ae
from tests import test_dashboard_fixtures as fx
from tests.fix_auth import anonymous
from tests.net import free_port
from tests.test_alerts_engine import applications, in_state, save_targets, target
from tests.test_dashboard_fixtures import DashStore
from tests.test_ingest import wait_for
from tests.test_serve import get, serving

dash_store = fx.dash_store  # fixtures shared by the dashboard tests
make_app = fx.make_app
alert_env = ae.alert_env  # and by the alert engine's
receiver = ae.receiver
refdata = ae.refdata
ingest = ae.ingest

TOKEN = "scrape-token-0123456789abcdef"
BEARER = {"Authorization": f"Bearer {TOKEN}"}


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a scrape by name and sorted labels."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(text: str, name: str, **labels: str) -> float:
    return samples(text).get((name, tuple(sorted(labels.items()))), 0.0)


# --- pure ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("/", "page"),
        ("/wall", "page"),
        ("/_dash-layout", "page"),
        ("/_dash-update-component", "callback"),
        ("/geo/01.json", "geo"),
        ("/assets/ioc.css", "static"),
        ("/_dash-component-suites/dash/dcc/x.js", "static"),
        ("/signin", "signin"),
        ("/kiosk/abc", "signin"),
        ("/healthz", "health"),
        ("/metrics", "health"),
        ("/no/such/page", "page"),
    ],
)
def test_requests_are_grouped_by_route(path: str, kind: str):
    assert group(path) == kind


def test_sign_in_outcomes_come_from_the_answer():
    assert sign_in_attempt("POST", "/signin", 302) == ("password", "success")
    assert sign_in_attempt("POST", "/signin", 401) == ("password", "refused")
    assert sign_in_attempt("POST", "/signin", 429) == ("password", "throttled")
    assert sign_in_attempt("POST", "/signin", 400) == ("password", "expired_form")
    assert sign_in_attempt("GET", "/signin/oidc/callback", 302) == ("oidc", "success")
    assert sign_in_attempt("GET", "/signin", 200) is None  # the form, not an attempt
    assert "/metrics" in guard.PUBLIC_PATHS


# --- the dashboard, in process ---------------------------------------------------------------------


def with_token(store: DashStore, token: str) -> Settings:
    return replace(store.settings, auth=replace(store.settings.auth, metrics_token=token))


def test_dashboard_metrics_need_the_token_and_count_requests_and_sign_ins(
    dash_store: DashStore, make_app: Callable[[Settings], Dash], monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.delenv(MULTIPROC_ENV, raising=False)
    app = make_app(with_token(dash_store, TOKEN))
    stranger = anonymous(app)
    assert stranger.get("/metrics").status_code == 401  # no session needed, but the token is
    assert stranger.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert stranger.get("/").status_code == 302  # to the sign-in page
    assert stranger.get("/geo/01.json").status_code == 401
    refused = stranger.post("/signin", data={"username": "nobody", "password": "x"})
    assert refused.status_code == 400  # no CSRF token: the form expired
    signed = app.server.test_client()
    assert signed.get("/_dash-layout").status_code == 200
    assert signed.get("/healthz").status_code == 200

    answer = stranger.get("/metrics", headers=BEARER)
    assert answer.status_code == 200
    assert answer.content_type.startswith("text/plain")
    text = answer.get_data(as_text=True)
    assert value(text, "ioc_dashboard_requests_total", group="page", status="3xx") == 1
    assert value(text, "ioc_dashboard_requests_total", group="page", status="2xx") == 1
    assert value(text, "ioc_dashboard_requests_total", group="geo", status="4xx") == 1
    assert value(text, "ioc_dashboard_requests_total", group="health", status="4xx") == 2
    assert value(text, "ioc_dashboard_requests_total", group="health", status="2xx") == 1
    assert value(text, "ioc_dashboard_request_seconds_count", group="page") == 2
    assert value(text, "ioc_dashboard_sign_ins_total", via="password", outcome="expired_form") == 1


def test_without_a_token_there_is_no_metrics_page(
    dash_store: DashStore, make_app: Callable[[Settings], Dash], monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.delenv(MULTIPROC_ENV, raising=False)
    app = make_app(with_token(dash_store, ""))
    assert anonymous(app).get("/metrics", headers={"Authorization": "Bearer "}).status_code == 404
    assert app.server.test_client().get("/metrics").status_code == 404  # signed in or not


def test_token_from_a_file(tmp_path: Path):
    secret = tmp_path / "token"
    secret.write_text(TOKEN + "\n")
    assert Settings.from_env({"IOC_METRICS_TOKEN_FILE": str(secret)}).auth.metrics_token == TOKEN
    assert TOKEN not in repr(Settings.from_env({"IOC_METRICS_TOKEN": TOKEN}))


# --- the dashboard under gunicorn ------------------------------------------------------------------


def test_every_workers_counts_add_up_under_gunicorn(dash_store: DashStore, tmp_path: Path):
    folder = tmp_path / "prometheus"
    folder.mkdir()
    (folder / "counter_1.db").write_bytes(b"left by an earlier run")  # removed at start
    env = {"IOC_DATABASE_URL": dash_store.url, "IOC_METRICS_TOKEN": TOKEN, MULTIPROC_ENV: str(folder)}
    asked = 60
    with serving(env) as base:
        assert get(f"{base}/metrics")[0] == 401
        with ThreadPoolExecutor(12) as pool:
            codes = list(pool.map(lambda _: get(f"{base}/geo/01.json")[0], range(asked)))
        assert codes == [401] * asked
        workers = {path.stem.rsplit("_", 1)[1] for path in folder.glob("counter_*.db")}
        assert len(workers) == 2, workers  # both workers answered some
        for _ in range(4):  # whichever worker answers the scrape adds up both
            code, body = get(f"{base}/metrics", BEARER)
            assert code == 200
            assert value(body.decode(), "ioc_dashboard_requests_total", group="geo", status="4xx") == asked
            assert value(body.decode(), "ioc_dashboard_request_seconds_count", group="geo") == asked


def test_serve_uses_a_private_folder_removed_at_the_end(dash_store: DashStore):
    before = set(Path(os.environ.get("TMPDIR", "/tmp")).glob("ioc-dashboard-metrics-*"))
    env = {"IOC_DATABASE_URL": dash_store.url, "IOC_METRICS_TOKEN": TOKEN, MULTIPROC_ENV: ""}
    with serving(env) as base:
        get(f"{base}/healthz")
        code, body = get(f"{base}/metrics", BEARER)
        assert code == 200
        assert value(body.decode(), "ioc_dashboard_requests_total", group="health", status="2xx") >= 2
        during = set(Path(os.environ.get("TMPDIR", "/tmp")).glob("ioc-dashboard-metrics-*"))
        assert len(during - before) == 1
    after = set(Path(os.environ.get("TMPDIR", "/tmp")).glob("ioc-dashboard-metrics-*"))
    assert after == before


# --- the alert engine ------------------------------------------------------------------------------


def test_alert_engine_metrics_after_an_evaluation(settings, alert_env, ingest, receiver, tmp_path):
    url, topic = alert_env["IOC_DATABASE_URL"], alert_env["IOC_TOPIC"]
    name = "metrics firing"
    save_targets(url, target(name, min_volume=10, unit="00002"))
    applications(settings, topic, online=1, in_person=19, unit="00002")  # 5 % online: fires
    port = free_port()
    log = tmp_path / "alerts.log"
    with log.open("w") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "ioc", "alerts", "--metrics-port", str(port)],
            env=alert_env,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    try:
        wait_for(lambda: in_state(url, name, "firing", unit="00002"), 60, "the alert to fire")
        wait_for(lambda: len(receiver.raw) == 1, 30, "the webhook")

        def scrape() -> str:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as answer:
                return str(answer.read().decode())

        wait_for(lambda: value(scrape(), "ioc_alerts_notifications", state="delivered") == 1, 30, "a refresh")
        text = scrape()
        assert value(text, "ioc_alerts_evaluations_total", kind="full", outcome="ok") >= 1
        assert value(text, "ioc_alerts_evaluation_seconds_count", kind="full") >= 1
        assert value(text, "ioc_alerts_targets_evaluated_total") >= 1
        assert value(text, "ioc_alerts_last_evaluation_timestamp_seconds", kind="full") > 0
        assert value(text, "ioc_alerts_states", state="firing") == 1
        assert value(text, "ioc_alerts_webhooks_delivered_total") == 1
        assert value(text, "ioc_alerts_notifications", state="pending") == 0
        assert value(text, "ioc_alerts_notifications", state="given_up") == 0
        assert value(text, "ioc_alerts_webhook_failed_attempts") == 0
        assert value(text, "ioc_alerts_active") == 1
        assert value(text, "ioc_alerts_database_up") == 1
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    assert proc.returncode == 0, log.read_text()
