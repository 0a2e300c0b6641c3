"""A private Redis server for the stack, on 127.0.0.1 with its own data folder.

Redis keeps cache and change notifications only, but append-only persistence is on so a
restart of the stack behaves like a restart in production.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable

import redis

from stack import apt
from stack.layout import ServiceStatus, StackConfig
from stack.procs import check_port_free, running_pid, start_detached, stop_pid, wait_until

Log = Callable[[str], None]


def url(cfg: StackConfig) -> str:
    return f"redis://127.0.0.1:{cfg.redis_port}/0"


def up(cfg: StackConfig, *, log: Log) -> str:
    """Install if needed, start unless running, wait for PING; return the URL."""
    server = shutil.which("redis-server")
    if server is None:
        apt.ensure(["redis-server"], why="Redis", log=log)
        server = "/usr/bin/redis-server"
    home = cfg.service_dir("redis")
    conf, pid_path, log_path = home / "redis.conf", home / "redis.pid", home / "redis.log"
    if running_pid(pid_path, str(conf)) is None:
        (home / "data").mkdir(parents=True, exist_ok=True)
        conf.write_text(
            "# written by `ioc stack up`; edits are overwritten\n"
            f"bind 127.0.0.1\nport {cfg.redis_port}\ndir {home / 'data'}\n"
            'daemonize no\nset-proc-title no\nappendonly yes\nsave ""\nloglevel warning\n'
        )
        check_port_free(cfg.redis_port, "IOC_STACK_REDIS_PORT")
        log(f"starting Redis on 127.0.0.1:{cfg.redis_port}")
        start_detached([server, str(conf)], log_path=log_path, pid_path=pid_path)
    wait_until(
        lambda: _answers(cfg),
        what="Redis",
        timeout=30,
        log_path=log_path,
        alive=lambda: running_pid(pid_path, str(conf)) is not None,
    )
    return url(cfg)


def down(cfg: StackConfig) -> bool:
    home = cfg.service_dir("redis")
    return stop_pid(home / "redis.pid", str(home / "redis.conf"))


def status(cfg: StackConfig) -> ServiceStatus:
    home = cfg.service_dir("redis")
    pid = running_pid(home / "redis.pid", str(home / "redis.conf"))
    return ServiceStatus("redis", pid is not None, pid, url(cfg), str(home / "data"))


def _answers(cfg: StackConfig) -> bool:
    client = redis.Redis(host="127.0.0.1", port=cfg.redis_port, socket_connect_timeout=1)
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()
