"""``ioc bench dashboard`` keeps working: tiny sizes here (the figures come from full runs), the real
dashboard under gunicorn, headless chromium (installed like the browser tests' own)."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg

from dashboard import scenes
from ioc.settings import Settings

REPEAT = 3
WALLS = 5
REDIS_DB = 15  # neither the browser tests' (13) nor the benchmark's default (14)
MAP, TABLE, TREND = "op-map.figure", "op-table.children", "op-series.figure"
PARTS = ("map_update", "trend", "by_agency", "by_procedure")


def bench_dashboard(*args: str) -> subprocess.CompletedProcess[str]:
    """``ioc bench dashboard`` as a user runs it (a loaded machine may take a minute or two)."""
    return subprocess.run(
        [sys.executable, "-m", "ioc", "bench", "dashboard", *args],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


def test_bench_dashboard_measures_callbacks_first_loads_and_walls(
    settings: Settings, chromium: tuple[str, str], tmp_path: Path
) -> None:
    database = f"ioc_test_bench_{uuid.uuid4().hex[:8]}"  # never a database someone keeps
    run = bench_dashboard(
        "--events", "20000", "--period", "month", "--repeat", str(REPEAT),
        "--walls", str(WALLS), "--duration", "3", "--fresh-database", database,
        "--redis-db", str(REDIS_DB), "--results", str(tmp_path),
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    figures = json.loads(run.stdout)
    (saved,) = tmp_path.glob("dashboard-*.json")
    assert json.loads(saved.read_text(encoding="utf-8")) == figures
    assert figures["data"]["events"] > 10_000

    operator = figures["callbacks"]["operator"]
    assert {MAP, TABLE} <= set(operator["map_update"]["covers"])
    assert TREND not in operator["map_update"]["covers"]  # the map does not wait for the trend
    assert operator["trend"]["covers"] == [TREND]
    assert operator["by_agency"]["covers"] == ["op-by-agency.children"]
    for part in PARTS:
        assert [view["period"] for view in operator[part]["views"]] == ["month"]
    (together,) = operator["all_parts_at_once"]
    assert together["period"] == "month"
    assert all(together["miss_ms"][part]["count"] == REPEAT for part in PARTS)
    wall = figures["callbacks"]["wall_refresh"]
    assert "wall-map.figure" in wall["covers"]
    assert len(wall["scenes"]) == len(scenes.load(settings.wall_scenes))
    views = [view for part in PARTS for view in operator[part]["views"]]
    for measured in [*views, *wall["scenes"]]:
        for latency in (measured["miss_ms"], measured["hit_ms"]):
            assert latency["count"] == REPEAT
            assert 0 < latency["p50"] <= latency["p95"] <= latency["max"]
    assert any(verdict["figure"].startswith("operator map update (month)") for verdict in figures["targets"])

    for path in ("/wall", "/"):
        weight = figures["first_load"][path]
        assert weight["transfer_bytes"] > 0
        assert weight["decoded_bytes"] > weight["transfer_bytes"]  # gzip on the wire
        assert {"document", "scripts", "callbacks", "map_geometry"} <= set(weight["by_kind"])

    walls = figures["walls"]
    assert walls["walls"] == WALLS
    assert walls["errors"] == 0, walls["error_samples"]
    assert walls["ticks_due"] >= WALLS  # each wall's first tick falls in its first interval
    assert 0 < walls["ticks_sent"] <= walls["ticks_due"]
    assert walls["by_callback"]["refresh"]["count"] >= WALLS  # the first tick sets each wall's state
    assert walls["requests_per_s"] > 0

    assert all(isinstance(verdict["met"], bool) for verdict in figures["targets"])
    assert "figure" in run.stderr  # the table of targets
    with psycopg.connect(settings.database_url) as conn:
        left = conn.execute("SELECT count(*) FROM pg_database WHERE datname = %s", (database,)).fetchone()
    assert left == (0,)
