"""Alerts and targets in the dashboard against a real store and Redis: the episodes' SQL (list,
sum up, acknowledge), their words and formats, the edited targets' validation, the operator's
banner scoped to the unit, the wall's list, and the pages' callbacks, broken states included.
Alert rows are inserted as the alert engine writes them."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest
from dash import no_update

from alerts import episodes
from alerts import store as targets_store
from alerts.targets import validate
from callbacks import alerts as alerts_callbacks
from callbacks import targets as targets_callbacks
from callbacks import wall as wall_callbacks
from dashboard import alert_text, scenes
from dashboard.data import Data
from dashboard.maps import Maps
from tests import test_dashboard_fixtures as fx
from tests.fix_auth import ADMIN, acting_as
from tests.net import free_port
from tests.test_dashboard_fixtures import (
    HANOI,
    HCMC,
    NOW,
    TZ,
    DashStore,
    clear_alerts,
    insert_alert,
    layout_json,
    routed,
)

dash_store = fx.dash_store  # fixtures shared by the dashboard tests
make_app = fx.make_app
UNITS = {u.code: u.level for u in fx.FULL.units}
AGENCIES = {a.code for a in fx.FULL.agencies}


@pytest.fixture
def data(dash_store: DashStore) -> Any:
    """The dashboard's data access on the test store, in a request of an admin of the whole
    country; the alerts a test inserts are removed."""
    found = Data(dash_store.settings)
    with acting_as(None, ADMIN):
        yield found
    found.close()
    clear_alerts(dash_store.url)


def below(data: Data, unit: str) -> str:
    """A unit at the bottom of ``unit``'s subtree (a commune)."""
    code = unit
    while children := data.reference().children(code):
        code = children[0]
    return code


def connect(url: str) -> psycopg.Connection[Any]:
    return psycopg.connect(url, autocommit=True)


# -- the SQL of alerts.episodes ------------------------------------------------------------------


def test_listing_orders_firing_by_severity_then_resolved_by_time(data: Data, dash_store: DashStore):
    hanoi, hcmc = below(data, HANOI), below(data, HCMC)
    warning = insert_alert(
        dash_store.url, unit_code=hanoi, severity="warning", fired_at=NOW - timedelta(minutes=5)
    )
    critical = insert_alert(
        dash_store.url, unit_code=hanoi, severity="critical", fired_at=NOW - timedelta(hours=3)
    )
    info = insert_alert(dash_store.url, unit_code=hcmc, severity="info", fired_at=NOW - timedelta(minutes=1))
    old = insert_alert(
        dash_store.url,
        unit_code=hanoi,
        severity="critical",
        state="resolved",
        fired_at=NOW - timedelta(days=2),
        resolved_at=NOW - timedelta(days=1),
        resolved_value="0.45",
        resolved_reason="recovered",
    )
    older = insert_alert(
        dash_store.url,
        unit_code=hanoi,
        state="resolved",
        fired_at=NOW - timedelta(days=3),
        resolved_at=NOW - timedelta(days=2),
        resolved_reason="insufficient",
    )
    with connect(dash_store.url) as conn:
        everything = episodes.listing(conn, active_only=False)
        active = episodes.listing(conn, active_only=True)
        in_hanoi = episodes.listing(conn, active_only=False, units=data.reference().subtree(HANOI))
        newest = episodes.listing(conn, active_only=False, limit=2)
    assert [e.id for e in everything] == [critical, warning, info, old, older]
    assert [e.id for e in active] == [critical, warning, info]
    assert [e.id for e in in_hanoi] == [critical, warning, old, older]
    assert [e.id for e in newest] == [critical, warning]
    first = everything[0]
    assert (first.kpi, first.threshold, first.fired_value, first.fired_volume) == (
        "online_resolution_rate",
        Decimal(40),
        Decimal("0.382"),
        48,
    )
    assert first.firing
    assert everything[3].resolved_value == Decimal("0.45")
    assert not everything[3].firing


