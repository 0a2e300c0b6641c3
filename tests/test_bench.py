"""The benchmark commands keep working (tiny sizes here; the figures come from full runs)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from ioc.settings import Settings
from tests.test_cli import ioc


def test_bench_ingest_measures_both_ways(settings: Settings, tmp_path: Path):
    run = ioc(
        "bench", "ingest", "--events", "6000", "--consumers", "1", "--naive-events", "1000",
        "--results", str(tmp_path),
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    figures = json.loads(run.stdout)
    labels = [r["label"] for r in figures["runs"]]
    assert labels == ["ingest-1", "naive"]
    ingest, naive = figures["runs"]
    assert ingest["events"] == 6000
    assert naive["events"] >= 1000
    assert ingest["events_per_s"] > 0
    assert 0 < ingest["commit_p50_ms"] <= ingest["commit_p99_ms"]
    assert ingest["peak_rss_mb"] > 20
    assert figures["ratio_to_naive"] > 0
    (saved,) = tmp_path.glob("ingest-*.json")
    assert json.loads(saved.read_text(encoding="utf-8")) == figures


def test_bench_kpi_answers_from_the_database_and_the_cache(settings: Settings, tmp_path: Path):
    database = f"ioc_test_bench_{uuid.uuid4().hex[:8]}"  # never a database someone keeps
    options = ("--events", "10000", "--repeat", "5", "--database", database, "--results", str(tmp_path))
    run = ioc("bench", "kpi", *options)
    assert run.returncode == 0, run.stderr
    figures = json.loads(run.stdout)
    assert [p.name.startswith("kpi-") for p in tmp_path.iterdir()] == [True]
    assert figures["data"]["events"] > 5000
    assert [f["period"] for f in figures["children_of_province"]] == ["month", "year"]
    for measured in figures["children_of_province"]:
        assert measured["hit_ms"]["p95"] < measured["miss_ms"]["p95"]
