"""``ioc geo``: import boundary files, generate sample outlines, load the default geography, show.

Reports go to stdout; errors are ``GeoError`` (or the store's one-line errors), which ``ioc``'s
entry point prints without a traceback.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Annotated

import typer

import store as db_store
from geo import load, store
from geo.errors import GeoFileError
from geo.imports import import_file
from geo.levels import MAX_LEVEL_BYTES, check_level
from geo.sample import SEED
from ioc.settings import Settings

app = typer.Typer(
    help="Geography: unit boundaries for maps (import, sample outlines, the default set).",
    no_args_is_help=True,
    add_completion=False,
)


def _date(raw: str | None, option: str) -> date | None:
    if raw is None:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        msg = f"{option} expects a date YYYY-MM-DD, got {raw!r}"
        raise GeoFileError(msg) from None


@app.command("import")
def import_(
    file: Annotated[
        Path, typer.Argument(help="GeoJSON (.geojson/.json), Shapefile (.shp) or GeoPackage (.gpkg).")
    ],
    level: Annotated[str, typer.Option(help="province, district or commune.")],
    code_field: Annotated[str, typer.Option(help="Field holding the unit's official code.")],
    name_field: Annotated[str, typer.Option(help="Field holding the unit's name.")],
    parent_field: Annotated[
        str | None, typer.Option(help="Field holding the parent's code (default: derived by spatial join).")
    ] = None,
    crs: Annotated[str | None, typer.Option(help="CRS to assume when the file declares none.")] = None,
    layer: Annotated[str | None, typer.Option(help="GeoPackage layer.")] = None,
    valid_from: Annotated[
        str | None, typer.Option(help="First day the boundaries hold (YYYY-MM-DD).")
    ] = None,
    valid_to: Annotated[str | None, typer.Option(help="First day they no longer hold.")] = None,
    source: Annotated[
        str | None, typer.Option(help="Where the boundaries come from (default: file name).")
    ] = None,
    attribution: Annotated[
        str, typer.Option(help="Attribution the source's licence asks maps to show.")
    ] = "",
    max_bytes: Annotated[
        int, typer.Option(min=10_000, help="Most a level's GeoJSON may weigh.")
    ] = MAX_LEVEL_BYTES,
    strict: Annotated[
        bool, typer.Option("--strict", help="Save nothing if any feature is rejected.")
    ] = False,
) -> None:
    """Import one level's boundaries: repair, reproject, simplify, check codes, save; print a report."""
    try:
        checked = check_level(level)
    except ValueError as exc:
        raise GeoFileError(str(exc)) from None
    settings = Settings.from_env()
    with db_store.connect(settings.database_url, autocommit=True) as conn:
        report = import_file(
            conn,
            file,
            checked,
            code_field=code_field,
            name_field=name_field,
            parent_field=parent_field,
            crs=crs,
            layer=layer,
            valid_from=_date(valid_from, "--valid-from"),
            valid_to=_date(valid_to, "--valid-to"),
            source=source,
            attribution=attribution,
            max_bytes=max_bytes,
            strict=strict,
        )
    for line in report.lines():
        typer.echo(line)


@app.command("sample")
def sample(
    seed: Annotated[int, typer.Option(help="The same seed gives the same outlines.")] = SEED,
) -> None:
    """Generate outlines for the unit list's sample districts and communes inside the stored provinces."""
    settings = Settings.from_env()
    with db_store.connect(settings.database_url, autocommit=True) as conn:
        report = load.load_sample(conn, seed=seed)
    for line in report.lines():
        typer.echo(line)


@app.command("load-default")
def load_default(
    directory: Annotated[
        Path | None,
        typer.Argument(
            help=f"Folder of the province files (default: ${load.ENV_DIR} or the copy in geo/default).",
            file_okay=False,
        ),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the sample outlines.")] = SEED,
) -> None:
    """Save the default geography: the 34 provinces, the 63 before 1/7/2025, the sample outlines."""
    settings = Settings.from_env()
    with db_store.connect(settings.database_url, autocommit=True) as conn:
        report = load.load_default(conn, directory, seed=seed)
    for line in report.lines():
        typer.echo(line)
    typer.echo(f"attribution: {load.ATTRIBUTION}")


@app.command("show")
def show() -> None:
    """Count the stored geometries by level, and the attributions maps must show."""
    settings = Settings.from_env()
    on = datetime.now(settings.timezone).date()
    with db_store.connect(settings.database_url, autocommit=True) as conn:
        levels = store.summary(conn, on)
        credits = store.attributions(conn, on)
    if not levels:
        typer.echo("no geometry stored: run `ioc geo load-default` or `ioc geo import`")
    for lv in levels:
        typer.echo(
            f"{lv.level:9} {lv.in_force:5} in force on {on} ({lv.geometry_bytes / 1000:.0f} kB of geometry), "
            f"{lv.history} history, {lv.samples} samples"
        )
    for line in credits:
        typer.echo(f"attribution: {line}")