def test_summary_counts_firing_alerts_of_the_subtree_only(data: Data, dash_store: DashStore):
    with connect(dash_store.url) as conn:
        assert episodes.summary(conn) == episodes.Summary(0, None)
    insert_alert(dash_store.url, unit_code=below(data, HCMC), severity="critical")
    insert_alert(dash_store.url, unit_code=below(data, HANOI), severity="info")
    insert_alert(dash_store.url, unit_code=HANOI, severity="warning")
    insert_alert(
        dash_store.url,
        unit_code=HANOI,
        severity="critical",
        state="resolved",
        resolved_at=NOW,
        resolved_reason="recovered",
    )
    assert data.alert_summary("VN") == episodes.Summary(3, "critical")
    assert data.alert_summary(HANOI) == episodes.Summary(2, "warning")  # HCMC's critical one is not Hà Nội's
    assert data.alert_summary(below(data, HANOI)) == episodes.Summary(1, "info")
    assert data.alert_summary(HCMC) == episodes.Summary(1, "critical")
    district = data.reference().children(HANOI)[-1]
    assert below(data, HANOI) not in data.reference().subtree(district)
    assert data.alert_summary(district) == episodes.Summary(0, None)


def test_who_acknowledges_is_checked(data: Data):
    assert episodes.checked_name("  Nguyễn   Văn An ") == "Nguyễn Văn An"
    assert episodes.checked_name("x" * episodes.NAME_MAX) == "x" * episodes.NAME_MAX
    for bad, reason in (
        ("", "empty"),
        ("   ", "empty"),
        (None, "empty"),
        ("x" * (episodes.NAME_MAX + 1), "too_long"),
        ("An\u0000", "control"),
        ("An\u200b", "control"),
    ):
        with pytest.raises(episodes.BadName) as raised:
            episodes.checked_name(bad)
        assert raised.value.reason == reason, bad


def test_acknowledging_twice_keeps_the_first_and_moves_the_data_version(
    data: Data, dash_store: DashStore, redis_client: Any
):
    alert = insert_alert(dash_store.url)
    before = int(redis_client.get("ioc:data-version") or 0)
    first = data.acknowledge(alert, "  Trần Thị Bình ")
    assert first is not None
    assert first.recorded
    assert first.episode.acknowledged_by == "Trần Thị Bình"
    assert first.episode.acknowledged_at is not None
    assert abs((first.episode.acknowledged_at - datetime.now(UTC)).total_seconds()) < 60
    assert int(redis_client.get("ioc:data-version")) > before  # open pages recompute
    second = data.acknowledge(alert, "Lê Văn Cường")
    assert second is not None
    assert not second.recorded
    assert second.episode.acknowledged_by == "Trần Thị Bình"
    assert second.episode.acknowledged_at == first.episode.acknowledged_at
    assert data.acknowledge(alert + 1000, "Trần Thị Bình") is None
    with pytest.raises(episodes.BadName):
        data.acknowledge(alert, " ")
    with connect(dash_store.url) as conn:
        row = conn.execute("SELECT acknowledged_by FROM alerts WHERE id = %s", (alert,)).fetchone()
    assert row == ("Trần Thị Bình",)


# -- words and formats --------------------------------------------------------------------------


def test_values_thresholds_times_and_durations_in_each_language():
    assert alert_text.value("online_resolution_rate", Decimal("0.38249"), "vi") == "38,2 %"
    assert alert_text.value("online_resolution_rate", Decimal("0.38249"), "en") == "38.2%"
    assert alert_text.value("online_resolution_rate", None, "vi") == "Không có dữ liệu"
    assert alert_text.value("overdue_open", Decimal(1234), "vi") == "1.234"
    assert alert_text.value("avg_processing_days", Decimal("3.25"), "en") == "3.3 days"
    assert alert_text.threshold("online_resolution_rate", ">=", Decimal(40), "vi") == "≥ 40,0 %"
    assert alert_text.threshold("overdue_open", "<=", Decimal(1500), "en") == "≤ 1,500"
    at = datetime(2026, 11, 28, 3, 2, tzinfo=UTC)  # 10:02 in Vietnam
    assert alert_text.moment(at, TZ, "vi") == "28/11/2026 10:02"
    assert alert_text.moment(at, TZ, "en") == "2026-11-28 10:02"
    assert alert_text.moment(at, ZoneInfo("Europe/Paris"), "vi") == "28/11/2026 04:02"
    assert alert_text.duration(30, "vi") == "dưới 1 phút"
    assert alert_text.duration(45 * 60, "vi") == "45 phút"
    assert alert_text.duration(2 * 3600 + 15 * 60, "vi") == "2 giờ 15 phút"
    assert alert_text.duration(3 * 86400 + 4 * 3600 + 59, "en") == "3 d 4 h"
    assert alert_text.window("rolling_7_days", "vi") == "7 ngày gần nhất"
    assert alert_text.window("month", "en") == "Month to date"
    assert alert_text.badge("critical", "vi") == "◆ Nghiêm trọng"
    assert alert_text.badge("info", "en") == "● Info"


