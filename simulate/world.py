"""The simulated world: each unit's size and habits, and what it receives, fixed by the seed.

Built once from the reference data. Every unit in force gets a deterministic size and
its own propensities (online filing, lateness, digitization, payment…), so units differ
and maps are not uniform. A unit receives the procedures of its own level and, less
often, of the levels above it (``rates.FILED_AT``); each such route names the agency that
resolves it: a provincial department (or vertical agency, else the service centre) of
the unit's province, the UBND of its district, or the UBND of the commune itself.
"""

from __future__ import annotations

import zlib
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from itertools import accumulate
from random import Random

from refdata.model import Agency, Procedure, ReferenceData, Unit
from simulate import rates
from simulate.seeds import seeded
from simulate.workdays import WorkCalendar


@dataclass(frozen=True)
class UnitProfile:
    """A unit's habits: probabilities fixed for the whole run."""

    unit: Unit
    size: float
    online_propensity: float  # P(online | procedure offered "full")
    late: float
    vneid_online: float
    vneid_counter: float
    reused: float
    digitized_counter: float
    pay_online_if_online: float
    pay_online_if_counter: float
    e_result_online: float
    e_result_counter: float


@dataclass(frozen=True)
class Route:
    """A procedure as filed at one unit: who resolves it, its fee, how often online."""

    procedure: Procedure
    agency_code: str
    fee_vnd: int
    speed: float  # mean share of the deadline an on-time resolution takes
    online_share: float  # P(online) when filed at this unit


@dataclass(frozen=True)
class Intake:
    """One receiving unit: its routes with cumulative weights, for counter and online filings."""

    profile: UnitProfile
    counter_routes: tuple[Route, ...]
    counter_cum: tuple[float, ...]
    online_routes: tuple[Route, ...]
    online_cum: tuple[float, ...]

    @property
    def counter_weight(self) -> float:
        return self.counter_cum[-1] if self.counter_cum else 0.0

    @property
    def online_weight(self) -> float:
        return self.online_cum[-1] if self.online_cum else 0.0

    def counter_route(self, rng: Random) -> Route:
        return self.counter_routes[_pick(self.counter_cum, rng)]

    def online_route(self, rng: Random) -> Route:
        return self.online_routes[_pick(self.online_cum, rng)]


@dataclass(frozen=True)
class World:
    calendar: WorkCalendar
    intakes: tuple[Intake, ...]
    counter_cum: tuple[float, ...]
    online_cum: tuple[float, ...]
    units: dict[str, Unit]

    @property
    def counter_total(self) -> float:
        return self.counter_cum[-1] if self.counter_cum else 0.0

    @property
    def online_total(self) -> float:
        return self.online_cum[-1] if self.online_cum else 0.0

    def counter_intake(self, rng: Random) -> Intake:
        return self.intakes[_pick(self.counter_cum, rng)]

    def online_intake(self, rng: Random) -> Intake:
        return self.intakes[_pick(self.online_cum, rng)]

    def online_share(self, unit_code: str) -> float:
        """The expected share of a unit's intake filed online."""
        for intake in self.intakes:
            if intake.profile.unit.code == unit_code:
                total = intake.counter_weight + intake.online_weight
                return intake.online_weight / total if total else 0.0
        msg = f"unit {unit_code!r} receives nothing in this world"
        raise KeyError(msg)


def build_world(refdata: ReferenceData, *, seed: int, calendar: WorkCalendar, as_of: date) -> World:
    """The world of ``refdata`` on ``as_of``: units in force then, with profiles from ``seed``."""
    units = {u.code: u for u in refdata.units if _in_force(u, as_of)}
    if not units:
        msg = f"the reference data has no administrative unit in force on {as_of}"
        raise ValueError(msg)
    catalog = _Catalog(refdata.procedures, refdata.agencies, seed)
    intakes = []
    for code in sorted(units):
        intake = _intake(units[code], units, catalog, seed)
        if intake is not None:
            intakes.append(intake)
    if not intakes:
        msg = "no unit can receive any procedure: check the agencies and procedures of the reference data"
        raise ValueError(msg)
    return World(
        calendar=calendar,
        intakes=tuple(intakes),
        counter_cum=tuple(accumulate(i.counter_weight for i in intakes)),
        online_cum=tuple(accumulate(i.online_weight for i in intakes)),
        units=units,
    )


def ancestors(unit: Unit, units: dict[str, Unit]) -> list[Unit]:
    """``unit`` and its ancestors in force, nearest first."""
    chain = [unit]
    while chain[-1].parent_code is not None and chain[-1].parent_code in units and len(chain) < 5:
        chain.append(units[chain[-1].parent_code])
    return chain


def _in_force(unit: Unit, day: date) -> bool:
    return unit.valid_from <= day and (unit.valid_to is None or day < unit.valid_to)


def _pick(cum: Sequence[float], rng: Random) -> int:
    return min(bisect_right(cum, rng.random() * cum[-1]), len(cum) - 1)


