"""The unit tree, agencies and procedures as pages need them, from ``refdata.db.load``.

``COUNTRY`` ("VN") stands for the whole country: its children are the provinces in force.
A geography with districts (province → district → commune) and one without (province →
commune) are the same tree here: a unit's children are whatever units name it as parent.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from dashboard.errors import UnknownUnit
from dashboard.i18n import Lang, t
from kpi.model import COUNTRY
from kpi.queries import Catalog
from refdata.model import Agency, Procedure, ReferenceData, Unit

__all__ = ["COUNTRY", "Reference"]  # pages name the country through this module


@dataclass(frozen=True)
class Reference:
    data: ReferenceData
    on: date
    catalog: Catalog = field(init=False)
    units: dict[str, Unit] = field(init=False)
    _children: dict[str | None, list[str]] = field(init=False)

    def __post_init__(self) -> None:
        in_force = {
            u.code: u
            for u in self.data.units
            if u.valid_from <= self.on and (u.valid_to is None or u.valid_to > self.on)
        }
        children: dict[str | None, list[str]] = defaultdict(list)
        for unit in in_force.values():
            children[unit.parent_code].append(unit.code)
        object.__setattr__(self, "catalog", Catalog.of(self.data))
        object.__setattr__(self, "units", in_force)
        object.__setattr__(self, "_children", {k: sorted(v) for k, v in children.items()})

    def check(self, code: str) -> str:
        """``code`` if it is the country or a unit in force; else ``UnknownUnit``."""
        if code != COUNTRY and code not in self.units:
            raise UnknownUnit(code)
        return code

    def children(self, code: str) -> list[str]:
        return list(self._children.get(None if code == COUNTRY else code, ()))

    def name(self, code: str, lang: Lang) -> str:
        if code == COUNTRY:
            return t("country", lang)
        unit = self.units.get(code)
        return unit.name if unit else code

    def ancestors(self, code: str) -> list[str]:
        """From the country down to ``code`` itself."""
        chain = [code] if code != COUNTRY else []
        while chain and (parent := self.units[chain[0]].parent_code) is not None:
            chain.insert(0, parent)
        return [COUNTRY, *chain]

    def subtree(self, code: str) -> set[str] | None:
        """Every unit code at or below ``code``; None for the whole country."""
        if code == COUNTRY:
            return None
        found, todo = set(), [code]
        while todo:
            current = todo.pop()
            found.add(current)
            todo.extend(self._children.get(current, ()))
        return found

    def agencies_in(self, code: str) -> list[Agency]:
        below = self.subtree(code)
        return [a for a in self.data.agencies if below is None or a.unit_code in below]

    def procedures(self) -> tuple[Procedure, ...]:
        return self.data.procedures

    def agency_name(self, code: str) -> str:
        return next((a.name for a in self.data.agencies if a.code == code), code)

    def procedure_name(self, code: str) -> str:
        return next((p.name for p in self.data.procedures if p.code == code), code)
