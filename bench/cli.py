"""``ioc bench``: benchmarks that print their figures and save them as JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from bench.common import RESULTS_DIR, save
from bench.dashboard import DashboardBenchOptions
from bench.dashboard import run as run_dashboard
from bench.dashboard import table as dashboard_table
from bench.ingest import BenchOptions, run
from bench.kpi import KpiBenchOptions
from bench.kpi import run as run_kpi
from ioc.errors import IocError
from ioc.settings import Settings
from kpi.periods import NAMES as PERIOD_NAMES

bench_app = typer.Typer(help="Measure this machine: figures printed and saved under bench/results/.")


def _say(line: str) -> None:
    typer.echo(f"ioc bench: {line}", err=True)


@bench_app.command("ingest")
def ingest(
    events: Annotated[int, typer.Option(min=1000, help="Simulated events to ingest.")] = 1_000_000,
    consumers: Annotated[
        list[int] | None, typer.Option(min=1, help="Consumer processes of a run; repeat for several runs.")
    ] = None,
    naive_events: Annotated[
        int, typer.Option(min=1000, help="Events for the one-INSERT-per-event comparison.")
    ] = BenchOptions.naive_events,
    partitions: Annotated[int, typer.Option(min=1, help="Partitions of the benchmark topic.")] = 6,
    batch_size: Annotated[int, typer.Option(min=1, help="Ingest batch size.")] = BenchOptions.batch_size,
    profile: Annotated[bool, typer.Option(help="Profile the first run's consumer (cProfile).")] = False,
    results: Annotated[Path, typer.Option(help="Folder the figures are saved in.")] = RESULTS_DIR,
) -> None:
    """Events/s from Kafka into the store with 1 and 2 consumers, against one INSERT per event."""
    options = BenchOptions(
        events=events,
        consumers=tuple(consumers or BenchOptions.consumers),
        naive_events=min(naive_events, events),
        partitions=partitions,
        batch_size=batch_size,
        profile=profile,
    )
    figures = run(Settings.from_env(), options, _say)
    path = save(figures, "ingest", results)
    typer.echo(json.dumps(figures, indent=2, ensure_ascii=False))
    _say(f"saved {path}")


@bench_app.command("kpi")
def kpi(
    events: Annotated[
        int, typer.Option(min=10_000, help="About this many simulated events, from January to now.")
    ] = 1_000_000,
    province: Annotated[str, typer.Option(help="Province code.")] = "01",
    repeat: Annotated[int, typer.Option(min=5, help="Questions per measurement.")] = 30,
    keep: Annotated[bool, typer.Option(help="Keep the database afterwards.")] = False,
    reuse: Annotated[
        bool, typer.Option(help="Measure the database a --keep run left (migrated), loading nothing.")
    ] = False,
    top_up: Annotated[
        bool, typer.Option(help="With --reuse: first add events (the next seed's) until it holds --events.")
    ] = False,
    database: Annotated[str, typer.Option(help="Database the history is loaded into.")] = "ioc_bench_kpi",
    results: Annotated[Path, typer.Option(help="Folder the figures are saved in.")] = RESULTS_DIR,
) -> None:
    """Children-of-a-province KPI latency, month and year to date, from PostgreSQL and from Redis."""
    options = KpiBenchOptions(
        events=events,
        province=province,
        repeat=repeat,
        keep=keep,
        reuse=reuse,
        top_up=top_up,
        database=database,
    )
    figures = run_kpi(Settings.from_env(), options, _say)
    path = save(figures, "kpi", results)
    typer.echo(json.dumps(figures, indent=2, ensure_ascii=False))
    _say(f"saved {path}")


@bench_app.command("dashboard")
def dashboard(
    events: Annotated[
        int, typer.Option(min=10_000, help="Simulated events of a fresh load, from January to now.")
    ] = DashboardBenchOptions.events,
    province: Annotated[str, typer.Option(help="Home unit: the operator view's and the wall's.")] = "01",
    database: Annotated[
        str | None,
        typer.Option(
            help="Measure this database (kept by `ioc bench kpi --keep`; migrated, and given the default"
            " geography and example targets when it has none) instead of loading one."
        ),
    ] = None,
    fresh_database: Annotated[
        str, typer.Option(help="Database a fresh load goes into (dropped afterwards unless --keep).")
    ] = DashboardBenchOptions.fresh_database,
    keep: Annotated[bool, typer.Option(help="Keep the fresh database afterwards.")] = False,
    period: Annotated[
        list[str] | None,
        typer.Option(help="Operator view period (today … year); repeat for several. Default: month, year."),
    ] = None,
    repeat: Annotated[
        int, typer.Option(min=3, help="Requests per cache-miss and per cache-hit figure.")
    ] = 30,
    walls: Annotated[int, typer.Option(min=1, help="Wall displays polling at once.")] = 50,
    duration: Annotated[float, typer.Option(min=1, help="Seconds the wall displays poll.")] = 30.0,
    changes_every: Annotated[
        float, typer.Option(min=0, help="Seconds between data changes while the walls poll (0: none).")
    ] = DashboardBenchOptions.changes_every,
    workers: Annotated[int, typer.Option(min=1, help="Dashboard worker processes.")] = 2,
    redis_db: Annotated[
        int, typer.Option(min=1, max=15, help="Redis database index of the benchmark's own (flushed).")
    ] = DashboardBenchOptions.redis_db,
    results: Annotated[Path, typer.Option(help="Folder the figures are saved in.")] = RESULTS_DIR,
) -> None:
    """Dashboard callbacks' server time (cache miss and hit), first-load bytes, polling wall displays."""
    periods = tuple(period or DashboardBenchOptions.periods)
    unknown = [name for name in periods if name not in PERIOD_NAMES]
    if unknown:
        msg = f"--period {unknown[0]}: expected one of {', '.join(PERIOD_NAMES)}"
        raise IocError(msg)
    options = DashboardBenchOptions(
        events=events,
        province=province,
        database=database,
        fresh_database=fresh_database,
        keep=keep,
        periods=periods,
        repeat=repeat,
        walls=walls,
        duration=duration,
        changes_every=changes_every,
        workers=workers,
        redis_db=redis_db,
    )
    figures = run_dashboard(Settings.from_env(), options, _say)
    path = save(figures, "dashboard", results)
    typer.echo(json.dumps(figures, indent=2, ensure_ascii=False))
    for line in dashboard_table(figures):
        _say(line)
    _say(f"saved {path}")
