"""``ioc bench ingest``: events per second from Kafka into the store, on this machine.

One run: the simulator writes ``events`` events (its normal mix, no faults) to a fresh
topic; then, for each consumer count, that many ``bench.worker`` processes (the real
ingest) read the whole topic into a fresh database, and the run measures events/s,
batch commit latency (p50, p99) and the consumers' peak memory; last, ``bench.naive``
(one autocommitted INSERT per event) reads the first ``naive_events`` for comparison.
The figures are printed and saved as JSON under ``bench/results/``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from statistics import quantiles
from typing import Any

from kafka import KafkaAdminClient
from psycopg import sql

import store
from bench.common import RESULTS_DIR, drop_database, fresh_database, machine
from ingest.kafka_options import kafka_client_options
from ingest.topics import ensure_topic
from ioc.settings import Settings
from refdata.files import default_dir, read_dir
from simulate.produce import produce
from simulate.stream import DEFAULT_RATE

STALL_S = 120.0  # no progress for this long fails the run
POLL_S = 0.5

Say = Callable[[str], None]


@dataclass(frozen=True)
class BenchOptions:
    events: int = 1_000_000
    consumers: tuple[int, ...] = (1, 2)
    naive_events: int = 50_000
    partitions: int = 6
    batch_size: int = 2000
    seed: int = 7
    profile: bool = False  # profile the first ingest run's consumer (cProfile)


@dataclass(frozen=True)
class Consumed:
    """What one measured run did."""

    label: str
    processes: int
    events: int
    wall_s: float  # from starting the processes to the last event stored
    busy_s: float  # from the first batch's start to the last batch's end
    batches: int
    commit_p50_ms: float
    commit_p99_ms: float
    peak_rss_mb: float  # the largest of the processes

    @property
    def events_per_s(self) -> float:
        return self.events / self.busy_s if self.busy_s else 0.0


def run(settings: Settings, options: BenchOptions, say: Say) -> dict[str, Any]:
    """The whole benchmark (see the module docstring); returns the figures."""
    started = datetime.now(UTC)
    topic = f"bench.events.{started:%Y%m%dT%H%M%S}"
    ensure_topic(
        settings.kafka_bootstrap, topic, partitions=options.partitions, security=settings.kafka_security
    )
    refdata = read_dir(default_dir())
    say(f"producing {options.events:,} simulated events to {topic} ({options.partitions} partitions)")
    clock = time.monotonic()
    summary = produce(
        refdata,
        bootstrap=settings.kafka_bootstrap,
        security=settings.kafka_security,
        topic=topic,
        tz=settings.timezone,
        seed=options.seed,
        history_days=7 + 1.5 * options.events / (DEFAULT_RATE * 86_400),  # weekends are quiet
        count=options.events,
    )
    produce_s = time.monotonic() - clock
    say(f"produced {summary.sent:,} events in {produce_s:.0f} s")
    runs: list[Consumed] = []
    try:
        for processes in options.consumers:
            label = f"ingest-{processes}"
            profile = options.profile and not runs
            runs.append(
                _measure(
                    settings,
                    topic,
                    options,
                    say,
                    label=label,
                    processes=processes,
                    events=options.events,
                    profile=profile,
                )
            )
        naive = _measure(
            settings, topic, options, say, label="naive", processes=1, events=options.naive_events
        )
    finally:
        _delete_topic(settings, topic)
    single = next((r for r in runs if r.processes == 1), runs[0])
    return {
        "benchmark": "ingest",
        "started": started.isoformat(timespec="seconds"),
        "machine": machine(settings),
        "options": asdict(options),
        "produced": {"events": summary.sent, "seconds": round(produce_s, 1), "by_type": dict(summary.events)},
        "runs": [_figures(r) for r in [*runs, naive]],
        "ratio_to_naive": round(single.events_per_s / naive.events_per_s, 1),
    }


def _measure(
    settings: Settings,
    topic: str,
    options: BenchOptions,
    say: Say,
    *,
    label: str,
    processes: int,
    events: int,
    profile: bool = False,
) -> Consumed:
    database_url = fresh_database(settings, f"ioc_bench_{label.replace('-', '_')}")
    env = {**os.environ, "IOC_DATABASE_URL": database_url, "IOC_TOPIC": topic}
    module = "bench.naive" if label == "naive" else "bench.worker"
    with tempfile.TemporaryDirectory(prefix="ioc-bench-") as tmp:
        reports = [Path(tmp) / f"{label}-{i}.json" for i in range(processes)]
        commands = [
            [sys.executable, "-m", module, "--group", f"{topic}.{label}", "--report", str(report)]
            for report in reports
        ]
        if module == "bench.worker":
            for command in commands:
                command += ["--batch-size", str(options.batch_size)]
        if profile:
            RESULTS_DIR.mkdir(parents=True, exist_ok=True)
            profile_path = RESULTS_DIR / f"ingest-{topic.rsplit('.', 1)[-1]}.profile.txt"
            commands[0] += ["--profile", str(profile_path)]
        say(f"{label}: {processes} process(es) reading {events:,} events")
        clock = time.monotonic()
        children = [subprocess.Popen(c, env=env) for c in commands]  # noqa: S603 - our own modules
        try:
            stored = _wait_for(database_url, events, children, say, label)
        finally:
            for child in children:
                child.send_signal(signal.SIGTERM)
            for child in children:
                child.wait(timeout=120)
        wall = time.monotonic() - clock
        batches: list[tuple[float, float, int]] = []
        peak = 0.0
        for report in reports:
            data = json.loads(report.read_text())
            batches += [tuple(b) for b in data["batches"]]
            peak = max(peak, data["peak_rss_mb"])
    drop_database(settings, database_url)
    batches.sort()
    busy = batches[-1][0] - (batches[0][0] - batches[0][1]) if batches else 0.0
    cuts = quantiles([b[1] for b in batches], n=100, method="inclusive") if len(batches) > 1 else [0.0] * 99
    result = Consumed(
        label=label,
        processes=processes,
        events=stored,
        wall_s=wall,
        busy_s=busy,
        batches=len(batches),
        commit_p50_ms=cuts[49] * 1000,
        commit_p99_ms=cuts[98] * 1000,
        peak_rss_mb=peak,
    )
    say(
        f"{label}: {result.events_per_s:,.0f} events/s, commit p50 {result.commit_p50_ms:.0f} ms "
        f"p99 {result.commit_p99_ms:.0f} ms, peak RSS {peak:.0f} MB"
    )
    return result


def _wait_for(
    database_url: str, target: int, children: Sequence[subprocess.Popen[bytes]], say: Say, label: str
) -> int:
    """Wait until ``target`` records are stored (events or dead letters); return how many."""
    count = sql.SQL("SELECT (SELECT count(*) FROM event_ids) + (SELECT count(*) FROM dead_letters)")
    last, progressed, reported = -1, time.monotonic(), time.monotonic()
    with store.connect(database_url, autocommit=True) as conn:
        while True:
            row = conn.execute(count).fetchone()
            stored = int(row[0]) if row else 0  # type: ignore[call-overload]
            if stored >= target:
                return stored
            if stored != last:
                last, progressed = stored, time.monotonic()
            if any(child.poll() is not None for child in children):
                msg = f"{label}: a consumer process exited early"
                raise RuntimeError(msg)
            if time.monotonic() - progressed > STALL_S:
                msg = f"{label}: no progress for {STALL_S:.0f} s at {stored:,} events"
                raise RuntimeError(msg)
            if time.monotonic() - reported > 10:
                say(f"{label}: {stored:,} / {target:,}")
                reported = time.monotonic()
            time.sleep(POLL_S)


def _delete_topic(settings: Settings, topic: str) -> None:
    admin = KafkaAdminClient(
        bootstrap_servers=list(settings.kafka_bootstrap),
        client_id="ioc-bench",
        **kafka_client_options(settings),
    )
    try:
        admin.delete_topics([topic])
    finally:
        admin.close()


def _figures(run: Consumed) -> dict[str, Any]:
    return {
        **asdict(run),
        "wall_s": round(run.wall_s, 1),
        "busy_s": round(run.busy_s, 1),
        "events_per_s": round(run.events_per_s),
        "commit_p50_ms": round(run.commit_p50_ms, 1),
        "commit_p99_ms": round(run.commit_p99_ms, 1),
    }