# -- targets edited in a form: the file loader's validation --------------------------------------


def test_a_form_row_is_checked_as_a_file_row_with_every_problem_by_field():
    good = validate(
        {"name": "HN", "kpi": "on_time_rate", "unit": HANOI, "threshold": "95", "min_volume": "10"},
        units=UNITS,
        agencies=AGENCIES,
    )
    assert good.problems == ()
    assert good.target is not None
    assert (good.target.threshold, good.target.comparison, good.target.window) == (Decimal(95), ">=", "month")
    bad = validate(
        {
            "kpi": "on_time_rate",
            "unit": "99999",
            "threshold": "120",
            "min_volume": "2.5",
            "window": "decade",
            "severity": "",
        },
        units=UNITS,
        agencies=AGENCIES,
    )
    assert bad.target is None
    by_field = {f: [p.code for p in ps] for f, ps in bad.by_field().items()}
    assert by_field == {
        "unit": ["unknown_unit"],
        "threshold": ["percent_range"],
        "min_volume": ["whole_number"],
        "window": ["choice"],
    }
    assert str(bad.by_field()["threshold"][0]) == "threshold: a percentage from 0 to 100, got 120"
    both = validate(
        {"kpi": "on_time_rate", "unit": HANOI, "level": "province", "threshold": "x"},
        units=UNITS,
        agencies=AGENCIES,
    )
    assert {f: [p.code for p in ps] for f, ps in both.by_field().items()} == {
        "": ["scope"],
        "threshold": ["not_number"],
    }
    assert targets_callbacks.typed_number("40,5", "vi") == "40.5"
    assert targets_callbacks.typed_number("1.234,5", "vi") == "1234.5"
    assert targets_callbacks.typed_number("40.5", "vi") == "40.5"
    assert targets_callbacks.typed_number("1,234.5", "en") == "1234.5"


def test_the_targets_form_says_problems_in_vietnamese_and_saves_only_a_valid_row(
    data: Data, dash_store: DashStore
):
    name = "Hà Nội — tỷ lệ đúng hạn (test form)"
    values = {
        "name": name,
        "kpi": "on_time_rate",
        "unit": HANOI,
        "level": "province",
        "agency": None,
        "comparison": ">=",
        "threshold": "120",
        "window": "month",
        "min_volume": "-3",
        "severity": "critical",
    }
    out = targets_callbacks.save(data, values, None, "vi")
    assert out["error:scope"] == "Chọn một đơn vị hoặc một cấp (không chọn cả hai)."
    out = targets_callbacks.save(data, {**values, "level": None}, None, "vi")
    assert out["error:threshold"] == "Tỷ lệ phải từ 0 đến 100 (đang là 120)."
    assert out["invalid:threshold"] is True
    assert out["error:min_volume"] == "Nhập một số nguyên từ 0 trở lên."
    assert out["error:kpi"] == ""
    assert "Chưa lưu" in layout_json(out["message"])
    english = targets_callbacks.save(data, {**values, "level": None}, None, "en")
    assert english["error:threshold"] == "A percentage from 0 to 100 (got 120)."
    with connect(dash_store.url) as conn:
        assert name not in {t.name for t in targets_store.load(conn)}  # nothing saved
    saved = targets_callbacks.save(
        data, {**values, "level": None, "threshold": "92,5", "min_volume": "20"}, None, "vi"
    )
    assert saved["editing"] == name
    assert (saved["value:threshold"], saved["value:min_volume"], saved["value:kpi"]) == (
        "92,5",
        "20",
        "on_time_rate",
    )
    assert saved["version"] is not no_update
    assert "Đã lưu mục tiêu" in layout_json(saved["message"])
    try:
        with connect(dash_store.url) as conn:
            (kept,) = [t for t in targets_store.load(conn) if t.name == name]
        assert (kept.threshold, kept.min_volume, kept.unit, kept.level) == (Decimal("92.5"), 20, HANOI, None)
        taken = targets_callbacks.save(
            data, {**values, "level": None, "threshold": "90", "min_volume": "1"}, None, "vi"
        )
        assert taken["error:name"] == "Đã có mục tiêu mang tên này."
        edited = targets_callbacks.save(
            data, {**values, "level": None, "threshold": "90", "min_volume": "1"}, name, "vi"
        )
        assert edited["error:name"] == ""
        with connect(dash_store.url) as conn:
            (kept,) = [t for t in targets_store.load(conn) if t.name == name]
        assert kept.threshold == Decimal(90)
        shown = targets_callbacks.edit(data, name, "vi")
        assert (shown["value:threshold"], shown["value:unit"], shown["name_disabled"]) == ("90", HANOI, True)
    finally:
        deleted = targets_callbacks.delete(data, name, "vi")
    assert "Đã xóa mục tiêu" in layout_json(deleted["message"])
    assert deleted["editing"] is None
    with connect(dash_store.url) as conn:
        assert name not in {t.name for t in targets_store.load(conn)}
        assert not targets_store.delete(conn, name)


