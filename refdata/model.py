"""The reference data every part reads: plain frozen records, no I/O.

Codes are official where they exist (units: province 2 digits, district 3, commune 5,
never reused); a unit generated for demonstration is flagged ``is_sample``.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Literal

UnitLevel = Literal["province", "district", "commune"]
OnlineLevel = Literal["full", "partial", "none"]
AgencyKind = Literal["department", "service_centre", "commune_committee", "district_committee", "vertical"]


@dataclass(frozen=True)
class Unit:
    code: str
    name: str  # Vietnamese, with diacritics
    level: UnitLevel
    parent_code: str | None
    valid_from: date
    valid_to: date | None = None  # exclusive; None while in force
    is_sample: bool = False


@dataclass(frozen=True)
class Agency:
    code: str
    name: str
    kind: AgencyKind
    unit_code: str  # the unit the agency belongs to


@dataclass(frozen=True)
class Procedure:
    code: str  # mã thủ tục
    name: str
    sector: str  # lĩnh vực
    online_level: OnlineLevel
    level: UnitLevel  # level of government that handles it
    has_fee: bool
    result_is_document: bool
    max_days: int  # maximum processing time, working days
    essential: bool = False  # one of the 25 essential services of Decision 06/QĐ-TTg


@dataclass(frozen=True)
class Holiday:
    day: date
    name: str
    working: bool = False  # True for an official make-up working day (ngày làm bù)


@dataclass(frozen=True)
class ReferenceData:
    units: tuple[Unit, ...] = ()
    agencies: tuple[Agency, ...] = ()
    procedures: tuple[Procedure, ...] = ()
    holidays: tuple[Holiday, ...] = ()
    unit_codes: frozenset[str] = field(init=False)
    agency_codes: frozenset[str] = field(init=False)
    procedure_codes: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "unit_codes", frozenset(u.code for u in self.units))
        object.__setattr__(self, "agency_codes", frozenset(a.code for a in self.agencies))
        object.__setattr__(self, "procedure_codes", frozenset(p.code for p in self.procedures))

    def subtree(self, roots: Collection[str]) -> set[str]:
        """The codes of ``roots`` and every unit below them, by the units' parent links."""
        children: dict[str, list[str]] = {}
        for unit in self.units:
            if unit.parent_code is not None:
                children.setdefault(unit.parent_code, []).append(unit.code)
        found, todo = set(roots), list(roots)
        while todo:
            for child in children.get(todo.pop(), ()):
                if child not in found:
                    found.add(child)
                    todo.append(child)
        return found

    def within(self, roots: Collection[str]) -> ReferenceData:
        """These data cut to the subtrees of ``roots``: their units and those units' agencies."""
        inside = self.subtree(roots)
        return replace(
            self,
            units=tuple(u for u in self.units if u.code in inside),
            agencies=tuple(a for a in self.agencies if a.unit_code in inside),
        )
