"""The whole system on this machine, as child processes of ``ioc up``: ingest, the simulator
(unless real sources feed Kafka), the alert engine and the dashboard.

Each part is the same ``ioc`` command an operator would run by hand; this module only starts
them, says where the dashboard is, and stops them together: on Ctrl-C or SIGTERM every child
gets SIGTERM (the simulator first, so ingest can take what it sent) and is waited for. If a
part dies on its own, the others are stopped too and ``ioc up`` fails with its name.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass

STOP_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Part:
    name: str
    args: tuple[str, ...]  # of the ioc command


def parts(
    *,
    simulate: bool,
    history_days: float,
    rate: float,
    host: str,
    port: int,
    workers: int,
    scenario: str = "normal",
    seed: int | None = None,
) -> list[Part]:
    """What runs, in stopping order (what feeds Kafka stops first)."""
    chosen = []
    if simulate:
        history = ("--history-days", f"{history_days:g}") if history_days > 0 else ()
        extra: tuple[str, ...] = ("--scenario", scenario) if scenario != "normal" else ()
        extra += ("--seed", str(seed)) if seed is not None else ()
        chosen.append(Part("simulate", ("simulate", *history, "--rate", f"{rate:g}", *extra)))
    chosen.append(Part("ingest", ("ingest",)))
    chosen.append(Part("alerts", ("alerts",)))
    chosen.append(
        Part("dashboard", ("serve", "--host", host, "--port", str(port), "--workers", str(workers)))
    )
    return chosen


def run(chosen: list[Part], say: Callable[[str], None], stop: threading.Event | None = None) -> int:
    """Run the parts until ``stop`` (set by SIGINT/SIGTERM) or one of them exits; 0 on a clean stop."""
    stop = stop or threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    children: dict[str, subprocess.Popen[bytes]] = {}
    failed: str | None = None
    try:
        for part in chosen:
            children[part.name] = subprocess.Popen([sys.executable, "-m", "ioc", *part.args])  # noqa: S603
            say(f"{part.name} started (pid {children[part.name].pid}): ioc {' '.join(part.args)}")
        while not stop.wait(0.5):
            failed = next((name for name, child in children.items() if child.poll() is not None), None)
            if failed is not None:
                if failed == "simulate" and children[failed].returncode == 0:
                    children.pop(failed)  # a simulation that ran its course
                    failed = None
                    continue
                say(f"{failed} exited with status {children[failed].returncode}; stopping the others")
                break
    finally:
        for name, child in children.items():
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
                try:
                    child.wait(timeout=STOP_TIMEOUT_S)
                except subprocess.TimeoutExpired:
                    say(f"{name} did not stop within {STOP_TIMEOUT_S:.0f} s; killed")
                    child.kill()
                    child.wait()
            say(f"{name} stopped")
    return 1 if failed else 0
