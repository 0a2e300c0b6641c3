"""The ``ioc`` command: one entry point for every process and chore of the system.

Errors the user can act on (``IocError``) print as one line on stderr and exit 1;
anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import os
import secrets
import shlex
import signal
import sys
import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import psycopg
import typer

import stack
import store
from alerts import store as targets_store
from alerts.cli import EXAMPLE as EXAMPLE_TARGETS
from alerts.cli import save_file as save_targets
from alerts.cli import targets_app
from alerts.commands import alerts_app
from auth import audit, throttle, users
from auth.cli import audit_command, kiosk_app, users_app
from auth.passwords import Hasher
from bench.cli import bench_app
from geo import load as geo_load
from geo import store as geo_store
from geo.cli import app as geo_app
from ingest.cli import deadletters_app
from ingest.consumer import IngestOptions, Ingestor
from ingest.metrics import IngestMetrics
from ingest.topics import ensure_topic
from ioc import logs, system
from ioc.errors import IocError
from ioc.settings import Settings, redact
from kpi.cli import kpi_app
from refdata import db as refdata_db
from refdata import files as refdata_files
from refdata.cli import app as refdata_app
from simulate.cli import register as register_simulate

ATTEMPTS_KEPT = timedelta(days=30)  # sign-in attempts, for `ioc db maintain`

DEMO_ADMIN = "admin"  # the account `ioc up` makes when nobody can sign in yet

app = typer.Typer(
    help="Intelligent Operations Center for Vietnam's online public services.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
stack_app = typer.Typer(help="The local stack: Kafka, PostgreSQL/TimescaleDB, Redis.", no_args_is_help=True)
db_app = typer.Typer(help="The database: migrations, status, retention.", no_args_is_help=True)
app.add_typer(stack_app, name="stack")
app.add_typer(db_app, name="db")
app.add_typer(refdata_app, name="refdata")
app.add_typer(deadletters_app, name="deadletters")
app.add_typer(bench_app, name="bench")
app.add_typer(geo_app, name="geo")
app.add_typer(kpi_app, name="kpi")
app.add_typer(targets_app, name="targets")
app.add_typer(alerts_app, name="alerts")
app.add_typer(users_app, name="users")
app.add_typer(kiosk_app, name="kiosk")
app.command("audit")(audit_command)
register_simulate(app)


def _say(line: str) -> None:
    """Progress for people, on stderr, so stdout stays machine-readable (``eval``)."""
    typer.echo(f"ioc: {line}", err=True)


def _settings() -> Settings:
    return Settings.from_env()


@stack_app.command("up")
def stack_up(
    no_timescaledb: Annotated[bool, typer.Option("--no-timescaledb", help="Plain PostgreSQL.")] = False,
) -> None:
    """Provision and start Kafka, PostgreSQL and Redis; print their IOC_* settings."""

    cfg = replace(_settings().stack, timescaledb=not no_timescaledb)
    for name, value in stack.up(cfg, log=_say).items():
        typer.echo(f"export {name}={shlex.quote(value)}")


@stack_app.command("down")
def stack_down(
    purge: Annotated[bool, typer.Option("--purge", help="Also delete the servers' data.")] = False,
) -> None:
    """Stop the local servers (their data stays unless --purge)."""

    cfg = _settings().stack
    stopped = stack.down(cfg, purge=purge)
    _say(f"stopped: {', '.join(stopped) or 'nothing was running'}")
    if purge:
        _say(f"removed the servers' data under {cfg.root}")


@stack_app.command("status")
def stack_status() -> None:
    """Say which local servers run, where, with which pid."""

    cfg = _settings().stack
    for service in stack.status(cfg):
        state = f"running (pid {service.pid})" if service.running else "stopped"
        typer.echo(f"{service.name:9} {state:22} {service.url:45} {service.detail}")


@db_app.command("migrate")
def db_migrate() -> None:
    """Apply pending schema migrations (idempotent)."""

    settings = _settings()
    with store.connect(settings.database_url, autocommit=True) as conn:
        done = store.migrate(conn, timezone=settings.timezone.key)
        version = store.database_status(conn).schema_version
    for migration in done:
        _say(f"applied {migration.version:04d}_{migration.name}")
    _say(f"schema at version {version}" + ("" if done else " (already up to date)"))


@db_app.command("status")
def db_status() -> None:
    """Print the schema version and whether TimescaleDB is active."""

    settings = _settings()
    with store.connect(settings.database_url, autocommit=True) as conn:
        status = store.database_status(conn)
    typer.echo(f"database:     {redact(settings.database_url)} (PostgreSQL {status.server_version})")
    typer.echo(
        f"schema:       version {status.schema_version} of {status.latest_version}"
        + (f", {status.pending} pending: run `ioc db migrate`" if status.pending else "")
    )
    tsdb = status.timescaledb
    if tsdb is None:
        typer.echo("timescaledb:  not active (plain PostgreSQL tables)")
    else:
        compression = "with compression" if tsdb.compression else "no compression in this licence"
        typer.echo(f"timescaledb:  {tsdb.version}, licence {tsdb.license}, {compression}")
        typer.echo(f"hypertables:  {', '.join(status.hypertables) or 'none'}")


@db_app.command("maintain")
def db_maintain() -> None:
    """Apply retention (IOC_RETENTION_DAYS) and compression (IOC_COMPRESS_AFTER_DAYS); forget
    sign-in attempts older than 30 days (the sign-ins themselves stay in the audit trail)."""

    settings = _settings()
    kept_from = datetime.now(UTC) - max(ATTEMPTS_KEPT, timedelta(seconds=settings.auth.throttle_window_s))
    with store.connect(settings.database_url, autocommit=True) as conn:
        report = store.maintain(
            conn, retention_days=settings.retention_days, compress_after_days=settings.compress_after_days
        )
        pruned = throttle.prune(conn, kept_from)
    if report.retention_cutoff is None:
        _say("retention: keeping all events (IOC_RETENTION_DAYS=0)")
    else:
        _say(
            f"retention: events before {report.retention_cutoff:%Y-%m-%d %H:%M} UTC removed: "
            f"{report.dropped_chunks} chunks dropped, {report.deleted_rows} rows deleted, "
            f"{report.forgotten_ids} event ids forgotten"
        )
    _say(f"compression: {report.compressed_chunks} chunks compressed")
    _say(f"sign-in attempts: {pruned} older than {kept_from:%Y-%m-%d %H:%M} UTC deleted")


@app.command("ingest")
def ingest(
    group: Annotated[str, typer.Option(help="Kafka consumer group.")] = "ioc-ingest",
    batch_size: Annotated[int, typer.Option(min=1, help="Events per batch at most.")] = 2000,
    batch_wait: Annotated[float, typer.Option(min=0.01, help="Seconds a batch waits to fill.")] = 0.5,
    json_logs: Annotated[bool, typer.Option("--json", help="Log one JSON object a line.")] = False,
    metrics_port: Annotated[int, typer.Option(min=0, max=65535, help="Prometheus metrics port; 0: off.")] = 0,
    session_timeout: Annotated[
        float, typer.Option(min=6, max=300, help="Seconds before a silent member's partitions move on.")
    ] = 10,
) -> None:
    """Consume application events from Kafka into the store, exactly once (stop: SIGTERM/SIGINT)."""
    logs.configure(json_lines=json_logs)
    settings = _settings()
    ensure_topic(settings.kafka_bootstrap, settings.topic, security=settings.kafka_security)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    options = IngestOptions(
        group_id=group,
        batch_size=batch_size,
        batch_wait_s=batch_wait,
        session_timeout_ms=int(session_timeout * 1000),
    )
    metrics = IngestMetrics()
    if metrics_port:
        metrics.serve(metrics_port)
    totals = Ingestor(settings, options, metrics).run(stop)
    _say(
        f"ingest stopped: {totals.stored} events stored, {totals.duplicates} duplicates ignored, "
        f"{totals.dead_letters} dead letters, {totals.batches} batches"
    )


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8050,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 2,
) -> None:
    """The dashboard under gunicorn (several workers); /healthz reports database, Redis, data age."""
    from dashboard.serve import serve as run_server  # noqa: PLC0415 - the web stack only here

    run_server(_settings(), host=host, port=port, workers=workers)


@app.command("up")
def up(
    no_timescaledb: Annotated[bool, typer.Option("--no-timescaledb", help="Plain PostgreSQL.")] = False,
    no_simulate: Annotated[
        bool, typer.Option("--no-simulate", help="No simulator: real sources feed the topic.")
    ] = False,
    prepare_only: Annotated[
        bool, typer.Option("--prepare-only", help="Stack, schema and data only; start nothing else.")
    ] = False,
    history_days: Annotated[
        float, typer.Option(min=0, help="Simulated history to backfill when the store is empty.")
    ] = 90,
    rate: Annotated[
        float,
        typer.Option(
            min=0.001,
            help="Simulated events per second (weekly mean), live and in the history: 0.1 makes about "
            "715,000 events in 90 days, a backfill of about 3 minutes on 2 vCPUs.",
        ),
    ] = 0.1,
    scenario: Annotated[
        str, typer.Option(help="What goes wrong in the simulated traffic (`ioc simulate --help`).")
    ] = "normal",
    seed: Annotated[int | None, typer.Option(min=0, help="Seed of the simulated traffic.")] = None,
    host: Annotated[str, typer.Option(help="Dashboard address.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Dashboard port.")] = 8050,
    workers: Annotated[int, typer.Option(min=1, help="Dashboard worker processes.")] = 2,
) -> None:
    """Bring the whole system up on this machine and run it until Ctrl-C: the stack, the schema,
    the reference data, geography and example targets (loaded when missing), ingest, the
    simulator, the alert engine and the dashboard. Run again, it goes on with the data it has
    (no second backfill)."""
    stack_up(no_timescaledb=no_timescaledb)
    db_migrate()
    settings = _settings()
    with store.connect(settings.database_url, autocommit=True) as conn:
        loaded = refdata_db.load(conn)
        if not loaded.units:
            data = refdata_files.read_dir(refdata_files.default_dir())
            refdata_db.save(
                conn, data, today=datetime.now(settings.timezone).date(), timezone=settings.timezone.key
            )
            loaded = data
        _say(f"reference data: {len(loaded.units)} units, {len(loaded.procedures)} procedures")
        if not any(level.in_force for level in geo_store.summary(conn)):
            with conn.transaction():
                for line in geo_load.load_default(conn).lines():
                    _say(f"geography: {line}")
        if not targets_store.load(conn):
            _say(f"targets: {save_targets(conn, EXAMPLE_TARGETS)} example targets loaded (none were set)")
        has_events = conn.execute("SELECT EXISTS (SELECT FROM event_ids)").fetchone() == (True,)
        demo = _demo_admin(conn, settings.stack.root)
    _keep_auth_secret(settings)
    ensure_topic(settings.kafka_bootstrap, settings.topic, security=settings.kafka_security)
    _say(f"topic {settings.topic} ready")
    if prepare_only:
        return
    chosen = system.parts(
        simulate=not no_simulate,
        history_days=0 if has_events else history_days,
        rate=rate,
        scenario=scenario,
        seed=seed,
        host=host,
        port=port,
        workers=workers,
    )
    _say(f"dashboard: http://{host}:{port}/ (Ctrl-C stops everything)")
    _say(demo)
    raise typer.Exit(system.run(chosen, _say))


def _keep_auth_secret(settings: Settings) -> None:
    """The dashboard's cookie-signing key: the configured one, else one kept in the stack folder
    (made once, readable by this user only), so that sessions survive a restart of ``ioc up``."""
    if settings.auth.secret:
        return
    path = settings.stack.root / "auth-secret"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(48))
    os.environ["IOC_AUTH_SECRET_FILE"] = str(path)


def _demo_admin(conn: psycopg.Connection[tuple[object, ...]], root: Path) -> str:
    """The demo's sign-in: an admin of the whole country, made with a random password the first
    time no user exists (the password is kept in the stack folder, readable by this user only, and
    printed again while it still signs in)."""
    database = conn.info.dbname
    path = root / f"demo-admin-password.{database}"  # one per database: tests make their own
    if not users.listing(conn):
        password = secrets.token_urlsafe(12)
        users.add_recorded(
            conn,
            DEMO_ADMIN,
            display_name="Quản trị (demo)",
            role="admin",
            scope="VN",
            password_hash=Hasher().hash(password),
            by=audit.cli_actor(),
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(password + "\n")
    kept = path.read_text().strip() if path.exists() else ""
    found = users.credentials(conn, DEMO_ADMIN)
    if kept and found is not None and found.user.active and Hasher().verify(found.password_hash, kept):
        return f"sign in as {DEMO_ADMIN!r} with the password {kept!r} (kept in {path})"
    return "sign in with an account of `ioc users list` (add one with `ioc users add`)"


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except IocError as exc:
        typer.echo(f"ioc: error: {exc}", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
