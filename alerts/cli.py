"""``ioc targets``: load targets from a file, list them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

import store
from alerts import store as targets_store
from alerts import targets
from ioc.settings import Settings
from kpi import registry
from refdata import db as refdata_db

targets_app = typer.Typer(help="Targets per KPI and unit (Directive 02/CT-TTg).", no_args_is_help=True)
EXAMPLE = Path(__file__).parent / "targets.example.yaml"


@targets_app.command("load")
def load(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="A .yaml or .csv file.")
    ] = EXAMPLE,
    replace: Annotated[
        bool, typer.Option("--replace", help="Delete the targets the file does not name.")
    ] = False,
    if_empty: Annotated[
        bool,
        typer.Option("--if-empty", help="Only when no target is set (keeps the targets operators edited)."),
    ] = False,
) -> None:
    """Check FILE (every problem reported with its line) and save its targets, by name."""
    settings = Settings.from_env()
    with store.connect(settings.database_url, autocommit=True) as conn:
        kept = targets_store.load(conn) if if_empty else []
        if kept:
            typer.echo(f"ioc targets: {len(kept)} targets already set, {file} not loaded", err=True)
            return
        saved = save_file(conn, file, replace=replace)
    typer.echo(f"ioc targets: {saved} targets saved from {file}", err=True)


def save_file(conn: targets_store.Connection, file: Path, *, replace: bool = False) -> int:
    """Check ``file`` against the reference data in force and save its targets; how many."""
    data = refdata_db.load(conn)
    read = targets.read(
        file, units={u.code: u.level for u in data.units}, agencies={a.code for a in data.agencies}
    )
    return targets_store.save(conn, read, replace=replace)


@targets_app.command("list")
def list_() -> None:
    """Every target: name, KPI, where, threshold, window, minimum volume, severity."""
    settings = Settings.from_env()
    with store.connect(settings.database_url, autocommit=True) as conn:
        rows = targets_store.load(conn)
    for t in rows:
        where = (t.unit or f"every {t.level}") + (f" / {t.agency}" if t.agency else "")
        unit = " %" if registry.get(t.kpi).display == "percent" else ""
        typer.echo(
            f"{t.name}\n    {t.kpi} {t.comparison} {t.threshold}{unit} in {where}, window {t.window},"
            f" at least {t.min_volume}, {t.severity}"
        )
    typer.echo(f"{len(rows)} targets", err=True)
