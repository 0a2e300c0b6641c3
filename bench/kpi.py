"""``ioc bench kpi``: how fast the KPI queries answer over a province's simulated history.

One run: a fresh database gets about ``events`` simulated events of one province, from the first
of January to now, written through the real sink (``ingest.sink.write_batch``, batches of
5,000; Kafka is measured by ``ioc bench ingest``, not here). Then the children-of-the-province
query answers month to date and year to date ``repeat`` times straight from PostgreSQL (cache
misses), and as many times from the Redis cache (hits); the figures are p50/p95 latencies.
A kept database can be reused, and topped up to ``events`` with applications of the next seed.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from statistics import quantiles
from typing import Any

import psycopg

import store
from bench.common import drop_database, fresh_database, kept_database, machine
from ingest.contract import Decoded, decode
from ingest.sink import Accepted, write_batch
from ioc.settings import Settings
from kpi import periods, queries
from kpi.cache import KpiCache
from kpi.model import KpiValue, Period
from refdata.files import default_dir, read_dir
from refdata.model import ReferenceData
from simulate.stream import messages, prepare

Say = Callable[[str], None]
BATCH = 5000


@dataclass(frozen=True)
class KpiBenchOptions:
    events: int = 1_000_000
    province: str = "01"
    repeat: int = 30
    seed: int = 7
    keep: bool = False  # keep the database for more questions
    reuse: bool = False  # measure the database an earlier run kept, migrated, instead of loading one
    top_up: bool = False  # with reuse: first add events, under the next seed, until it holds `events`
    database: str = "ioc_bench_kpi"


def run(settings: Settings, options: KpiBenchOptions, say: Say) -> dict[str, Any]:
    started = datetime.now(UTC)
    now = datetime.now(settings.timezone).replace(second=0, microsecond=0)
    full = read_dir(default_dir())
    database = options.database
    url = kept_database(settings, database) if options.reuse else fresh_database(settings, database)
    try:
        if options.reuse:
            loaded = _counted(url)
            say(f"reusing {database}: {loaded['events']:,} events, {loaded['applications']:,} applications")
            missing = options.events - loaded["events"]
            if options.top_up and missing > 0:
                more = replace(options, events=missing, seed=options.seed + 1)  # other seed, other ids
                loaded = _load(settings, url, _province(full, options.province), more, now=now, say=say)
        else:
            loaded = _load(settings, url, _province(full, options.province), options, now=now, say=say)
        catalog = queries.Catalog.of(full)
        cache = KpiCache(settings.redis_url, prefix=f"ioc:bench:{started:%H%M%S}:")
        figures = []
        with store.connect(url, autocommit=True) as conn:
            conn.execute("VACUUM (ANALYZE)")  # the state autovacuum keeps a live store in (migration 0015)
            for name in ("month", "year"):
                period = periods.named(name, now.date())
                miss, hit = _measure(conn, catalog, cache, options, period, now=now, tz=settings.timezone)
                figures.append({"period": name, "miss_ms": miss, "hit_ms": hit})
                say(
                    f"{name} to date: miss p50 {miss['p50']} / p95 {miss['p95']} ms"
                    f" (server CPU p95 {miss.get('server_cpu_p95', '?')} ms), hit p95 {hit['p95']} ms"
                    f" (load average {miss['load_average']})"
                )
        cache.close()
    finally:
        if not (options.keep or options.reuse):
            drop_database(settings, url)
    return {
        "benchmark": "kpi",
        "started": started.isoformat(timespec="seconds"),
        "machine": machine(settings),
        "options": asdict(options),
        "data": loaded,
        "children_of_province": figures,
    }


def _measure(
    conn: psycopg.Connection[tuple[object, ...]],
    catalog: queries.Catalog,
    cache: KpiCache,
    options: KpiBenchOptions,
    period: Period,
    *,
    now: datetime,
    tz: tzinfo,
) -> tuple[dict[str, float], dict[str, float]]:
    """Latencies of the children-of-the-province question: from PostgreSQL, then from Redis."""

    def ask() -> dict[str, dict[str, KpiValue]]:
        return queries.children_values(conn, catalog, options.province, period, now=now, tz=tz)

    question = {"unit": options.province, "period": [str(period.start), str(period.end)], "now": str(now)}
    miss = _timed(ask, options.repeat, lambda: _server_cpu_s(conn))
    cache.answer(question, ask)
    return miss, _timed(lambda: cache.answer(question, ask), options.repeat)


def _province(full: ReferenceData, code: str) -> ReferenceData:
    return full.within({code})


def _load(
    settings: Settings, url: str, data: ReferenceData, options: KpiBenchOptions, *, now: datetime, say: Say
) -> dict[str, Any]:
    """Simulate the year so far and write it through the sink; returns counts and time."""
    days = max((now.date() - now.date().replace(month=1, day=1)).days, 1)
    rate = options.events / (days * 86_400)  # the simulator's rate is the weekly mean
    plan = prepare(data, seed=options.seed, now=now, history_days=days, rate=rate, tz=settings.timezone)
    clock, stored, batch = time.monotonic(), 0, []
    far = now + timedelta(days=1)
    with store.connect(url, autocommit=True) as conn:
        for n, message in enumerate(messages(plan)):  # all of it: the history must reach now
            outcome = decode(message.value, now=far, unit_codes=data.unit_codes)
            if isinstance(outcome, Decoded):
                batch.append(Accepted(outcome, f"bench/0/{n}"))
            if len(batch) == BATCH:
                stored += _write(conn, batch, settings)
                batch = []
                if stored % 100_000 < BATCH:
                    say(f"{stored:,} events stored ({stored / (time.monotonic() - clock):,.0f}/s)")
        stored += _write(conn, batch, settings)
    return _counted(url) | {"load_seconds": round(time.monotonic() - clock, 1)}


def _counted(url: str) -> dict[str, Any]:
    with store.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM applications),"
            " (SELECT min(occurred_at) FROM events), (SELECT max(occurred_at) FROM events)"
        ).fetchone()
    events, applications, first, last = row if row else (0, 0, None, None)
    return {
        "events": events,
        "applications": applications,
        "first_event": str(first) if first else None,
        "last_event": str(last) if last else None,
    }


def _write(conn: psycopg.Connection[tuple[object, ...]], batch: list[Accepted], settings: Settings) -> int:
    if not batch:
        return 0
    with conn.transaction():
        return write_batch(conn, batch, [], settings.timezone).stored


def _timed(
    ask: Callable[[], object], repeat: int, cpu: Callable[[], float | None] = lambda: None
) -> dict[str, float]:
    """Wall-clock p50/p95/max in ms; with ``cpu``, also the server's CPU time per answer (which
    other work on a shared machine does not inflate)."""
    seconds, cpu_seconds = [], []
    for _ in range(repeat):
        started, cpu_started = time.perf_counter(), cpu()
        ask()
        seconds.append(time.perf_counter() - started)
        cpu_ended = cpu()
        if cpu_started is not None and cpu_ended is not None:
            cpu_seconds.append(cpu_ended - cpu_started)
    figures = _quantiles_ms(seconds)
    if cpu_seconds:
        figures |= {f"server_cpu_{k}": v for k, v in _quantiles_ms(cpu_seconds).items()}
    return figures | {"load_average": round(os.getloadavg()[0], 2)}


def _quantiles_ms(seconds: list[float]) -> dict[str, float]:
    cuts = quantiles(seconds, n=100, method="inclusive")  # never beyond the largest
    return {
        "p50": round(cuts[49] * 1000, 2),
        "p95": round(cuts[94] * 1000, 2),
        "max": round(max(seconds) * 1000, 2),
    }


def _server_cpu_s(conn: psycopg.Connection[tuple[object, ...]]) -> float | None:
    """The CPU time the connection's server process has used, when the server runs here."""
    try:
        fields = Path(f"/proc/{conn.info.backend_pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime
