"""The Decision 766 index, estimated from our KPIs (DOMAIN.md §3, "Decision 766 index").

``estimate(rates)`` scores the groups computable from application events: progress of resolution
(20), online services (12), online payment (10), digitization (22) and procedure-level
satisfaction (6 of 18): 70 of the 100 points. Each indicator earns
``max * min(1, rate / threshold)``, exactly (``Fraction``). The configuration,
``kpi/index766.yaml``, names each indicator's KPI, maximum and threshold, the groups not covered
with their reasons (publicity and transparency, 18; the rest of satisfaction, 12), and the
rating bands; only "90 and above: xuất sắc" and "under 50: yếu" are confirmed, the bands between
are marked unconfirmed. Choices, all written in the file: the online payment threshold (50 %,
DOMAIN.md's demo target), the splits of the online-services and digitization groups, and
"procedures offered online" measured by ``services_with_online_apps_rate``.

What is not guaranteed: this is an estimate, not the official score. An indicator whose KPI has
no data (``None``) earns nothing and leaves the maximum it could have earned out of
``evaluated_max``; the band rates ``score``, the points scaled to 100 over ``evaluated_max``, so
a unit is not rated down for the groups we cannot see.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from functools import cache
from importlib import resources
from typing import Any

import yaml

from kpi import registry


@dataclass(frozen=True)
class Indicator:
    key: str
    kpi: str
    max_points: int
    threshold: Fraction
    confirmed: bool


@dataclass(frozen=True)
class Group:
    key: str
    name_vi: str
    name_en: str
    max_points: int
    indicators: tuple[Indicator, ...]


@dataclass(frozen=True)
class Uncovered:
    key: str
    points: int
    name_vi: str
    name_en: str
    reason_vi: str
    reason_en: str


@dataclass(frozen=True)
class Band:
    key: str
    min_score: Fraction
    name_vi: str
    name_en: str
    confirmed: bool


@dataclass(frozen=True)
class Config:
    total_points: int
    groups: tuple[Group, ...]
    not_covered: tuple[Uncovered, ...]
    bands: tuple[Band, ...]  # highest first, the last from 0

    @property
    def covered_max(self) -> int:
        return sum(g.max_points for g in self.groups)


@dataclass(frozen=True)
class IndicatorScore:
    indicator: Indicator
    rate: Fraction | None
    points: Fraction | None  # None when the KPI has no data


@dataclass(frozen=True)
class GroupScore:
    group: Group
    indicators: tuple[IndicatorScore, ...]
    points: Fraction
    evaluated_max: int  # maximum of the indicators that have data


@dataclass(frozen=True)
class Estimate:
    groups: tuple[GroupScore, ...]
    points: Fraction  # out of covered_max
    covered_max: int  # points of the index this estimate can compute (70 of 100)
    evaluated_max: int  # of those, the points whose KPI had data
    total_points: int
    score: Fraction | None  # points scaled to 100 over evaluated_max; None with no data at all
    band: Band | None
    not_covered: tuple[Uncovered, ...]


def estimate(rates: Mapping[str, Fraction | None], config: Config | None = None) -> Estimate:
    """Points per indicator, group and in total from KPI values (key to rate, ``None`` = no data).

    A KPI of the configuration missing from ``rates`` is treated as no data.
    """
    config = config or load()
    groups = tuple(_score_group(group, rates) for group in config.groups)
    points = sum((g.points for g in groups), Fraction(0))
    evaluated = sum(g.evaluated_max for g in groups)
    score = points * 100 / evaluated if evaluated else None
    return Estimate(
        groups=groups,
        points=points,
        covered_max=config.covered_max,
        evaluated_max=evaluated,
        total_points=config.total_points,
        score=score,
        band=band_of(score, config) if score is not None else None,
        not_covered=config.not_covered,
    )


def indicator_points(indicator: Indicator, rate: Fraction | None) -> Fraction | None:
    """``max * min(1, rate / threshold)``; ``None`` when the rate is."""
    if rate is None:
        return None
    return indicator.max_points * min(Fraction(1), Fraction(rate) / indicator.threshold)


def band_of(score: Fraction, config: Config | None = None) -> Band:
    """The first band, from the highest, whose ``min_score`` the score reaches."""
    config = config or load()
    for band in config.bands:
        if score >= band.min_score:
            return band
    return config.bands[-1]  # pragma: no cover - load() requires a band from 0


def coverage_statement(result: Estimate, locale: registry.Locale = "vi") -> str:
    """One paragraph saying what the estimate covers and what it leaves out, and why."""
    if locale == "vi":
        head = (
            f"Ước tính {result.covered_max}/{result.total_points} điểm của Quyết định 766/QĐ-TTg"
            " tính được từ dữ liệu hồ sơ"
        )
        if result.evaluated_max != result.covered_max:
            head += f" (có dữ liệu cho {result.evaluated_max} điểm)"
        missing = " ".join(f"{u.name_vi} ({u.points} điểm): {u.reason_vi}" for u in result.not_covered)
        return f"{head}. Chưa tính: {missing}"
    head = f"Estimate of {result.covered_max} of the {result.total_points} points of Decision 766/QĐ-TTg"
    head += " computable from application data"
    if result.evaluated_max != result.covered_max:
        head += f" (data for {result.evaluated_max} points)"
    missing = " ".join(f"{u.name_en} ({u.points} points): {u.reason_en}" for u in result.not_covered)
    return f"{head}. Not covered: {missing}"


def _score_group(group: Group, rates: Mapping[str, Fraction | None]) -> GroupScore:
    scores = tuple(
        IndicatorScore(i, rates.get(i.kpi), indicator_points(i, rates.get(i.kpi))) for i in group.indicators
    )
    return GroupScore(
        group=group,
        indicators=scores,
        points=sum((s.points for s in scores if s.points is not None), Fraction(0)),
        evaluated_max=sum(s.indicator.max_points for s in scores if s.points is not None),
    )


# --- Configuration ----------------------------------------------------------------------------


class ConfigError(ValueError):
    """The Decision 766 configuration is inconsistent."""


@cache
def load() -> Config:
    """The packaged ``index766.yaml``, validated."""
    text = resources.files("kpi").joinpath("index766.yaml").read_text(encoding="utf-8")
    return parse(text)


def parse(text: str) -> Config:
    """A configuration from YAML text; raises ``ConfigError`` saying what is inconsistent."""
    data = yaml.safe_load(text)
    try:
        config = Config(
            total_points=int(data["total_points"]),
            groups=tuple(_group(g) for g in data["groups"]),
            not_covered=tuple(
                Uncovered(
                    str(u["key"]),
                    int(u["points"]),
                    str(u["name_vi"]),
                    str(u["name_en"]),
                    " ".join(str(u["reason_vi"]).split()),
                    " ".join(str(u["reason_en"]).split()),
                )
                for u in data["not_covered"]
            ),
            bands=tuple(
                Band(
                    str(b["key"]),
                    _exact(b["min_score"]),
                    str(b["name_vi"]),
                    str(b["name_en"]),
                    bool(b["confirmed"]),
                )
                for b in data["bands"]
            ),
        )
    except (KeyError, TypeError) as exc:
        msg = f"index766 configuration: missing or malformed entry {exc}"
        raise ConfigError(msg) from exc
    _check(config)
    return config


def _group(g: Any) -> Group:
    indicators = tuple(
        Indicator(
            str(i["key"]), str(i["kpi"]), int(i["max_points"]), _exact(i["threshold"]), bool(i["confirmed"])
        )
        for i in g["indicators"]
    )
    return Group(str(g["key"]), str(g["name_vi"]), str(g["name_en"]), int(g["max_points"]), indicators)


def _exact(value: object) -> Fraction:
    """A number written as text ("0.8") or a YAML number, read exactly (0.8 is 4/5)."""
    return Fraction(str(value))


def _check(config: Config) -> None:
    problems = []
    for group in config.groups:
        if sum(i.max_points for i in group.indicators) != group.max_points:
            problems.append(f"group {group.key!r}: indicators' points do not sum to {group.max_points}")
        for i in group.indicators:
            try:
                kind = registry.get(i.kpi).kind
            except registry.UnknownKpi:
                problems.append(f"indicator {i.key!r}: unknown KPI {i.kpi!r}")
                continue
            if kind != "ratio":
                problems.append(f"indicator {i.key!r}: KPI {i.kpi!r} is a {kind}, expected a ratio")
            if not 0 < i.threshold <= 1:
                problems.append(f"indicator {i.key!r}: threshold {i.threshold} should be in (0, 1]")
    uncovered = sum(u.points for u in config.not_covered)
    if config.covered_max + uncovered != config.total_points:
        problems.append(
            f"covered {config.covered_max} + not covered {uncovered} points should make {config.total_points}"
        )
    mins = [b.min_score for b in config.bands]
    if not mins or mins != sorted(mins, reverse=True) or len(set(mins)) != len(mins) or mins[-1] != 0:
        problems.append(f"bands should go strictly down from the highest to one from 0, got {mins}")
    if problems:
        msg = "index766 configuration: " + "; ".join(problems)
        raise ConfigError(msg)
