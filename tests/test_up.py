"""``ioc up``: the whole system from one command, stopped cleanly, resumed without a second backfill."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg

from bench.signed_in import sign_in
from ioc import system
from ioc.settings import Settings
from tests.net import free_port
from tests.test_ingest import count, wait_for
from tests.test_serve import get


def start(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    # A whole day of history at a low rate: some hundreds of events even for a night of Tết, where
    # a few hours before a night could hold fewer than ten.
    argv = [sys.executable, "-m", "ioc", "up", "--history-days", "1", "--rate", "0.1"]
    with log.open("w") as err:
        return subprocess.Popen(
            [*argv, "--port", str(port), "--workers", "1"], env=env, stdout=subprocess.DEVNULL, stderr=err
        )


def healthy(base: str) -> bool:
    try:
        return json.loads(get(f"{base}/healthz")[1])["status"] == "ok"
    except OSError:
        return False


def test_up_runs_everything_and_stops_cleanly(settings: Settings, timescale_url: str, topic: str, tmp_path):
    # Simulated nights and weekends are quiet: the newest event may be many minutes old.
    env = {**os.environ, "IOC_DATABASE_URL": timescale_url, "IOC_TOPIC": topic, "IOC_STALE_AFTER_S": "86400"}
    port = free_port()
    log = tmp_path / "up.log"
    system = start(env, port, log)
    try:
        wait_for(lambda: "dashboard started" in log.read_text(), 120, "the system to start")
        wait_for(lambda: "history sent" in log.read_text(), 180, "the backfill to be sent")
        wait_for(lambda: count(timescale_url, "events") > 100, 180, "the backfill to be ingested")
        wait_for(lambda: healthy(f"http://127.0.0.1:{port}"), 60, "the dashboard to report fresh data")
        printed = re.search(r"sign in as '(\S+)' with the password '(\S+)'", log.read_text())
        assert printed is not None, log.read_text()
        session = sign_in("127.0.0.1", port, printed[1], printed[2])  # the printed sign-in works
        assert get(f"http://127.0.0.1:{port}/_dash-layout", session)[0] == 200
    finally:
        system.send_signal(signal.SIGINT)
        system.wait(timeout=90)
    text = log.read_text()
    assert system.returncode == 0, text
    for part in ("simulate", "ingest", "dashboard"):
        assert f"{part} stopped" in text
    assert f"dashboard: http://127.0.0.1:{port}/" in text
    assert "--history-days 1 " in text

    stored = count(timescale_url, "events")
    again = start(env, port, tmp_path / "again.log")
    try:
        wait_for(lambda: "dashboard started" in (tmp_path / "again.log").read_text(), 120, "the second start")
        time.sleep(2)
    finally:
        again.send_signal(signal.SIGINT)
        again.wait(timeout=90)
    text = (tmp_path / "again.log").read_text()
    assert again.returncode == 0, text
    assert "--history-days" not in text  # the store had data: no second backfill
    with psycopg.connect(timescale_url) as conn:
        row = conn.execute("SELECT count(*), count(DISTINCT event_id) FROM events").fetchone()
    assert row is not None
    assert row[0] == row[1] >= stored


def test_without_the_simulator_only_ingest_alerts_and_the_dashboard_run():
    real = system.parts(simulate=False, history_days=90, rate=0.1, host="0.0.0.0", port=8050, workers=3)
    assert [part.name for part in real] == ["ingest", "alerts", "dashboard"]
    assert real[-1].args == ("serve", "--host", "0.0.0.0", "--port", "8050", "--workers", "3")
    demo = system.parts(
        simulate=True, history_days=0, rate=0.1, host="h", port=1, workers=1, scenario="backlog", seed=4
    )
    assert demo[0].args == ("simulate", "--rate", "0.1", "--scenario", "backlog", "--seed", "4")
