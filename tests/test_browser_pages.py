"""The dashboard's pages in a real headless chromium, against the real pipeline."""

from __future__ import annotations

import json

from selenium.webdriver.common.by import By

from tests.fix_browser import LiveSystem, Page


def test_the_status_page_renders_in_vietnamese(page: Page, live_system: LiveSystem):
    page.open("/status")
    assert page.driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == "vi"
    assert page.text("h1").startswith("Trung tâm điều hành thông minh")
    assert page.text("#status") == "Hoạt động bình thường"
    assert page.browser_errors() == []
    page.screenshot("status")


def test_healthz_reports_the_ingested_history(page: Page, live_system: LiveSystem):
    page.driver.get(f"{live_system.base_url}/healthz")
    report = json.loads(page.text("pre"))
    assert (report["status"], report["database"], report["redis"]) == ("ok", "ok", "ok")
    assert report["latest_event_at"] is not None
