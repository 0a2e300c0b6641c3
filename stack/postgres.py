"""A private PostgreSQL 15 cluster for the stack, with TimescaleDB preloaded.

The cluster lives in ``<state>/postgres/data``, listens on 127.0.0.1 only (no Unix
socket, so long state paths do not matter) and trusts local TCP connections: it is a
development and test server, never exposed. PostgreSQL refuses to run as root, so as
root the cluster belongs to the ``postgres`` system user that Debian's package creates.
``pg_ctl`` owns the pid file (``postmaster.pid``) and copes with one left by a crash.
"""

from __future__ import annotations

import os
import pwd
import shutil
import stat
import subprocess
from collections.abc import Callable
from pathlib import Path

import psycopg
from psycopg import sql

from stack import apt, timescaledb
from stack.errors import StackError
from stack.layout import ServiceStatus, StackConfig
from stack.procs import check_port_free, log_tail, running_pid

Log = Callable[[str], None]

BIN = Path("/usr/lib/postgresql/15/bin")
SUPERUSER = "ioc"
DATABASE = "ioc"
_CONF = "ioc-stack.conf"


def url(cfg: StackConfig, database: str = DATABASE) -> str:
    """The connection URL of the stack's cluster."""
    return f"postgresql://{SUPERUSER}@127.0.0.1:{cfg.postgres_port}/{database}"


def up(cfg: StackConfig, *, log: Log) -> str:
    """Install if needed, initialise once, start and create the database; return its URL."""
    if not (BIN / "postgres").exists():
        apt.ensure(["postgresql-15"], why="PostgreSQL 15", log=log)
    if cfg.timescaledb:
        timescaledb.ensure_installed(cfg, log=log)
    home = cfg.service_dir("postgres")
    data = home / "data"
    owner = _owner()
    if not (data / "PG_VERSION").exists():
        _init(home, data, owner, log=log)
    changed = _write_conf(cfg, data, owner)
    if changed and _pid(data) is not None:
        log("restarting PostgreSQL: its settings changed")
        down(cfg)
    if _pid(data) is None:
        check_port_free(cfg.postgres_port, "IOC_STACK_POSTGRES_PORT")
        log(f"starting PostgreSQL on 127.0.0.1:{cfg.postgres_port}")
        _as(
            owner,
            [
                str(BIN / "pg_ctl"),
                "start",
                "-D",
                str(data),
                "-l",
                str(home / "postgres.log"),
                "-w",
                "-t",
                "60",
                "-s",
            ],
            what="pg_ctl start",
            log_path=home / "postgres.log",
        )
    _create_database(cfg)
    return url(cfg)


def down(cfg: StackConfig) -> bool:
    """Stop the cluster (fast shutdown: sessions end, data is safe); True if it was running."""
    data = cfg.service_dir("postgres") / "data"
    if _pid(data) is None:
        return False
    _as(
        _owner(),
        [str(BIN / "pg_ctl"), "stop", "-D", str(data), "-m", "fast", "-w", "-t", "60", "-s"],
        what="pg_ctl stop",
    )
    return True


def status(cfg: StackConfig) -> ServiceStatus:
    data = cfg.service_dir("postgres") / "data"
    pid = _pid(data)
    detail = "no cluster yet" if not (data / "PG_VERSION").exists() else str(data)
    return ServiceStatus("postgres", pid is not None, pid, url(cfg), detail)


def _pid(data: Path) -> int | None:
    return running_pid(data / "postmaster.pid", str(data))


def _owner() -> str | None:
    """The user the cluster runs as: ``postgres`` when we are root, else ourselves."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        msg = (
            "as root PostgreSQL runs as user 'postgres', which does not exist (apt-get install postgresql-15)"
        )
        raise StackError(msg) from None
    return "postgres"


def _init(home: Path, data: Path, owner: str | None, *, log: Log) -> None:
    log(f"initialising a PostgreSQL cluster in {data}")
    home.mkdir(parents=True, exist_ok=True)
    if data.exists():  # left by an interrupted initdb
        shutil.rmtree(data)
    if owner is not None:
        _open_path_for(owner, home)
        shutil.chown(home, owner, owner)
    _as(
        owner,
        [
            str(BIN / "initdb"),
            "-D",
            str(data),
            "-U",
            SUPERUSER,
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C.UTF-8",
            "--no-instructions",
        ],
        what="initdb",
    )
    with (data / "postgresql.conf").open("a") as conf:
        conf.write(f"\ninclude_if_exists = '{_CONF}'\n")


def _write_conf(cfg: StackConfig, data: Path, owner: str | None) -> bool:
    """Write the stack's settings (so ``--no-timescaledb`` or a new port take effect);
    return whether they changed."""
    lines = [
        "listen_addresses = '127.0.0.1'",
        f"port = {cfg.postgres_port}",
        "unix_socket_directories = ''",
        "max_connections = 200",
        "shared_buffers = '256MB'",
        "log_min_messages = warning",
        "timezone = 'UTC'",
    ]
    if cfg.timescaledb:
        # Rollups, retention and compression are our own code, so TimescaleDB's job
        # scheduler has nothing to do (and its built-in jobs fail under the Apache licence).
        lines += [
            "shared_preload_libraries = 'timescaledb'",
            "timescaledb.telemetry_level = off",
            "timescaledb.max_background_workers = 0",
        ]
    path = data / _CONF
    text = "# written by `ioc stack up`; edits are overwritten\n" + "\n".join(lines) + "\n"
    if path.exists() and path.read_text() == text:
        return False
    path.write_text(text)
    if owner is not None:
        shutil.chown(path, owner, owner)
    return True


def _open_path_for(owner: str, folder: Path) -> None:
    """Let ``owner`` reach ``folder``: grant search (x, not read) on ancestors that deny it."""
    for ancestor in reversed(folder.absolute().parents):
        mode = ancestor.stat().st_mode
        if not mode & stat.S_IXOTH:
            ancestor.chmod(mode | stat.S_IXOTH)


def _as(owner: str | None, argv: list[str], *, what: str, log_path: Path | None = None) -> None:
    if owner is not None:
        argv = ["runuser", "-u", owner, "--", *argv]
    result = subprocess.run(argv, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        out = (result.stdout + result.stderr).strip()
        tail = log_tail(log_path) if log_path else ""
        msg = f"{what} failed (exit {result.returncode}): {out}" + (f"\n{tail}" if tail else "")
        raise StackError(msg)


def _create_database(cfg: StackConfig) -> None:
    with psycopg.connect(url(cfg, "postgres"), autocommit=True, connect_timeout=10) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)).fetchone()
        if exists is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DATABASE)))
