"""What a notification says, its idempotency key, and how long a failed one waits."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction

from alerts.payload import build, idempotency_key
from alerts.webhooks import backoff
from ioc.settings import AlertSettings

AT = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
ALERT = {
    "id": 12,
    "target_name": "Mọi huyện — tỷ lệ giải quyết trực tuyến",
    "unit_code": "001",
    "kpi": "online_resolution_rate",
    "agency_code": None,
    "comparison": ">=",
    "threshold": Decimal(40),
    "window_name": "rolling_7_days",
    "severity": "warning",
    "fired_at": AT,
    "resolved_at": None,
    "resolved_reason": None,
}


def test_the_key_is_stable_per_alert_kind_and_destination():
    key = idempotency_key(12, "firing", "http://a/hook")
    assert key == idempotency_key(12, "firing", "http://a/hook")
    others = {
        idempotency_key(13, "firing", "http://a/hook"),
        idempotency_key(12, "resolved", "http://a/hook"),
        idempotency_key(12, "firing", "http://b/hook"),
    }
    assert key not in others
    assert len(others) == 3


def test_a_ratio_is_said_in_percent_as_the_target_says_it():
    body = build("firing", ALERT, unit_name="Huyện mẫu 1", value=Fraction(1, 8), volume=48, at=AT)
    assert body["value"] == 12.5
    assert body["threshold"] == 40.0
    assert body["value_text"] == "12,5 %"
    assert body["message"] == (
        "[Cảnh báo] Tỷ lệ hồ sơ giải quyết trực tuyến tại Huyện mẫu 1 (001): 12,5 %,"
        " chưa đạt mục tiêu >= 40 %"
    )
    resolved = build(
        "resolved",
        {**ALERT, "resolved_at": AT, "resolved_reason": "insufficient"},
        unit_name="Huyện mẫu 1",
        value=None,
        volume=3,
        at=AT,
    )
    assert resolved["value"] is None
    assert "không đủ dữ liệu để đánh giá" in resolved["message"]
    assert resolved["resolved_at"] == AT.isoformat()


def test_backoff_doubles_up_to_the_maximum():
    settings = AlertSettings(retry_base_s=5, retry_max_s=60)
    assert [backoff(n, settings) for n in range(1, 7)] == [5, 10, 20, 40, 60, 60]
    assert backoff(500, settings) == 60