# -- the pages' callbacks ------------------------------------------------------------------------


def test_the_alerts_page_lists_formats_and_acknowledges(data: Data, dash_store: DashStore, make_app: Any):
    commune = below(data, HANOI)
    firing = insert_alert(dash_store.url, unit_code=commune, severity="critical")
    resolved = insert_alert(
        dash_store.url,
        unit_code=commune,
        state="resolved",
        fired_at=datetime(2026, 11, 20, 1, 0, tzinfo=UTC),
        resolved_at=datetime(2026, 11, 20, 4, 30, tzinfo=UTC),
        resolved_value="0.415",
        resolved_reason="recovered",
    )
    app = make_app(dash_store.settings)
    callbacks = app._ioc_callbacks
    table, count = callbacks["alerts_render"](None, "active", "VN", "vi")
    shown = layout_json(table)
    assert count == "1 cảnh báo đang hoạt động"
    assert data.reference().name(commune, "vi") in shown
    assert "Tỷ lệ hồ sơ giải quyết trực tuyến" in shown
    assert "38,2 %" in shown
    assert "≥ 40,0 %" in shown
    assert "7 ngày gần nhất" in shown
    assert "◆ Nghiêm trọng" in shown
    assert alert_text.moment(NOW - timedelta(hours=2, minutes=15), TZ, "vi") in shown
    # NOW is fixed when the test modules are collected: the alert has lasted 2 h 15 min and then
    # however long the session took to get here.
    lasted = (datetime.now(TZ) - (NOW - timedelta(hours=2, minutes=15))).total_seconds()
    assert any(alert_text.duration(int(lasted) + d, "vi") in shown for d in (-60, 0, 60)), shown
    assert f'"al-row-{firing}"' in shown
    assert f'"al-row-{resolved}"' not in shown  # active only
    everything = layout_json(callbacks["alerts_render"](None, "all", "VN", "en")[0])
    assert f'"al-row-{resolved}"' in everything
    assert "20/11/2026" not in everything
    assert "2026-11-20 08:00" in everything  # local time, English format
    assert "2026-11-20 11:30" in everything
    assert "41.5%" in everything
    assert "Resolved (back on target)" in everything
    assert "3 h 30 min" in everything
    assert "Online resolution rate" in everything
    # acknowledging: the name is checked, then who and when show in the list
    message, error, invalid, version = alerts_callbacks.acknowledge(data, firing, "  ", "vi")
    assert (message, error, invalid, version) == (no_update, "Nhập họ tên người xác nhận.", True, no_update)
    message, error, invalid, version = alerts_callbacks.acknowledge(data, firing, "Phạm Minh Đức", "vi")
    assert (error, invalid) == ("", False)
    assert "Đã xác nhận cảnh báo" in layout_json(message)
    assert version is not no_update
    table, _ = callbacks["alerts_render"](version, "active", "VN", "vi")
    acked = layout_json(table)
    assert "Phạm Minh Đức," in acked
    with connect(dash_store.url) as conn:
        (at,) = conn.execute("SELECT acknowledged_at FROM alerts WHERE id = %s", (firing,)).fetchone()
    assert alert_text.moment(at, TZ, "vi") in acked  # when, in local time
    again, *_ = alerts_callbacks.acknowledge(data, firing, "Người Khác", "vi")
    assert "đã được Phạm Minh Đức xác nhận trước đó" in layout_json(again)
    # another province's page does not list it
    assert "Không có cảnh báo" in layout_json(callbacks["alerts_render"](None, "active", HCMC, "vi")[0])


