"""Alerts and targets in headless chromium, on the real pipeline: ``/alerts`` lists a firing
alert written as the alert engine writes it, acknowledging it shows who and when, a new alert
appears on the open page without a reload once the data version moves (as the engine moves it),
the wall lists a firing alert, and a threshold edited on ``/targets`` is saved."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import psycopg
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

import store
from alerts import store as targets_store
from ingest.notify import ChangeNotifier
from tests.fix_browser import BROWSER_ADMIN, LiveSystem, Page
from tests.test_dashboard_fixtures import insert_alert

UNIT, UNIT_NAME = "90001", "Xã mẫu 1.1 (Hà Nội)"  # a commune of the default reference data
OTHER, OTHER_NAME = "79", "Thành phố Hồ Chí Minh"
TARGET = "Hà Nội — tỷ lệ hồ sơ nộp trực tuyến"  # one of the example targets, threshold 50
LIVE_S = 15.0  # the data version moves → the open page shows it (polls every 2 s)


@pytest.fixture
def alerts_cleared(live_system: LiveSystem) -> Iterator[None]:
    """The alerts a test inserts are deleted after it, and open pages told (other tests' walls)."""
    yield
    with psycopg.connect(live_system.database_url, autocommit=True) as conn:
        conn.execute("DELETE FROM alerts")
    announce(live_system)


def announce(live_system: LiveSystem) -> None:
    """Move the data version, as the alert engine does after a firing or resolved alert."""
    notifier = ChangeNotifier(live_system.settings.redis_url)
    try:
        assert notifier.publish([UNIT])
    finally:
        notifier.close()


def row(page: Page, alert_id: int) -> str:
    return page.text(f"#al-row-{alert_id}")


def test_alerts_are_listed_acknowledged_and_arrive_live(
    page: Page, live_system: LiveSystem, alerts_cleared: None
):
    fired_at = datetime.now(UTC) - timedelta(hours=1, minutes=5)
    first = insert_alert(live_system.database_url, unit_code=UNIT, severity="critical", fired_at=fired_at)
    page.open("/alerts")
    text = page.wait_text(f"#al-row-{first}", lambda t: UNIT_NAME in t)
    assert "Tỷ lệ hồ sơ giải quyết trực tuyến" in text
    assert "38,2 %" in text
    assert "≥ 40,0 %" in text
    assert "Nghiêm trọng" in text
    assert "7 ngày gần nhất" in text
    local = fired_at.astimezone(live_system.settings.timezone)
    assert f"{local:%d/%m/%Y %H:%M}" in text
    assert "1 giờ 5 phút" in text or "1 giờ 6 phút" in text
    assert page.text("#al-count") == "1 cảnh báo đang hoạt động"
    page.driver.execute_script("window.iocNotReloaded = true")
    # the name starts as the signed-in person's; emptied, acknowledging says so next to the
    # field; with a name typed, who and when show
    name = page.element("#al-name")
    assert name.get_attribute("value") == BROWSER_ADMIN
    name.send_keys(Keys.CONTROL, "a")
    name.send_keys(Keys.DELETE)
    page.element(f"#al-row-{first} button").click()
    assert page.wait_text("#al-name-error", bool) == "Nhập họ tên người xác nhận."
    name.send_keys("  Nguyễn Thị Hoa ")
    page.element(f"#al-row-{first} button").click()
    acked = page.wait_text(f"#al-row-{first}", lambda t: "Nguyễn Thị Hoa" in t)
    assert re.search(r"Nguyễn Thị Hoa,\s+\d{2}/\d{2}/\d{4} \d{2}:\d{2}", acked), acked  # who and when
    assert not page.driver.find_elements(By.CSS_SELECTOR, f"#al-row-{first} button")
    assert "Đã xác nhận cảnh báo" in page.text("#al-message")
    with psycopg.connect(live_system.database_url) as conn:
        stored = conn.execute("SELECT acknowledged_by FROM alerts WHERE id = %s", (first,)).fetchone()
    assert stored == ("Nguyễn Thị Hoa",)
    # a new alert fires while the page is open: it appears, without a reload
    second = insert_alert(
        live_system.database_url,
        unit_code=OTHER,
        kpi="on_time_rate",
        threshold=95,
        fired_value="0.871",
        severity="warning",
        fired_at=datetime.now(UTC),
    )
    announce(live_system)
    arrived = page.wait_text(f"#al-row-{second}", lambda t: OTHER_NAME in t, LIVE_S)
    assert "87,1 %" in arrived
    assert "≥ 95,0 %" in arrived
    assert page.driver.execute_script("return window.iocNotReloaded") is True
    assert page.text("#al-count") == "2 cảnh báo đang hoạt động"
    assert page.browser_errors() == []
    page.screenshot("alerts-1920x1080")


def test_the_operator_banner_and_the_wall_show_a_firing_alert(
    page: Page, live_system: LiveSystem, alerts_cleared: None
):
    insert_alert(live_system.database_url, unit_code=UNIT, severity="critical")
    insert_alert(live_system.database_url, unit_code=OTHER, severity="warning")
    insert_alert(live_system.database_url, unit_code=OTHER, severity="info")
    announce(live_system)
    page.open("/wall")
    shown = page.wait_text("#wall-alerts .wall-alert", lambda t: UNIT_NAME in t, LIVE_S)
    assert "NGHIÊM TRỌNG" in shown.upper()
    assert "38,2 %" in shown
    assert "mục tiêu ≥ 40,0 %" in shown
    assert "CẢNH BÁO ĐANG HOẠT ĐỘNG (3)" in page.text("#wall-alerts")  # section titles are in capitals
    assert len(page.driver.find_elements(By.CSS_SELECTOR, "#wall-alerts .wall-alert")) == 2
    # two alerts take no more height than the ticker beside them: the figures above keep their room
    heights = page.driver.execute_script(
        "return ['#wall-alerts', '.wall-ticker-area'].map(s => document.querySelector(s).offsetHeight)"
    )
    assert heights[0] <= heights[1], heights
    assert "alerting" in (page.element("#wall-alert-cue").get_attribute("class") or "")
    # legible from across the room: at least as large as the wall's body text
    assert page.font_size("#wall-alerts .alert-head") >= page.font_size("#wall-ticker")
    assert page.browser_errors() == []
    page.screenshot("wall-alert-1920x1080")
    page.open("/?unit=01")
    banner = page.wait_text("#op-alert-banner", lambda t: "cảnh báo" in t, LIVE_S)
    assert (
        "1 cảnh báo đang hoạt động tại Thành phố Hà Nội — mức cao nhất: Nghiêm trọng" in banner
    )  # not HCMC's
    page.open("/?unit=48")  # Đà Nẵng: nothing fires there
    page.wait_ready()
    page.until(lambda _: page.texts("#op-alert-banner") == [""], what="no banner in another province")


def test_a_threshold_edited_on_the_targets_page_is_saved(page: Page, live_system: LiveSystem):
    page.open("/targets")
    rows = page.until(
        lambda d: [r for r in d.find_elements(By.CSS_SELECTOR, "#tg-list tr.tg-row") if TARGET in r.text],
        what="the example target in the list",
    )
    assert isinstance(rows, list)
    assert "≥ 50,0 %" in rows[0].text
    page.wait_ready()  # the list's new buttons have been announced to the form's callback
    rows[0].find_element(By.CSS_SELECTOR, "button").click()
    page.wait_text("#tg-form-title", lambda t: TARGET in t)
    threshold = page.element("#tg-threshold")
    assert threshold.get_attribute("value") == "50"
    try:
        threshold.send_keys(Keys.CONTROL, "a")
        threshold.send_keys("abc")
        page.element("#tg-save").click()
        assert page.wait_text("#tg-threshold-error", bool) == "Nhập một số (đang là “abc”)."
        threshold.send_keys(Keys.CONTROL, "a")
        threshold.send_keys("55,5")
        page.element("#tg-save").click()
        page.wait_text("#tg-message", lambda t: "Đã lưu mục tiêu" in t)
        assert page.texts("#tg-threshold-error") == [""]
        assert page.element("#tg-threshold").get_attribute("value") == "55,5"  # the form shows what was saved
        page.until(
            lambda d: any(
                TARGET in r.text and "≥ 55,5 %" in r.text
                for r in d.find_elements(By.CSS_SELECTOR, "#tg-list tr.tg-row")
            ),
            what="the list to show the new threshold",
        )
        with store.connect(live_system.database_url, autocommit=True) as conn:
            (saved,) = [t for t in targets_store.load(conn) if t.name == TARGET]
        assert saved.threshold == Decimal("55.5")
        assert page.browser_errors() == []
        page.screenshot("targets-1920x1080")
    finally:
        with store.connect(live_system.database_url, autocommit=True) as conn:
            (now,) = [t for t in targets_store.load(conn) if t.name == TARGET]
            targets_store.save(conn, [replace(now, threshold=Decimal(50))])
