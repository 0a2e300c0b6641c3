"""Detached server processes tracked by pid files.

A pid file is trusted only while its process is alive and its command line still
names the program we started, so a file left by a crash (or a pid reused by the
system) reads as "not running" instead of blocking a start.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from stack.errors import StackError


def start_detached(
    argv: Sequence[str],
    *,
    log_path: Path,
    pid_path: Path,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> int:
    """Start ``argv`` in its own session, output appended to ``log_path``; return its pid."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        proc = subprocess.Popen(  # noqa: S603 - argv is built by the stack, not from input
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=cwd,
            start_new_session=True,
        )
    pid_path.write_text(f"{proc.pid}\n")
    # Reap the server when it exits (no zombie while this process lives on); the
    # daemon thread does not keep this process alive, and the server outlives it.
    threading.Thread(target=proc.wait, name=f"reap-{proc.pid}", daemon=True).start()
    return proc.pid


def _cmdline(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return ""
    return raw.replace(b"\0", b" ").decode(errors="replace")


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def running_pid(pid_path: Path, marker: str) -> int | None:
    """The pid in ``pid_path`` if that process lives and its command line contains ``marker``.

    A stale file is removed.
    """
    try:
        pid = int(pid_path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    if _alive(pid) and marker in _cmdline(pid):
        return pid
    pid_path.unlink(missing_ok=True)
    return None


def stop_pid(pid_path: Path, marker: str, *, timeout: float = 30.0) -> bool:
    """Stop the process of ``pid_path``: SIGTERM, then SIGKILL after ``timeout``.

    Returns whether a process was running.
    """
    pid = running_pid(pid_path, marker)
    if pid is None:
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if _alive(pid):
        os.kill(pid, signal.SIGKILL)
        while _alive(pid):
            time.sleep(0.05)
    pid_path.unlink(missing_ok=True)
    return True


def log_tail(log_path: Path, lines: int = 15) -> str:
    """The last ``lines`` lines of a log file, or an empty string."""
    try:
        text = log_path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def wait_until(
    check: Callable[[], bool],
    *,
    what: str,
    timeout: float,
    log_path: Path | None = None,
    alive: Callable[[], bool] | None = None,
) -> None:
    """Poll ``check`` until it is true; raise StackError naming ``what`` otherwise.

    ``alive`` (when given) is asked between polls, so a server that died at start
    fails at once with its log instead of after the whole timeout.
    """
    deadline = time.monotonic() + timeout
    delay = 0.05
    while True:
        if check():
            return
        if alive is not None and not alive():
            problem = f"{what} exited during start-up"
            break
        if time.monotonic() >= deadline:
            problem = f"{what} did not answer within {timeout:.0f} s"
            break
        time.sleep(delay)
        delay = min(delay * 2, 0.5)
    tail = log_tail(log_path) if log_path else ""
    detail = f"; last lines of {log_path}:\n{tail}" if tail else ""
    raise StackError(problem + detail)


def check_port_free(port: int, setting: str, *, grace_s: float = 10.0) -> None:
    """Raise StackError naming ``setting`` when another program listens on ``port``.

    A port is given ``grace_s`` to come free: after a crash, a server's forked children
    (Redis's persistence child, say) may hold its socket for a few more seconds.
    """
    deadline = time.monotonic() + grace_s
    while not _port_free(port):
        if time.monotonic() >= deadline:
            msg = f"port {port} is taken by another program; choose another with {setting}"
            raise StackError(msg)
        time.sleep(0.2)


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True
