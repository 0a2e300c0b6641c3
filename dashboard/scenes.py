"""The wall display's scenes from YAML: which KPI, over which period, for how long.

Which scene shows is a function of the wall clock alone (``current``), so every worker and every
screen agree without keeping any state, and a reloaded page picks up where it was.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import yaml

from dashboard.errors import DashboardError
from kpi import periods, registry

DEFAULT_FILE = Path(__file__).resolve().parent / "scenes.example.yaml"


class ScenesError(DashboardError):
    """A scenes file the wall display cannot use; the message names the file and the scene."""


@dataclass(frozen=True)
class Scene:
    kpi: str
    period: periods.Named
    seconds: int


def load(path: Path | None) -> tuple[Scene, ...]:
    """The scenes of ``path`` (None: the shipped example), checked one by one."""
    source = path or DEFAULT_FILE
    try:
        raw = yaml.safe_load(source.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        msg = f"{source}: cannot read the scenes: {exc}"
        raise ScenesError(msg) from None
    if not isinstance(raw, list) or not raw:
        msg = f"{source}: expected a list of scenes (kpi, period, seconds)"
        raise ScenesError(msg)
    return tuple(_scene(source, number, item) for number, item in enumerate(raw, 1))


def current(scenes: tuple[Scene, ...], now: datetime) -> int:
    """The index of the scene on screen at ``now``: the scenes repeat from the epoch."""
    cycle = sum(s.seconds for s in scenes)
    moment = int(now.timestamp()) % cycle
    for index, scene in enumerate(scenes):
        if moment < scene.seconds:
            return index
        moment -= scene.seconds
    return 0  # pragma: no cover - the loop always returns


def _scene(source: Path, number: int, item: object) -> Scene:
    where = f"{source}: scene {number}"
    if not isinstance(item, dict):
        msg = f"{where}: expected a mapping with kpi, period and seconds"
        raise ScenesError(msg)
    kpi, period, seconds = item.get("kpi"), item.get("period", "month"), item.get("seconds", 60)
    try:
        registry.get(str(kpi))
    except registry.UnknownKpi as exc:
        msg = f"{where}: {exc.args[0]}"
        raise ScenesError(msg) from None
    if period not in periods.NAMES:
        msg = f"{where}: period {period!r} is not one of {', '.join(periods.NAMES)}"
        raise ScenesError(msg)
    if not isinstance(seconds, int) or not 5 <= seconds <= 3600:
        msg = f"{where}: seconds should be a whole number from 5 to 3600, got {seconds!r}"
        raise ScenesError(msg)
    return Scene(str(kpi), period, seconds)
