"""What the benchmarks share: fresh databases, the machine's description, saved figures."""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from psycopg import sql

import store
from ioc.settings import Settings
from refdata import db as refdata_db
from refdata.files import default_dir, read_dir

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def save(figures: dict[str, Any], name: str, directory: Path = RESULTS_DIR) -> Path:
    """``figures`` as ``<name>-<start time>.json`` under ``bench/results/``."""
    directory.mkdir(parents=True, exist_ok=True)
    stamp = figures["started"].replace(":", "").replace("-", "")[:15]
    path = directory / f"{name}-{stamp}.json"
    path.write_text(json.dumps(figures, indent=2, ensure_ascii=False) + "\n")
    return path


def fresh_database(settings: Settings, name: str) -> str:
    """Create (again) database ``name`` on the configured server, migrated, with reference data."""
    with store.connect(settings.database_url, autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = urlsplit(settings.database_url)._replace(path=f"/{name}").geturl()
    with store.connect(url, autocommit=True) as conn:
        store.migrate(conn, timezone=settings.timezone.key)
        with conn.transaction():
            refdata_db.save(conn, read_dir(default_dir()), timezone=settings.timezone.key)
    return url


def kept_database(settings: Settings, name: str) -> str:
    """Database ``name`` kept by an earlier run, migrated to this code's schema."""
    url = urlsplit(settings.database_url)._replace(path=f"/{name}").geturl()
    with store.connect(url, autocommit=True) as conn:
        store.migrate(conn, timezone=settings.timezone.key)
    return url


def drop_database(settings: Settings, url: str) -> None:
    name = urlsplit(url).path.lstrip("/")
    with store.connect(settings.database_url, autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def machine(settings: Settings) -> dict[str, Any]:
    """The machine and servers the figures were measured on."""
    with store.connect(settings.database_url, autocommit=True) as conn:
        status = store.database_status(conn)
    meminfo = Path("/proc/meminfo").read_text().split("\n", 1)[0].split()
    return {
        "cpus": os.cpu_count(),
        "memory_gb": round(int(meminfo[1]) / 1024**2, 1),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "postgres": status.server_version,
        "timescaledb": status.timescaledb.version if status.timescaledb else None,
    }
