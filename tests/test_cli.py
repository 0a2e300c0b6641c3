"""The `ioc` command, run as a user runs it: one clear line for a bad setting, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys

import psycopg
import pytest

from ioc.settings import Settings
from tests.net import free_port


def ioc(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ioc", *args],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("args", "env", "names"),
    [
        (["db", "status"], {"IOC_DATABASE_URL": "postgresql://ioc@127.0.0.1:{port}/ioc"}, "IOC_DATABASE_URL"),
        (
            ["db", "migrate"],
            {"IOC_DATABASE_URL": "postgresql://ioc:pw@127.0.0.1:{port}/ioc"},
            "IOC_DATABASE_URL",
        ),
        (["db", "status"], {"IOC_DATABASE_URL": "sqlite:///tmp/x.db"}, "IOC_DATABASE_URL"),
        (["stack", "status"], {"IOC_TIMEZONE": "Asia/Saigon_City"}, "IOC_TIMEZONE"),
        (["stack", "status"], {"IOC_KAFKA_BOOTSTRAP": "broker"}, "IOC_KAFKA_BOOTSTRAP"),
        (["db", "status"], {"IOC_REDIS_URL": "memcached://x"}, "IOC_REDIS_URL"),
    ],
)
def test_a_bad_or_unreachable_setting_fails_in_one_line(args, env, names):
    port = free_port()
    result = ioc(*args, env={k: v.format(port=port) for k, v in env.items()})
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("ioc: error: ")
    assert names in lines[0]
    assert "Traceback" not in result.stderr
    assert "pw@" not in result.stderr


def test_db_commands_on_the_stack(settings: Settings, timescale_url: str):
    env = {"IOC_DATABASE_URL": timescale_url}
    before = ioc("db", "status", env=env)
    assert before.returncode == 0, before.stderr
    assert "version 0 of" in before.stdout
    assert "pending" in before.stdout

    migrated = ioc("db", "migrate", env=env)
    assert migrated.returncode == 0, migrated.stderr
    assert "applied 0001_events" in migrated.stderr
    again = ioc("db", "migrate", env=env)
    assert "already up to date" in again.stderr

    after = ioc("db", "status", env=env)
    assert "pending" not in after.stdout
    assert "licence apache" in after.stdout or "licence timescale" in after.stdout
    assert "hypertables:  events" in after.stdout

    with psycopg.connect(timescale_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO sign_in_attempts (at, username, address, outcome)"
            " VALUES (now() - interval '31 days', 'old', '10.0.0.1', 'failure'),"
            "        (now() - interval '1 day', 'recent', '10.0.0.1', 'failure')"
        )
    maintained = ioc("db", "maintain", env={**env, "IOC_RETENTION_DAYS": "30"})
    assert maintained.returncode == 0, maintained.stderr
    assert "0 chunks dropped" in maintained.stderr
    assert "sign-in attempts: 1 older than" in maintained.stderr
    with psycopg.connect(timescale_url) as conn:
        assert conn.execute("SELECT username FROM sign_in_attempts").fetchall() == [("recent",)]


def test_stack_status_lists_the_running_servers(settings: Settings):
    result = ioc("stack", "status")
    assert result.returncode == 0, result.stderr
    lines = {line.split()[0]: line for line in result.stdout.splitlines()}
    assert set(lines) == {"kafka", "postgres", "redis"}
    if not os.environ.get("IOC_TEST_EXTERNAL_SERVICES"):
        for line in lines.values():
            assert "running (pid" in line, line


def test_up_loads_reference_data_and_geography_once(settings: Settings, timescale_url: str, topic: str):
    env = {"IOC_DATABASE_URL": timescale_url, "IOC_TOPIC": topic}
    first = ioc("up", "--prepare-only", env=env)
    assert first.returncode == 0, first.stderr
    assert "reference data: 1510 units" in first.stderr
    assert "geography: province" in first.stderr
    with psycopg.connect(timescale_url) as conn:
        before = conn.execute("SELECT level, count(*) FROM unit_geometry GROUP BY 1 ORDER BY 1").fetchall()
    assert dict(before)["province"] >= 34
    again = ioc("up", "--prepare-only", env=env)
    assert again.returncode == 0, again.stderr
    assert "geography:" not in again.stderr  # kept, not loaded twice
    with psycopg.connect(timescale_url) as conn:
        assert (
            conn.execute("SELECT level, count(*) FROM unit_geometry GROUP BY 1 ORDER BY 1").fetchall()
            == before
        )
        # the demo admin was made once, and on the record
        added = conn.execute("SELECT actor, subject FROM audit_log WHERE action = 'user_added'").fetchall()
    assert [(subject, actor.startswith("cli:")) for actor, subject in added] == [("user:admin", True)]