def _between(rng: Random, bounds: tuple[float, float], a: float = 2.0, b: float = 2.0) -> float:
    low, high = bounds
    return low + (high - low) * rng.betavariate(a, b)


def _profile(unit: Unit, seed: int) -> UnitProfile:
    rng = seeded(seed, "unit", unit.code)
    return UnitProfile(
        unit=unit,
        size=rates.UNIT_SIZE[unit.level] * rng.lognormvariate(0.0, rates.UNIT_SIZE_SIGMA),
        online_propensity=_between(rng, rates.ONLINE_PROPENSITY, 1.4, 1.9),
        late=_between(rng, rates.LATE, 1.2, 4.0),
        vneid_online=_between(rng, rates.VNEID_ONLINE),
        vneid_counter=_between(rng, rates.VNEID_COUNTER),
        reused=_between(rng, rates.REUSED_DATA),
        digitized_counter=_between(rng, rates.DIGITIZED_COUNTER),
        pay_online_if_online=_between(rng, rates.PAY_ONLINE_IF_ONLINE),
        pay_online_if_counter=_between(rng, rates.PAY_ONLINE_IF_COUNTER),
        e_result_online=_between(rng, rates.E_RESULT_ONLINE),
        e_result_counter=_between(rng, rates.E_RESULT_COUNTER),
    )


class _Catalog:
    """The procedures with their seed-fixed traits, and who resolves them where (memoized)."""

    def __init__(self, procedures: Sequence[Procedure], agencies: Sequence[Agency], seed: int) -> None:
        self.procedures = sorted(procedures, key=lambda p: p.code)
        self.traits: dict[str, tuple[float, int, float]] = {}  # popularity, fee, speed
        for procedure in self.procedures:
            rng = seeded(seed, "procedure", procedure.code)
            popularity = rng.lognormvariate(0.0, rates.PROCEDURE_SIGMA)
            popularity *= rates.ESSENTIAL_WEIGHT if procedure.essential else 1.0
            fee = rng.choice(rates.FEES_VND) if procedure.has_fee else 0
            self.traits[procedure.code] = (popularity, fee, rng.uniform(0.3, 0.75))
        self.agencies: dict[str, list[Agency]] = {}
        for agency in sorted(agencies, key=lambda a: a.code):
            self.agencies.setdefault(agency.unit_code, []).append(agency)
        self._resolvers: dict[tuple[str, str], str | None] = {}

    def resolver(self, procedure: Procedure, chain: list[Unit]) -> str | None:
        """The agency that resolves ``procedure`` filed at ``chain[0]``, or None when there is none."""
        at_level = [u for u in chain if u.level == procedure.level]
        if not at_level or (procedure.level == "commune" and chain[0].level != "commune"):
            return None
        key = (at_level[0].code, procedure.code)
        if key not in self._resolvers:
            self._resolvers[key] = self._choose(procedure, self.agencies.get(at_level[0].code, []))
        return self._resolvers[key]

    @staticmethod
    def _choose(procedure: Procedure, own: list[Agency]) -> str | None:
        preferred = {
            "province": (("department", "vertical"), ("service_centre",)),
            "district": (("district_committee",), ("service_centre",)),
            "commune": (("commune_committee",), ("service_centre",)),
        }[procedure.level]
        for kinds in (*preferred, None):
            candidates = [a for a in own if kinds is None or a.kind in kinds]
            if candidates:
                return candidates[zlib.crc32(procedure.code.encode()) % len(candidates)].code
        return None


def _intake(unit: Unit, units: dict[str, Unit], catalog: _Catalog, seed: int) -> Intake | None:
    profile = _profile(unit, seed)
    chain = ancestors(unit, units)
    rng = seeded(seed, "mix", unit.code)
    counter: list[tuple[Route, float]] = []
    online: list[tuple[Route, float]] = []
    for procedure in catalog.procedures:
        filed = rates.FILED_AT.get((unit.level, procedure.level), 0.0)
        agency = catalog.resolver(procedure, chain) if filed else None
        if agency is None:
            continue
        share = {"full": 1.0, "partial": rates.PARTIAL_FACTOR, "none": 0.0}[procedure.online_level]
        share *= profile.online_propensity
        popularity, fee, speed = catalog.traits[procedure.code]
        route = Route(procedure, agency, fee, speed, share)
        weight = popularity * filed * rng.lognormvariate(0.0, rates.UNIT_PROCEDURE_SIGMA) * profile.size
        if share < 1.0:
            counter.append((route, weight * (1.0 - share)))
        if share > 0.0:
            online.append((route, weight * share))
    if not counter and not online:
        return None
    return Intake(
        profile=profile,
        counter_routes=tuple(r for r, _ in counter),
        counter_cum=tuple(accumulate(w for _, w in counter)),
        online_routes=tuple(r for r, _ in online),
        online_cum=tuple(accumulate(w for _, w in online)),
    )
