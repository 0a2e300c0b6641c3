"""What a firing or resolved alert says to a webhook and to open dashboards (``ioc:alerts``):
one JSON object, the same for both, and the idempotency key of each webhook delivery.

``value`` and ``threshold`` are in the target's unit (percent for ratios), so a receiver can
compare them; ``value_text`` and ``message`` are as the dashboard shows them, in Vietnamese.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any

from kpi import registry

REASONS_VI = {
    "recovered": "đã đạt lại mục tiêu",
    "insufficient": "không đủ dữ liệu để đánh giá",
    "target_removed": "mục tiêu đã bị xoá",
}
SEVERITIES_VI = {"info": "Thông tin", "warning": "Cảnh báo", "critical": "Nghiêm trọng"}


def idempotency_key(alert_id: int, kind: str, destination: str) -> str:
    """Stable per episode, kind and destination: a receiver deduplicates by it."""
    where = hashlib.sha256(destination.encode()).hexdigest()[:16]
    return f"ioc-alert-{alert_id}-{kind}-{where}"


def build(
    kind: str,
    alert: Mapping[str, Any],
    *,
    unit_name: str,
    value: Fraction | int | None,
    volume: int | None,
    at: datetime,
) -> dict[str, Any]:
    """The notification of ``alert`` (a row of ``alerts``) moving to ``kind`` at ``at``."""
    kpi = registry.get(alert["kpi"])
    percent = kpi.display == "percent"
    shown = None if value is None else Fraction(value) * (100 if percent else 1)
    threshold = Decimal(alert["threshold"])
    unit = " %" if percent else ""
    value_text = registry.format_value(kpi, value, "vi")
    goal = f"mục tiêu {alert['comparison']} {threshold.normalize():f}{unit}"
    where = f"{unit_name} ({alert['unit_code']})"
    if kind == "firing":
        message = f"{kpi.name_vi} tại {where}: {value_text}, chưa đạt {goal}"
    else:
        reason = REASONS_VI.get(alert["resolved_reason"] or "", "")
        message = f"Hết cảnh báo — {kpi.name_vi} tại {where}: {value_text}, {reason} ({goal})"
    return {
        "kind": kind,
        "alert_id": alert["id"],
        "target": alert["target_name"],
        "severity": alert["severity"],
        "kpi": kpi.key,
        "kpi_name": kpi.name_vi,
        "unit_code": alert["unit_code"],
        "unit_name": unit_name,
        "agency_code": alert["agency_code"],
        "comparison": alert["comparison"],
        "threshold": float(threshold),
        "window": alert["window_name"],
        "value": None if shown is None else round(float(shown), 4),
        "value_text": value_text,
        "volume": volume,
        "at": at.isoformat(),
        "fired_at": alert["fired_at"].isoformat(),
        "resolved_at": alert["resolved_at"].isoformat() if alert["resolved_at"] else None,
        "resolved_reason": alert["resolved_reason"],
        "message": f"[{SEVERITIES_VI.get(alert['severity'], alert['severity'])}] {message}",
    }