def test_the_operator_banner_counts_alerts_of_the_current_unit_only(data: Data, dash_store: DashStore):
    assert alerts_callbacks.banner(data, HANOI, "vi") == []
    insert_alert(dash_store.url, unit_code=below(data, HCMC), severity="critical")
    assert alerts_callbacks.banner(data, HANOI, "vi") == []  # another province's alert
    insert_alert(dash_store.url, unit_code=below(data, HANOI), severity="warning")
    insert_alert(dash_store.url, unit_code=HANOI, severity="info")
    shown = layout_json(alerts_callbacks.banner(data, HANOI, "vi"))
    assert "2 cảnh báo đang hoạt động tại Thành phố Hà Nội — mức cao nhất: Cảnh báo" in shown
    assert "/alerts?unit=01" in shown
    national = layout_json(alerts_callbacks.banner(data, "VN", "en"))
    assert "3 active alert(s) in Whole country — most severe: Critical" in national
    assert '"/alerts?lang=en"' in national


def test_the_wall_lists_firing_alerts_of_its_home_unit(data: Data, dash_store: DashStore):
    wall = wall_callbacks.Wall(data, Maps(data), (scenes.Scene("received", "today", 60),), 2000, 300)
    state = wall_callbacks.tick(wall, None, "vi", datetime.now(UTC))[5]
    empty = wall_callbacks.refresh(wall, "VN", state, "vi")
    assert "Không có cảnh báo" in layout_json(empty[9])
    assert empty[11] == 0
    commune = below(data, HANOI)
    insert_alert(dash_store.url, unit_code=commune, severity="warning", fired_at=NOW - timedelta(minutes=3))
    insert_alert(
        dash_store.url, unit_code=below(data, HCMC), severity="critical", fired_at=NOW - timedelta(hours=1)
    )
    insert_alert(
        dash_store.url,
        unit_code=commune,
        severity="critical",
        state="resolved",
        resolved_at=NOW,
        resolved_reason="recovered",
    )
    out = wall_callbacks.refresh(wall, "VN", state, "vi")
    shown = layout_json(out[9])
    assert out[11] == 2  # the count that drives the pulsing (and audible) cue
    assert "Cảnh báo đang hoạt động (2)" in shown
    assert shown.index("◆ Nghiêm trọng") < shown.index("▲ Cảnh báo")  # most severe first
    assert data.reference().name(commune, "vi") in shown
    assert "38,2 %" in shown
    assert "mục tiêu ≥ 40,0 %" in shown
    fired = (NOW - timedelta(minutes=3)).astimezone(TZ)
    assert f"từ {fired:%H:%M}" in shown or f"từ {alert_text.moment(fired, TZ, 'vi')}" in shown
    assert "alert-critical" in shown
    assert "alerting" in shown
    hanoi = wall_callbacks.refresh(wall, HANOI, state, "vi")
    assert hanoi[11] == 1
    assert "Nghiêm trọng" not in layout_json(hanoi[9])
    for _ in range(wall_callbacks.ALERTS_SHOWN):
        insert_alert(dash_store.url, unit_code=HANOI, severity="info")
    many = wall_callbacks.refresh(wall, "VN", state, "en")
    assert many[11] == 2 + wall_callbacks.ALERTS_SHOWN
    listed = layout_json(many[9])
    assert f"Active alerts ({2 + wall_callbacks.ALERTS_SHOWN})" in listed  # the title counts them all
    assert listed.count("wall-alert alert-") == wall_callbacks.ALERTS_SHOWN


