"""Alerts and targets in words, in the page's language: values as the KPI shows them, thresholds
with their comparison, windows, severities, local times and how long an episode lasted.

Built on ``dashboard.i18n`` (``kpi.registry.format_value`` for values): ``38,2 %`` and
``28/11/2026 10:02`` in Vietnamese, ``38.2%`` and ``2026-11-28 10:02`` in English.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from decimal import Decimal
from fractions import Fraction

from alerts.episodes import Episode
from dashboard import i18n
from dashboard.i18n import Lang
from kpi import registry

SYMBOLS = {">=": "≥", "<=": "≤"}
# Shape and word beside the colour, so that colour is never the only cue.
ICONS = {"critical": "◆", "warning": "▲", "info": "●"}


def known(kpi: str) -> bool:
    """Whether the registry has ``kpi`` (an old episode may name one it no longer has)."""
    try:
        registry.get(kpi)
    except KeyError:
        return False
    return True


def kpi_name(kpi: str, lang: Lang) -> str:
    """The KPI's name, or its key when the registry does not have it."""
    return i18n.kpi_name(kpi, lang) if known(kpi) else kpi


def value(kpi: str, found: Decimal | None, lang: Lang) -> str:
    """A KPI's value (its own scale: a fraction for ratios) as the KPI is shown."""
    if not known(kpi):
        return i18n.t("no_data", lang) if found is None else i18n.number(float(found), lang, 2)
    return i18n.kpi_value(kpi, None if found is None else Fraction(found), lang)


def threshold(kpi: str, comparison: str, amount: Decimal, lang: Lang) -> str:
    """``≥ 40,0 %``: a threshold as a target says it (percent for ratios), with its comparison."""
    symbol = SYMBOLS.get(comparison, comparison)
    if not known(kpi):
        return f"{symbol} {i18n.number(float(amount), lang, 2)}"
    scaled = Fraction(amount) / 100 if registry.get(kpi).display == "percent" else Fraction(amount)
    return f"{symbol} {i18n.kpi_value(kpi, scaled, lang)}"


def window(name: str, lang: Lang) -> str:
    key = f"window_{name}"
    return i18n.t(key, lang) if i18n.has(key) else name


def severity(name: str, lang: Lang) -> str:
    key = f"severity_{name}"
    return i18n.t(key, lang) if i18n.has(key) else name


def badge(name: str, lang: Lang) -> str:
    """``◆ Nghiêm trọng``: the severity's shape and word."""
    return f"{ICONS.get(name, '●')} {severity(name, lang)}"


def moment(at: datetime | None, tz: tzinfo, lang: Lang) -> str:
    """A time in the local time zone, to the minute; empty for none."""
    return "" if at is None else i18n.moment(at.astimezone(tz), lang)


def duration(seconds: float, lang: Lang) -> str:
    """``2 giờ 15 phút``, ``3 ngày 4 giờ``, ``45 phút``; ``dưới 1 phút`` below a minute."""
    minutes = max(0, int(seconds)) // 60
    days, rest = divmod(minutes, 1440)
    hours, minutes = divmod(rest, 60)
    if days:
        return i18n.t("duration_days", lang, d=days, h=hours)
    if hours:
        return i18n.t("duration_hours", lang, h=hours, m=minutes)
    if minutes:
        return i18n.t("duration_minutes", lang, m=minutes)
    return i18n.t("duration_short", lang)


def lasted(episode: Episode, now: datetime, lang: Lang) -> str:
    """How long the episode has fired (until now), or fired (until it resolved)."""
    end = episode.resolved_at or now
    return duration((end - episode.fired_at).total_seconds(), lang)


def state(episode: Episode, lang: Lang) -> str:
    """``Đang cảnh báo``, or ``Đã kết thúc (đã đạt lại mục tiêu)``."""
    text = i18n.t(f"state_{episode.state}", lang)
    reason = f"reason_{episode.resolved_reason}"
    return f"{text} ({i18n.t(reason, lang)})" if episode.resolved_reason and i18n.has(reason) else text
