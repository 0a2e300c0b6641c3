"""``ioc kpi``: KPI values of a unit (or of each of its children) from the store."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from fractions import Fraction
from typing import Annotated

import typer

import store
from ioc.settings import Settings
from kpi import index766, periods, queries, registry
from kpi.model import Filters, KpiValue, Period
from refdata import db as refdata_db

kpi_app = typer.Typer(help="KPI values from the store (DOMAIN.md §3).", no_args_is_help=True)


def _period(name: str, start: str | None, end: str | None, today: date) -> Period:
    if start or end:
        if not (start and end):
            msg = "give both --from and --to (local dates, --to excluded)"
            raise typer.BadParameter(msg)
        return Period(date.fromisoformat(start), date.fromisoformat(end))
    try:
        return periods.named(name, today)  # type: ignore[arg-type]
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


@kpi_app.command("show")
def show(
    unit: Annotated[str, typer.Argument(help="Unit code, e.g. 01 (Hà Nội).")],
    period: Annotated[str, typer.Option(help="today, week, month, quarter or year (to date).")] = "month",
    start: Annotated[str | None, typer.Option("--from", help="First local day (YYYY-MM-DD).")] = None,
    end: Annotated[str | None, typer.Option("--to", help="Day after the last (YYYY-MM-DD).")] = None,
    children: Annotated[bool, typer.Option("--children", help="One column per child unit.")] = False,
    series: Annotated[
        str | None, typer.Option("--series", help="One column per day, week or month of the period.")
    ] = None,
    by: Annotated[str | None, typer.Option("--by", help="One column per agency or procedure.")] = None,
    agency: Annotated[str | None, typer.Option(help="Only this agency.")] = None,
    procedure: Annotated[str | None, typer.Option(help="Only this procedure.")] = None,
    sector: Annotated[str | None, typer.Option(help="Only this sector (lĩnh vực).")] = None,
    channel: Annotated[str | None, typer.Option(help="online, in_person or postal.")] = None,
    lang: Annotated[str, typer.Option(help="vi or en.")] = "vi",
) -> None:
    """Every KPI of UNIT (with the units below it), and the Decision 766 estimate."""
    settings = Settings.from_env()
    now = datetime.now(settings.timezone)
    chosen = _period(period, start, end, now.date())
    filters = Filters(agency, procedure, sector, channel)
    locale: registry.Locale = "en" if lang == "en" else "vi"
    if sum((children, series is not None, by is not None)) > 1:
        msg = "give at most one of --children, --series and --by"
        raise typer.BadParameter(msg)
    if series is not None and series not in queries.GRAINS:
        msg = f"--series is one of {', '.join(queries.GRAINS)}"
        raise typer.BadParameter(msg)
    if by is not None and by not in queries.BREAKDOWNS:
        msg = f"--by is one of {', '.join(queries.BREAKDOWNS)}"
        raise typer.BadParameter(msg)
    with store.connect(settings.database_url, autocommit=True) as conn:
        data = refdata_db.load(conn)
        catalog = queries.Catalog.of(data)
        if unit not in catalog.units:
            msg = f"unknown unit {unit!r}"
            raise typer.BadParameter(msg)
        args = (conn, catalog, unit, chosen)
        tz = settings.timezone
        names = {u.code: u.name for u in data.units}
        answers: dict[str, dict[str, KpiValue]]
        if children:
            answers = queries.children_values(*args, now=now, tz=tz, filters=filters)
            what = "unit(s)"
        elif series is not None:
            buckets = queries.series(*args, series, now=now, tz=tz, filters=filters)
            answers = {f"{b.start} to {b.end - timedelta(days=1)}": kpis for b, kpis in buckets}
            what = f"{series}(s) of {unit} {names[unit]}"
            names = {}
        elif by is not None:
            answers = queries.breakdown(*args, by, now=now, tz=tz, filters=filters)
            what = f"{by}(s) in {unit} {catalog.units[unit].name}"
            if by == "agency":
                names = {a.code: a.name for a in data.agencies}
            else:
                names = {p.code: p.name for p in data.procedures}
        else:
            answers = {unit: queries.values(*args, now=now, tz=tz, filters=filters)}
            what = "unit(s)"
    typer.echo(f"{chosen.start} to {chosen.end} (excluded), {len(answers)} {what}")
    for code, kpis in answers.items():
        typer.echo(f"\n{code} {names.get(code, '')}".rstrip())
        for kpi in registry.all_kpis():
            value = kpis[kpi.key]
            name = kpi.name_vi if locale == "vi" else kpi.name_en
            typer.echo(f"  {name:<52} {registry.format_value(kpi, value.value, locale):>16}{_of(value)}")
        result = index766.estimate({k: _rate(v) for k, v in kpis.items()})
        typer.echo("  " + index766.coverage_statement(result, locale))


def _rate(value: KpiValue) -> Fraction | None:
    return value.value if isinstance(value.value, Fraction) else None


def _of(value: KpiValue) -> str:
    return f"  ({value.numerator}/{value.denominator})" if value.denominator is not None else ""
