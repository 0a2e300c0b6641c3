"""Which target applies to a KPI in a unit (``alerts.targets``), on the scale a view plots.

A target for the unit itself wins over one for every unit of its level; targets for one
agency are not a unit's target. A target's ``comparison`` says which side is good. None: no
target applies, and views colour by value instead (and say so).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

from alerts.targets import Target
from kpi import registry


@dataclass(frozen=True)
class Goal:
    kpi: str
    value: Fraction  # on the KPI's own scale: a fraction for ratios, days, a count
    higher_is_better: bool

    def plotted(self) -> float:
        """On a chart's scale: percent for ratios."""
        return float(plotted(self.kpi, self.value))

    def gap(self, value: Fraction | int | None) -> Fraction | None:
        """How far ``value`` is on the good side of the target (negative: short of it)."""
        if value is None:
            return None
        difference = Fraction(value) - self.value
        return difference if self.higher_is_better else -difference


def goal_for(targets: Sequence[Target], kpi: str, unit_code: str | None, level: str | None) -> Goal | None:
    """The target of ``kpi`` for the unit (None: the whole country, which has no target)."""
    mine = [t for t in targets if t.kpi == kpi and t.agency is None]
    chosen = next((t for t in mine if unit_code is not None and t.unit == unit_code), None)
    if chosen is None:
        chosen = next((t for t in mine if level is not None and t.unit is None and t.level == level), None)
    if chosen is None:
        return None
    threshold = Fraction(chosen.threshold)
    if registry.get(kpi).display == "percent":
        threshold /= 100
    return Goal(kpi, threshold, chosen.comparison == ">=")


def plotted(kpi: str, value: Fraction | int) -> Fraction:
    """A KPI value on a chart's scale: ratios in percent, the rest as they are."""
    return Fraction(value) * 100 if registry.get(kpi).display == "percent" else Fraction(value)
