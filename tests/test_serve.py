"""``ioc serve``: the dashboard under gunicorn answers /healthz from the real database and Redis."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import store
from bench.signed_in import sign_in
from ingest.sink import Accepted, write_batch
from ioc.settings import Settings
from tests.events import decoded, event_json
from tests.fix_auth import PASSWORD, ensure_user
from tests.net import free_port
from tests.test_ingest import prepare
from tests.test_sink import TZ


@contextmanager
def serving(env: dict[str, str]) -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "ioc", "serve", "--port", str(port), "--workers", "2"],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                get(f"{base}/healthz")
                break
            except (urllib.error.URLError, ConnectionError):
                assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.2)
        yield base
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(
            urllib.request.Request(url, headers=headers or {}), timeout=10
        ) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_health_follows_the_data(settings: Settings, timescale_url: str):
    prepare(timescale_url)
    with serving({"IOC_DATABASE_URL": timescale_url, "IOC_STALE_AFTER_S": "600"}) as base:
        code, body = get(f"{base}/healthz")
        report = json.loads(body)
        assert (code, report["status"], report["database"], report["redis"]) == (200, "stale", "ok", "ok")
        assert report["latest_event_at"] is None  # nothing yet: stale, never "ok"
        recent = datetime.now(UTC) - timedelta(seconds=30)
        with store.connect(timescale_url, autocommit=True) as conn, conn.transaction():
            write_batch(conn, [Accepted(decoded(event_json("submitted", "HS-1", recent)), "t/0/0")], [], TZ)
        report = json.loads(get(f"{base}/healthz")[1])
        assert report["status"] == "ok"
        assert 25 <= report["data_age_s"] < 120
        code, page = get(f"{base}/")  # redirected to the sign-in page
        assert code == 200
        assert 'lang="vi"' in page.decode()
        assert "Đăng nhập" in page.decode()
        assert get(f"{base}/_dash-layout")[0] == 401
        ensure_user(timescale_url, "serve-admin")
        port = int(base.rsplit(":", 1)[1])
        headers = sign_in("127.0.0.1", port, "serve-admin", PASSWORD)
        code, layout = get(f"{base}/_dash-layout", headers)
        assert code == 200
        assert "Hoạt động bình thường" in layout.decode()  # the status page, in Vietnamese


def test_health_says_down_without_the_database(settings: Settings):
    unreachable = f"postgresql://ioc@127.0.0.1:{free_port()}/ioc"
    with serving({"IOC_DATABASE_URL": unreachable}) as base:
        code, body = get(f"{base}/healthz")
        assert code == 503
        assert json.loads(body)["status"] == "down"