def test_pages_through_the_router_and_when_the_database_is_down(
    dash_store: DashStore, make_app: Any, settings: Any
):

    app = make_app(dash_store.settings)
    alerts_page = routed(app, "/alerts", "")
    assert '"al-list"' in alerts_page
    assert "Cảnh báo" in alerts_page
    assert "Người xác nhận" in alerts_page
    assert "Đang hoạt động" in alerts_page
    assert "Alerts in" in routed(app, "/alerts", f"?unit={HANOI}&lang=en")
    assert "Không tìm thấy đơn vị có mã 999." in routed(app, "/alerts", "?unit=999")
    targets_page = routed(app, "/targets", "?lang=en")
    assert '"tg-form"' in targets_page
    assert "Minimum applications" in targets_page
    assert "HN online" in targets_page  # the page arrives with its list
    listed = layout_json(app._ioc_callbacks["targets_list"](None, "vi"))
    assert "HN online" in listed  # the store's targets
    assert "Mọi tỉnh" in listed
    assert "≥ 95,0 %" in listed
    down = make_app(replace(settings, database_url=f"postgresql://ioc@127.0.0.1:{free_port()}/ioc"))
    table, count = down._ioc_callbacks["alerts_render"](None, "active", "VN", "vi")
    assert "Mất kết nối cơ sở dữ liệu" in layout_json(table)
    assert count == ""
    assert down._ioc_callbacks["alert_banner"]("VN", None, "vi") == []
    assert "Mất kết nối cơ sở dữ liệu" in layout_json(down._ioc_callbacks["targets_list"](None, "vi"))
    assert "Mất kết nối cơ sở dữ liệu" in routed(down, "/alerts", "")
    assert "Mất kết nối cơ sở dữ liệu" in json.dumps(routed(down, "/targets", ""), ensure_ascii=False)


def test_the_alerts_poll_moves_with_the_data_version(dash_store: DashStore, make_app: Any, redis_client: Any):
    app = make_app(dash_store.settings)
    poll = app._ioc_callbacks["alerts_poll"]
    first, interval, *_ = poll(1, None)
    assert interval == dash_store.settings.poll_ms
    again, *_ = poll(2, first)
    if again is not no_update:  # ingest elsewhere moved the version, or the minute turned
        assert again != first
        first = again
    redis_client.incr("ioc:data-version")
    moved, *_ = poll(3, first)
    assert moved is not no_update
    assert moved["version"] > first["version"]


def test_an_episode_of_a_kpi_the_registry_no_longer_has_is_still_shown(
    data: Data, dash_store: DashStore, make_app: Any
):
    gone = insert_alert(dash_store.url, kpi="retired_rate", threshold=12.5, fired_value="0.25")
    app = make_app(dash_store.settings)
    table, count = app._ioc_callbacks["alerts_render"](None, "active", "VN", "vi")
    shown = layout_json(table)
    assert f'"al-row-{gone}"' in shown
    assert "retired_rate" in shown
    assert "≥ 12,50" in shown
    assert count == "1 cảnh báo đang hoạt động"
    wall = wall_callbacks.Wall(data, Maps(data), (scenes.Scene("received", "today", 60),), 2000, 300)
    state = wall_callbacks.tick(wall, None, "vi", datetime.now(UTC))[5]
    assert "retired_rate" in layout_json(wall_callbacks.refresh(wall, "VN", state, "vi")[9])


def test_a_click_is_read_by_the_buttons_id_whatever_its_characters():
    from callbacks.clicks import clicked  # noqa: PLC0415

    name = {"type": "tg-edit", "name": "Hà Nội — tỷ lệ hồ sơ nộp trực tuyến"}
    inputs = [
        [
            {"id": {"type": "tg-edit", "name": "Mọi tỉnh"}, "property": "n_clicks", "value": 0},
            {"id": name, "property": "n_clicks", "value": 2},
        ],
        {"id": "tg-new", "property": "n_clicks", "value": 0},
    ]
    assert clicked(name, inputs) == 2
    assert clicked("tg-new", inputs) == 0
    assert clicked({"type": "tg-edit", "name": "nope"}, inputs) is None
