"""Scenarios: what goes wrong, where and from when, for demos and alert tests.

A scenario is named on the command line as ``NAME`` or ``NAME:key=value,key=value``:

``normal``
    Nothing goes wrong.
``online-collapse``
    In one sample district (with its communes) the online channel breaks from ``start``:
    only ``kept`` of the online submissions still arrive (the rest are lost, as in a
    portal outage) and, unless ``stall=no``, online applications in progress there are
    no longer resolved. The district's online submission and online resolution rates
    fall to near 0 while other units carry on. Parameters: ``unit`` (code; default a
    sample district chosen by the seed, else another sample unit with children),
    ``start`` (RFC 3339 with offset) or ``hours_ago`` (default 6, before now),
    ``kept`` (default 0.02), ``stall`` (yes/no, default yes), ``hours`` (how long it lasts;
    default: to the end of the run): from then on online submissions arrive and are resolved
    as before (those stalled during it stay unresolved).
``backlog``
    In one sample district (and its communes) resolutions stall from ``start``: every
    resolution that would have happened after ``start`` comes ``stall_days`` later, so
    open applications pile up and pass their deadlines. Parameters: ``unit``, ``start``
    or ``hours_ago`` (default 72), ``stall_days`` (default 20).

The chosen unit is deterministic from the seed and reported in the run's summary.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from random import Random

from refdata.model import Unit
from simulate.seeds import seeded
from simulate.world import World, ancestors

SCENARIOS = ("normal", "online-collapse", "backlog")
_PARAMS = {
    "normal": frozenset[str](),
    "online-collapse": frozenset({"unit", "start", "hours_ago", "kept", "stall", "hours"}),
    "backlog": frozenset({"unit", "start", "hours_ago", "stall_days"}),
}
_HOURS_AGO = {"online-collapse": 6.0, "backlog": 72.0}


@dataclass(frozen=True)
class Scenario:
    """A resolved scenario: the unit it hits, from when, and how."""

    name: str = "normal"
    unit_code: str | None = None
    unit_name: str | None = None
    start: datetime | None = None
    affected: frozenset[str] = frozenset()  # the unit and its descendants
    online_kept: float = 1.0
    stall_online: bool = False
    stall_seconds: int = 0
    params: Mapping[str, str] = field(default_factory=dict)
    start_epoch: int = 0  # ``start`` in epoch seconds
    end_epoch: int | None = None  # when it ends, in epoch seconds; None: never

    def _hits(self, unit_code: str, t: int) -> bool:
        ended = self.end_epoch is not None and t >= self.end_epoch
        return t >= self.start_epoch and not ended and unit_code in self.affected

    def keeps_online(self, unit_code: str, t: int, rng: Random) -> bool:
        """Whether an online submission at ``t`` in ``unit_code`` still arrives."""
        if self.online_kept >= 1.0 or not self._hits(unit_code, t):
            return True
        return rng.random() < self.online_kept

    def resolution(self, unit_code: str, online: bool, t: int) -> int | None:
        """When a resolution planned at ``t`` happens, or None when it never does."""
        if not self._hits(unit_code, t):
            return t
        if self.stall_online and online:
            return None
        return t + self.stall_seconds

    def describe(self) -> str:
        if self.unit_code is None:
            return self.name
        until = ""
        if self.end_epoch is not None and self.start is not None:
            end = self.start + timedelta(seconds=self.end_epoch - self.start_epoch)
            until = f" until {end:%Y-%m-%d %H:%M %z}"
        since = f"{self.start:%Y-%m-%d %H:%M %z}"
        return f"{self.name}: unit {self.unit_code} {self.unit_name} from {since}{until}"


def parse(spec: str) -> tuple[str, dict[str, str]]:
    """``NAME[:key=value,...]`` → (name, params), checked against the known scenarios."""
    name, _, rest = spec.strip().partition(":")
    if name not in SCENARIOS:
        msg = f"unknown scenario {name!r}; expected one of {', '.join(SCENARIOS)}"
        raise ValueError(msg)
    params: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in rest.split(","))):
        key, eq, value = item.partition("=")
        if not eq or key.strip() not in _PARAMS[name]:
            known = ", ".join(sorted(_PARAMS[name])) or "none"
            msg = f"scenario {name}: bad parameter {item!r} (parameters: {known})"
            raise ValueError(msg)
        params[key.strip()] = value.strip()
    return name, params


def resolve(spec: str, world: World, *, seed: int, now: datetime) -> Scenario:
    """The scenario ``spec`` in ``world``: its unit chosen by ``seed``, its start before ``now``."""
    name, params = parse(spec)
    if name == "normal":
        return Scenario()
    unit = _unit(name, params.get("unit"), world, seed)
    start = _start(name, params, now)
    base = Scenario(
        name=name,
        unit_code=unit.code,
        unit_name=unit.name,
        start=start,
        affected=_subtree(unit, world),
        params=params,
        start_epoch=int(start.timestamp()),
    )
    if name == "online-collapse":
        kept = _fraction(params.get("kept", "0.02"), "kept")
        stall = params.get("stall", "yes").lower()
        if stall not in ("yes", "no"):
            msg = f"scenario {name}: stall is yes or no, got {stall!r}"
            raise ValueError(msg)
        end = None
        if "hours" in params:
            end = base.start_epoch + int(_number(params["hours"], "hours") * 3600)
        return replace(base, online_kept=kept, stall_online=stall == "yes", end_epoch=end)
    days = _number(params.get("stall_days", "20"), "stall_days")
    return replace(base, stall_seconds=int(days * 86_400))


def _unit(name: str, code: str | None, world: World, seed: int) -> Unit:
    receiving = {i.profile.unit.code for i in world.intakes}
    if code is not None:
        if code not in world.units:
            msg = f"scenario {name}: unit {code!r} is not in the reference data (in force)"
            raise ValueError(msg)
        return world.units[code]
    with_children = {u.parent_code for u in world.units.values() if u.parent_code in receiving}
    tiers = (
        [u for u in world.units.values() if u.is_sample and u.level == "district"],
        [
            u
            for u in world.units.values()
            if u.is_sample and u.code in with_children and u.level != "province"
        ],
        [u for u in world.units.values() if u.is_sample and u.level != "province" and u.code in receiving],
        [u for u in world.units.values() if u.level != "province" and u.code in receiving],
        [u for u in world.units.values() if u.code in receiving],
    )
    candidates = next(sorted(t, key=lambda u: u.code) for t in tiers if t)
    return seeded(seed, "scenario", name).choice(candidates)


def _subtree(unit: Unit, world: World) -> frozenset[str]:
    return frozenset(u.code for u in world.units.values() if unit in ancestors(u, world.units))


def _start(name: str, params: Mapping[str, str], now: datetime) -> datetime:
    if "start" in params:
        try:
            start = datetime.fromisoformat(params["start"])
        except ValueError:
            start = None
        if start is None or start.tzinfo is None:
            msg = f"scenario {name}: start is an RFC 3339 time with offset, got {params['start']!r}"
            raise ValueError(msg)
        return start
    hours = _number(params.get("hours_ago", str(_HOURS_AGO[name])), "hours_ago")
    return now - timedelta(hours=hours)


def _number(raw: str, key: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value >= 0:
        msg = f"scenario parameter {key} is a number ≥ 0, got {raw!r}"
        raise ValueError(msg)
    return value


def _fraction(raw: str, key: str) -> float:
    value = _number(raw, key)
    if value > 1:
        msg = f"scenario parameter {key} is between 0 and 1, got {raw!r}"
        raise ValueError(msg)
    return value
