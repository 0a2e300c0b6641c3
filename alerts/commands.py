"""``ioc alerts``: the evaluator (bare command), ``history`` of episodes, ``ack`` one of them (these
two through ``alerts.episodes``, the statements the dashboard uses too)."""

from __future__ import annotations

import logging
import signal
import threading
from decimal import Decimal
from typing import Annotated

import typer

import store
from alerts import episodes
from alerts.engine import Engine
from alerts.metrics import AlertMetrics
from ioc import logs
from ioc.errors import IocError
from ioc.settings import Settings
from kpi import registry

alerts_app = typer.Typer(
    help="The alert engine: evaluates every target, fires, resolves and notifies (DESIGN.md §7).",
    invoke_without_command=True,
)


@alerts_app.callback()
def run(
    ctx: typer.Context,
    json_logs: Annotated[bool, typer.Option("--json", help="Log one JSON object a line.")] = False,
    metrics_port: Annotated[int, typer.Option(min=0, max=65535, help="Prometheus metrics port; 0: off.")] = 0,
) -> None:
    """Run the evaluator until SIGTERM/Ctrl-C (a second one stands by and takes over)."""
    if ctx.invoked_subcommand is not None:
        return
    logs.configure(json_lines=json_logs)
    logging.getLogger("ioc.alerts").setLevel(logging.INFO)
    settings = Settings.from_env()
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    metrics = AlertMetrics()
    if metrics_port:
        metrics.serve(metrics_port)
    engine = Engine(settings, metrics)
    engine.run(stop)
    typer.echo(f"ioc alerts: stopped after {engine.passes} evaluations", err=True)


@alerts_app.command("history")
def history(
    limit: Annotated[int, typer.Option(min=1, help="Episodes to show, newest first.")] = 20,
) -> None:
    """Recent alert episodes: when fired, where, what, and how each ended."""
    settings = Settings.from_env()
    with store.connect(settings.database_url, autocommit=True) as conn:
        found = episodes.listing(conn, active_only=False, limit=limit)
    for episode in found:
        typer.echo(_line(episode))
    typer.echo(f"{len(found)} alerts (firing first)", err=True)


@alerts_app.command("ack")
def ack(
    alert_id: Annotated[int, typer.Argument(metavar="ID", help="The alert's id (ioc alerts history).")],
    by: Annotated[str, typer.Option("--by", help="Who acknowledges it.")],
) -> None:
    """Acknowledge an alert episode."""
    try:
        name = episodes.checked_name(by)
    except episodes.BadName as exc:
        raise typer.BadParameter(str(exc), param_hint="--by") from None
    settings = Settings.from_env()
    with store.connect(settings.database_url, autocommit=True) as conn:
        done = episodes.acknowledge(conn, alert_id, name)
    if done is None:
        msg = f"no alert {alert_id}"
        raise IocError(msg)
    first = done.episode
    if not done.recorded:
        when = f"{first.acknowledged_at:%Y-%m-%d %H:%M %z}" if first.acknowledged_at else "?"
        msg = f"alert {alert_id} was already acknowledged by {first.acknowledged_by} at {when}"
        raise IocError(msg)
    typer.echo(f"ioc alerts: alert {alert_id} acknowledged by {name}", err=True)


def _line(episode: episodes.Episode) -> str:
    kpi = registry.get(episode.kpi)
    unit = " %" if kpi.display == "percent" else ""
    scale = Decimal(100) if kpi.display == "percent" else Decimal(1)

    def shown(value: Decimal | None) -> str:
        return "-" if value is None else f"{value * scale:.1f}{unit}"

    ended = "FIRING"
    if episode.resolved_at is not None:
        ended = f"resolved {episode.resolved_at:%Y-%m-%d %H:%M} ({episode.resolved_reason})"
        ended += f" at {shown(episode.resolved_value)}"
    acked = f", acknowledged by {episode.acknowledged_by}" if episode.acknowledged_by else ""
    return (
        f"#{episode.id} {episode.fired_at:%Y-%m-%d %H:%M} [{episode.severity}] {episode.target_name} / "
        f"{episode.unit_code}: {episode.kpi} {shown(episode.fired_value)}"
        f" vs {episode.comparison} {episode.threshold.normalize():f}{unit} ({episode.window_name});"
        f" {ended}{acked}"
    )
