"""``ioc alerts``: the evaluator (bare command), ``history`` of episodes, ``ack`` one of them."""

from __future__ import annotations

import logging
import signal
import threading
from decimal import Decimal
from typing import Annotated

import typer

import store
from alerts import engine_store
from alerts.engine import Engine
from ioc import logs
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
    engine = Engine(settings)
    engine.run(stop)
    typer.echo(f"ioc alerts: stopped after {engine.passes} evaluations", err=True)


@alerts_app.command("history")
def history(
    limit: Annotated[int, typer.Option(min=1, help="Episodes to show, newest first.")] = 20,
) -> None:
    """Recent alert episodes: when fired, where, what, and how each ended."""
    settings = Settings.from_env()
    with store.connect(settings.database_url, autocommit=True) as conn:
        rows = engine_store.history(conn, limit)
    for row in rows:
        typer.echo(_line(row))
    typer.echo(f"{len(rows)} alerts", err=True)


@alerts_app.command("ack")
def ack(
    alert_id: Annotated[int, typer.Argument(metavar="ID", help="The alert's id (ioc alerts history).")],
    by: Annotated[str, typer.Option("--by", help="Who acknowledges it.")],
) -> None:
    """Acknowledge an alert episode."""
    if not by.strip():
        msg = "say who acknowledges it"
        raise typer.BadParameter(msg, param_hint="--by")
    settings = Settings.from_env()
    with store.connect(settings.database_url, autocommit=True) as conn:
        engine_store.acknowledge(conn, alert_id, by.strip())
    typer.echo(f"ioc alerts: alert {alert_id} acknowledged by {by.strip()}", err=True)


def _line(row: dict[str, object]) -> str:
    kpi = registry.get(str(row["kpi"]))
    unit = " %" if kpi.display == "percent" else ""
    scale = Decimal(100) if kpi.display == "percent" else Decimal(1)

    def shown(value: object) -> str:
        return "-" if value is None else f"{Decimal(str(value)) * scale:.1f}{unit}"

    ended = "FIRING"
    if row["state"] == "resolved":
        ended = f"resolved {row['resolved_at']:%Y-%m-%d %H:%M} ({row['resolved_reason']})"
        ended += f" at {shown(row['resolved_value'])}"
    acked = f", acknowledged by {row['acknowledged_by']}" if row["acknowledged_by"] else ""
    threshold = Decimal(str(row["threshold"])).normalize()
    return (
        f"#{row['id']} {row['fired_at']:%Y-%m-%d %H:%M} [{row['severity']}] {row['target_name']} / "
        f"{row['unit_code']}: {row['kpi']} {shown(row['fired_value'])}"
        f" vs {row['comparison']} {threshold:f}{unit} ({row['window_name']}); {ended}{acked}"
    )
