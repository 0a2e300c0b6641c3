"""``ioc refdata``: load the reference data into the database, and show what it holds.

Counts go to stdout; errors are ``RefdataError`` (every problem of the files, by file and
line) or the store's one-line errors, which ``ioc``'s entry point prints without a traceback.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime
from pathlib import Path
from typing import Annotated

import typer

import store
from ioc.settings import Settings
from refdata import db, files
from refdata.model import ReferenceData

app = typer.Typer(
    help="Reference data: administrative units, agencies, the procedure catalog, holidays.",
    no_args_is_help=True,
    add_completion=False,
)


@app.command("load")
def load(
    directory: Annotated[
        Path | None,
        typer.Argument(
            help="Folder with units.csv, agencies.csv, procedures.csv and holidays.csv "
            "(default: the set shipped with the package).",
            file_okay=False,
        ),
    ] = None,
) -> None:
    """Validate the reference files, then save them (idempotent) and print what changed."""
    settings = Settings.from_env()
    folder = directory if directory is not None else files.default_dir()
    data = files.read_dir(folder)
    today = datetime.now(settings.timezone).date()
    with store.connect(settings.database_url, autocommit=True) as conn:
        counts = db.save(conn, data, today=today, timezone=settings.timezone.key)
    typer.echo(f"loaded {folder}")
    for table in ("units", "agencies", "procedures", "holidays"):
        changes = ", ".join(
            f"{counts[key]} {what}"
            for what in ("added", "changed", "retired", "removed", "kept")
            if (key := f"{table}_{what}") in counts
        )
        typer.echo(f"{table + ':':12} {counts[table]:>6} in the files; {changes}")
    if counts.get("rollups_rebuilt"):
        typer.echo("rollups:     rebuilt (the working-day calendar changed)")


@app.command("show")
def show() -> None:
    """Count what the database holds: units by level, agencies by kind, procedures, holidays."""
    settings = Settings.from_env()
    with store.connect(settings.database_url, autocommit=True) as conn:
        data = db.load(conn)
    for line in summary(data, datetime.now(settings.timezone).date()):
        typer.echo(line)


def summary(data: ReferenceData, today: date) -> list[str]:
    """Lines of counts describing ``data`` as of ``today``."""
    in_force = [u for u in data.units if u.valid_from <= today and (u.valid_to is None or u.valid_to > today)]
    levels = Counter(u.level for u in in_force)
    samples = sum(u.is_sample for u in in_force)
    kinds = Counter(a.kind for a in data.agencies)
    online = Counter(p.online_level for p in data.procedures)
    essential = sum(p.essential for p in data.procedures)
    days = sorted(h.day for h in data.holidays)
    span = f", {days[0]} to {days[-1]}" if days else ""
    working = sum(h.working for h in data.holidays)
    return [
        f"units:       {len(data.units)} known, {len(in_force)} in force on {today}: "
        f"{levels['province']} provinces, {levels['district']} districts, {levels['commune']} communes"
        f" ({samples} of them samples)",
        f"agencies:    {len(data.agencies)}: "
        + ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items())),
        f"procedures:  {len(data.procedures)}, {essential} essential; online "
        + ", ".join(f"{online[level]} {level}" for level in ("full", "partial", "none")),
        f"holidays:    {len(data.holidays) - working} days off and {working} make-up working days{span}",
    ]
