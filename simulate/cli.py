"""``ioc simulate``: realistic application events into the Kafka topic.

Wire it into a Typer app with ``register(app)``, or run this module's own ``app``.
Progress goes to stderr; the summary of what was sent is printed on stdout as JSON.
"""

from __future__ import annotations

import json
import shutil
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import psycopg
import typer

import store
from ingest.topics import ensure_topic
from ioc.errors import IocError
from ioc.settings import Settings
from refdata import db as refdata_db
from refdata.files import default_dir, read_dir
from refdata.model import ReferenceData
from simulate import scenarios
from simulate.faults import Faults
from simulate.produce import Progress, plan_run, produce
from simulate.progress import Reporter, expected_events

MAX_SEED = 2**32 - 1
LIVE_EVERY_S = 60.0  # a line of live progress at most this often


def _say(line: str) -> None:
    typer.echo(f"ioc simulate: {line}", err=True)


def _check_scenario(value: str) -> str:
    try:
        scenarios.parse(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    return value


def _check_faults(value: str) -> str:
    try:
        Faults.parse(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    return value


def _check_now(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        msg = f"expected an RFC 3339 time with offset such as 2026-01-05T10:00:00+07:00, got {value!r}"
        raise typer.BadParameter(msg)
    if moment > datetime.now(UTC):
        msg = "must not be in the future (events are never sent ahead of their time)"
        raise typer.BadParameter(msg)
    return value


def load_refdata(settings: Settings, directory: Path | None) -> tuple[ReferenceData, str]:
    """The reference data from ``directory``, else the database, else the packaged default set."""
    if directory is not None:
        return read_dir(directory), str(directory)
    try:
        with store.connect(settings.database_url) as conn:
            data = refdata_db.load(conn)
        if data.units:
            return data, "the database"
    except (IocError, psycopg.Error) as exc:
        _say(f"reference data not in the database ({str(exc).splitlines()[0]}); using the default set")
    return read_dir(default_dir()), f"the default set ({default_dir()})"


def simulate(  # noqa: PLR0917 - Typer passes options by name
    history_days: Annotated[
        float,
        typer.Option("--history-days", min=0, help="Backfill this many days up to now, as fast as possible."),
    ] = 0.0,
    rate: Annotated[
        float | None,
        typer.Option(
            "--rate",
            min=0.001,
            help="Then go on live at this many events per second (mean over a week: office hours see "
            "2-3 times more, nights a few per cent). Also sets the volume of the history "
            "(default 1 event/s when not live).",
        ),
    ] = None,
    count: Annotated[
        int | None, typer.Option("--count", min=1, help="Stop after this many messages.")
    ] = None,
    seed: Annotated[int, typer.Option("--seed", min=0, max=MAX_SEED, help="Same seed, same events.")] = 1,
    scenario: Annotated[
        str,
        typer.Option(
            "--scenario",
            callback=_check_scenario,
            help="normal, online-collapse or backlog, optionally NAME:key=value,... "
            "(see simulate/scenarios.py).",
        ),
    ] = "normal",
    faults: Annotated[
        str,
        typer.Option(
            "--faults",
            callback=_check_faults,
            help="Chance per event of each fault, e.g. "
            "duplicates=0.01,reorder=0.05,late=0.01,malformed=0.001.",
        ),
    ] = "",
    refdata_dir: Annotated[
        Path | None,
        typer.Option(
            "--refdata",
            exists=True,
            file_okay=False,
            help="Folder of reference CSV files (default: the database's, else the packaged set).",
        ),
    ] = None,
    now: Annotated[
        str | None,
        typer.Option(
            "--now",
            callback=_check_now,
            help="End the history at this past time (RFC 3339 with offset) instead of now: "
            "the same seed and --now give byte-identical history.",
        ),
    ] = None,
) -> None:
    """Send realistic application events to the Kafka topic (IOC_TOPIC), for demos and tests."""
    if history_days <= 0 and rate is None:
        msg = "give --history-days, --rate or both"
        raise typer.BadParameter(msg, param_hint="--history-days/--rate")
    settings = Settings.from_env()
    data, source = load_refdata(settings, refdata_dir)
    _say(f"reference data from {source}: {len(data.units)} units, {len(data.procedures)} procedures")
    ensure_topic(settings.kafka_bootstrap, settings.topic, security=settings.kafka_security)
    moment = None if now is None else datetime.fromisoformat(now)
    total = _expected_history(
        data, settings, seed=seed, history_days=history_days, rate=rate, scenario=scenario
    )
    bar = Reporter(
        sys.stderr,
        tty=sys.stderr.isatty(),
        width=lambda: shutil.get_terminal_size().columns,
        prefix="ioc simulate: ",
    )
    last_phase = ""
    live_said = -LIVE_EVERY_S

    def progress(report: Progress) -> None:
        nonlocal last_phase, live_said
        latest = None if report.latest is None else report.latest.astimezone(settings.timezone)
        if report.phase == "history":
            bar.show(sent=report.sent, total=total, elapsed_s=report.elapsed_s, latest=latest)
            last_phase = report.phase
            return
        bar.finish()
        if report.phase == "live" and last_phase != "live":
            _say("history sent; live from now on (Ctrl-C to stop)")
        last_phase = report.phase
        if report.phase == "live" and report.elapsed_s - live_said < LIVE_EVERY_S:
            return
        live_said = report.elapsed_s
        shown = "" if latest is None else f", up to {latest:%Y-%m-%d %H:%M}"
        speed = f"{report.per_second:,.0f}/s"
        _say(f"{report.phase}: {report.sent:,} messages in {report.elapsed_s:.1f} s ({speed}){shown}")

    summary = produce(
        data,
        bootstrap=settings.kafka_bootstrap,
        topic=settings.topic,
        tz=settings.timezone,
        seed=seed,
        history_days=history_days,
        rate=rate,
        count=count,
        scenario=scenario,
        faults=Faults.parse(faults),
        now=moment,
        progress=progress,
    )
    if summary.interrupted:
        _say("stopped by Ctrl-C; everything sent was flushed")
    if summary.scenario.unit_code is not None:
        _say(summary.scenario.describe())
    typer.echo(json.dumps(summary.as_dict(), ensure_ascii=False, indent=2))


def _expected_history(
    data: ReferenceData,
    settings: Settings,
    *,
    seed: int,
    history_days: float,
    rate: float | None,
    scenario: str,
) -> int | None:
    """About how many messages the history holds (for the progress bar); None without history or
    when the run cannot be planned (``produce`` then says why)."""
    if history_days <= 0:
        return None
    try:
        plan = plan_run(
            data, tz=settings.timezone, seed=seed, history_days=history_days, rate=rate, scenario=scenario
        )
    except ValueError:
        return None
    return expected_events(plan)


def register(app: typer.Typer) -> None:
    """Add the ``simulate`` command to ``app``."""
    app.command("simulate")(simulate)


app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
register(app)
