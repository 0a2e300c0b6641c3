"""Provisioning: idempotent, nothing downloaded twice, robust to crashes and stale pid files."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import psycopg
import redis as redis_client

import stack
from stack import kafka_broker, postgres, redis_server
from stack.layout import StackConfig
from tests.net import free_port

FORBIDDEN = ("mvn", "apt-get", "apt", "cmake", "dpkg-source")


def test_second_up_downloads_and_builds_nothing(local_stack: StackConfig, tmp_path: Path):
    tripwire = tmp_path / "bin"
    tripwire.mkdir()
    called = tmp_path / "called"
    for name in FORBIDDEN:
        tool = tripwire / name
        tool.write_text(f'#!/bin/sh\necho {name} "$@" >> {called}\nexit 1\n')
        tool.chmod(0o755)
    env = {**os.environ, "PATH": f"{tripwire}:{os.environ['PATH']}", "IOC_STACK_DIR": str(local_stack.root)}
    result = subprocess.run(
        [sys.executable, "-m", "ioc", "stack", "up"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert not called.exists(), called.read_text()
    exported = dict(line.removeprefix("export ").split("=", 1) for line in result.stdout.splitlines())
    assert exported == {
        "IOC_KAFKA_BOOTSTRAP": f"127.0.0.1:{local_stack.kafka_port}",
        "IOC_DATABASE_URL": f"postgresql://ioc@127.0.0.1:{local_stack.postgres_port}/ioc",
        "IOC_REDIS_URL": f"redis://127.0.0.1:{local_stack.redis_port}/0",
    }
    assert "starting" not in result.stderr  # everything was already running


def mini_stack(local_stack: StackConfig, tmp_path: Path) -> StackConfig:
    """A second stack on free ports that shares the first one's caches."""
    root = tmp_path / "stack"
    root.mkdir()
    (root / "cache").symlink_to(local_stack.cache)
    return replace(
        StackConfig(root=root),
        kafka_port=free_port(),
        kafka_controller_port=free_port(),
        redis_port=free_port(),
        kafka_version=local_stack.kafka_version,
    )


def test_redis_survives_a_crash_and_keeps_its_data(local_stack: StackConfig, tmp_path: Path):
    cfg = mini_stack(local_stack, tmp_path)
    url = redis_server.up(cfg, log=lambda _: None)
    client = redis_client.Redis.from_url(url)
    client.set("kept", "yes")
    first = redis_server.status(cfg)
    assert first.running
    assert first.pid is not None

    os.kill(first.pid, signal.SIGKILL)
    while redis_server.status(cfg).running:
        time.sleep(0.05)
    # A crash leaves the pid file; worse, the pid may now belong to another process.
    (cfg.service_dir("redis") / "redis.pid").write_text(f"{os.getpid()}\n")
    assert not redis_server.status(cfg).running

    redis_server.up(cfg, log=lambda _: None)
    assert redis_server.status(cfg).running
    assert client.get("kept") == b"yes"  # appendonly: written before the kill
    client.close()

    assert stack.down(cfg) == ["redis"]
    assert stack.down(cfg) == []
    assert (cfg.service_dir("redis") / "data").exists()
    stack.down(cfg, purge=True)
    assert not cfg.service_dir("redis").exists()
    assert (cfg.root / "cache").exists()


def test_kafka_restarts_after_a_crash(local_stack: StackConfig, tmp_path: Path):
    cfg = mini_stack(local_stack, tmp_path)
    try:
        kafka_broker.up(cfg, log=lambda _: None)
        pid = kafka_broker.status(cfg).pid
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        while kafka_broker.status(cfg).running:
            time.sleep(0.05)
        assert kafka_broker.up(cfg, log=lambda _: None) == f"127.0.0.1:{cfg.kafka_port}"
        again = kafka_broker.status(cfg)
        assert again.running
        assert again.pid != pid
    finally:
        stack.down(cfg, purge=True)


def preloaded(cfg: StackConfig) -> str:
    with psycopg.connect(postgres.url(cfg, "postgres")) as conn:
        row = conn.execute("SHOW shared_preload_libraries").fetchone()
    assert row is not None
    return str(row[0])


def test_postgres_follows_the_timescaledb_switch(plain_stack: StackConfig):
    assert preloaded(plain_stack) == ""
    first_pid = postgres.status(plain_stack).pid
    try:
        postgres.up(replace(plain_stack, timescaledb=True), log=lambda _: None)
        assert preloaded(plain_stack) == "timescaledb"
        assert postgres.status(plain_stack).pid != first_pid
    finally:
        postgres.up(plain_stack, log=lambda _: None)
    assert preloaded(plain_stack) == ""
    same_pid = postgres.status(plain_stack).pid
    postgres.up(plain_stack, log=lambda _: None)
    assert postgres.status(plain_stack).pid == same_pid  # unchanged settings: no restart
