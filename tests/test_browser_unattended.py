"""The wall left alone for days, in headless chromium, on a dashboard server of this module's own
(polling every 500 ms, scenes of 5 s) that a test stops and starts again:

- when the server stops answering, the wall says so across the screen within the watchdog's
  limit and dims its figures; when the server is back, the same page (no reload) takes the
  banner away and shows new data again, and the scenes go on rotating;
- over many refreshes and scene changes the page's JavaScript heap, its DOM and its event
  listeners do not grow, nor does Dash's own bookkeeping;
- nor does Dash's bookkeeping on the other pages that poll (``/``, ``/alerts``), whose polls also
  keep the footer's status true.
"""

from __future__ import annotations

import json
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import cast

import pytest
from selenium.webdriver.chrome.webdriver import WebDriver

from callbacks import bounded
from callbacks import wall as wall_callbacks
from dashboard.health import Status
from layouts import common
from simulate.produce import KafkaSink
from tests.events import event_json
from tests.fix_browser import (
    LiveSystem,
    Page,
    fresh_page,
    pattern_id,
    start_dashboard,
    stop_dashboard,
    wait_healthy,
    wait_until,
)
from tests.net import free_port
from tests.test_browser_wall import open_wall
from tests.test_ingest import produce

POLL_MS = 500
SCENES = """\
- {kpi: online_submission_rate, period: month, seconds: 5}
- {kpi: on_time_rate, period: week, seconds: 5}
- {kpi: received, period: today, seconds: 5}
"""
OFFLINE = "#wall-offline-banner"
OFFLINE_VI = "Mất kết nối với máy chủ — số liệu trên màn hình có thể đã cũ"
TILE = pattern_id("wall-tile-value", kpi="online_submission_rate")
RECEIVED = pattern_id("wall-counter-value", kpi="received")
FIRST_SCENE = "Tỷ lệ hồ sơ nộp trực tuyến — Tháng này"
# Memory. After a warm-up, the page is measured after a forced full garbage collection, in the same
# scene, then again after RUN_S of scene changes (every 5 s) and data refreshes (a new application
# every second): about 12 and 40 of them, and 120 polls. On the 2-CPU reference machine (chromium
# 156, Dash 4.4) the JavaScript heap (about 15 MiB) grew by 0 to 1.5 MiB over such a minute in
# fourteen runs; an 11-minute run wandered between 15 and 17 MiB without a trend: caches filling
# and emptying (V8's compiled code, plotly's text measurements), not a leak. So two readings may
# differ by 2.5 MiB; the bound, 4 MiB in a minute (5 GiB a day), catches a leak of anything big,
# such as figures or pages kept. Smaller leaks of what a refresh brings are caught exactly by the
# other checks: DOM nodes, elements and listeners (a ticker's list left behind is 40 nodes), the
# map's arrays (values appended instead of replaced), Dash's history and error lists (one entry a
# poll: the page would hold a million after a week).
WARM_UP_S = 45.0
RUN_S = 60.0
EVENT_EVERY_S = 1.0
MAX_HEAP_GROWTH = 4 * 2**20
# The figures' SVG follows the data (the colour bar's ticks, the sparklines' gaps): the page's
# elements and nodes moved by up to 25 between readings; the HTML around them by a few at most.
MAX_MORE_NODES = 60
MAX_MORE_HTML = 10
# Banner latency: the watchdog's limit, plus its own 1 s beat and the last poll before the stop,
# plus slack for a busy 2-CPU machine.
MARGIN_S = 4.0
BACK_S = 20.0  # gunicorn is up: the next poll answers, within a poll and the watchdog's beat
OUTAGE_MESSAGES = ("/_dash-update-component", "Callback failed: the server did not respond")
FRESH_S = 15.0  # an event through Kafka and ingest to the open wall (as test_browser_wall)

# Communes of the default reference data, one per test, so that each finds its own event first
# in the ticker (test_browser_wall uses 90001).
RECONNECT_UNIT = ("90002", "C90002.UBND", "Xã mẫu 1.2 (Hà Nội)")
MEMORY_UNIT = ("90003", "C90003.UBND", "Xã mẫu 1.3 (Hà Nội)")
PROCEDURE = "9.000105"


@dataclass
class Dashboard:
    """A dashboard server of the module's own: stopped and started again on the same port."""

    env: dict[str, str]
    port: int
    starts: int = 0
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def name(self) -> str:
        return f"serve-unattended-{self.starts}"

    def start(self) -> None:
        self.starts += 1
        self.proc = start_dashboard(self.name, self.port, self.env)
        wait_healthy(self.proc, self.name, self.base_url)

    def stop(self) -> None:
        if self.proc is not None:
            proc, self.proc = self.proc, None
            stop_dashboard(proc, self.name)


@pytest.fixture(scope="module")
def dashboard(live_system: LiveSystem, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dashboard]:
    scenes = tmp_path_factory.mktemp("scenes") / "scenes.yaml"
    scenes.write_text(SCENES)
    env = {**live_system.env, "IOC_DASHBOARD_POLL_MS": str(POLL_MS), "IOC_WALL_SCENES": str(scenes)}
    server = Dashboard(env, free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def wall(browser: WebDriver, dashboard: Dashboard) -> Page:
    """The browser on the module's server (started again if a failed test left it stopped)."""
    if dashboard.proc is None:
        dashboard.start()
    return fresh_page(browser, dashboard.base_url)


def application(unit: tuple[str, str, str], label: str) -> list[tuple[bytes, bytes]]:
    """A new application submitted and received now at ``unit`` (code, agency, name): its two
    events as Kafka keys and values."""
    code, agency, _name = unit
    at = datetime.now(UTC).replace(microsecond=0)
    application_id = f"HS-{label}-{at:%H%M%S}"  # short: an event_id holds 64 characters
    events = [
        event_json("submitted", application_id, at - timedelta(seconds=1), unit=code),
        event_json("received", application_id, at, unit=code),
    ]
    for event in events:
        event.update(agency_code=agency, procedure_code=PROCEDURE)
    return [(application_id.encode(), json.dumps(event).encode()) for event in events]


def first_ticker_item(page: Page) -> str:
    found = page.texts("#wall-ticker li")
    return found[0] if found else ""


def opacity(page: Page, css: str) -> float:
    value = page.driver.execute_script(
        "return parseFloat(getComputedStyle(document.querySelector(arguments[0])).opacity)", css
    )
    return float(value)


def banner_box(page: Page) -> tuple[float, float, float]:
    """The offline banner's font size and width, and the viewport's width, in CSS pixels."""
    found = page.driver.execute_script(
        "const e = document.querySelector(arguments[0]);"
        " return [parseFloat(getComputedStyle(e).fontSize), e.getBoundingClientRect().width, innerWidth]",
        OFFLINE,
    )
    size, width, viewport = (float(v) for v in found)
    return size, width, viewport


def test_the_wall_says_when_the_server_is_gone_and_recovers_on_its_own(
    wall: Page, dashboard: Dashboard, live_system: LiveSystem
):
    open_wall(wall, 1920, 1080)
    wall.driver.execute_script("window.iocSamePage = true")  # gone if the page reloads
    assert not wall.element_visible(OFFLINE)
    assert opacity(wall, TILE) == 1.0
    limit_s = wall_callbacks.offline_after_ms(POLL_MS) / 1000

    stopping = time.monotonic()
    dashboard.stop()
    stopped = time.monotonic()
    assert not wall.element_visible(OFFLINE)  # a few missed polls are no outage
    seen = wait_until(lambda: wall.element_visible(OFFLINE), limit_s + MARGIN_S, "the offline banner")
    latency = stopped - stopping + seen
    print(
        f"server stopped in {stopped - stopping:.1f} s; offline banner {latency:.1f} s after the stop began"
    )
    assert latency >= limit_s - 1.0  # not before the limit: the last answer came just before the stop
    assert wall.text(OFFLINE) == OFFLINE_VI
    assert opacity(wall, TILE) < 0.5  # the figures behind it are dimmed
    assert opacity(wall, "#wall-clock") < 0.5  # and the clock, which stopped with the server
    assert not wall.element_visible("#wall-stale-banner")
    size, width, viewport = banner_box(wall)
    assert width == viewport  # across the whole screen
    assert size >= 48, size  # readable from across the room
    wall.screenshot("wall-offline-1920x1080")
    wall.resize(3840, 2160)
    large, width, viewport = banner_box(wall)
    assert (width, viewport) == (3840, 3840)
    assert large >= 1.8 * size, (size, large)
    wall.screenshot("wall-offline-3840x2160")
    wall.resize(1920, 1080)

    title = wall.text("#wall-map-title")
    restarting = time.monotonic()
    dashboard.start()
    started = time.monotonic()
    gone = wait_until(lambda: not wall.element_visible(OFFLINE), BACK_S, "the offline banner to go")
    print(f"server restarted in {started - restarting:.1f} s; banner gone {gone:.1f} s later")
    assert wall.driver.execute_script("return window.iocSamePage === true"), "the page was reloaded"
    wall.until(lambda _: opacity(wall, TILE) == 1.0, what="the figures to light up again")
    # it updates again: the scenes rotate, and a new event reaches the ticker
    wall.wait_text("#wall-map-title", lambda text: text != title, 12.0)
    assert RECONNECT_UNIT[2] not in first_ticker_item(wall)
    sent = application(RECONNECT_UNIT, "BACK")
    produce(live_system.settings, live_system.topic, [v for _, v in sent], [k for k, _ in sent])
    wall.until(
        lambda _: RECONNECT_UNIT[2] in first_ticker_item(wall),
        FRESH_S,
        "the new event on the reconnected wall",
    )
    # the console holds the failed polls of the outage, and nothing else
    unexpected = [e for e in wall.browser_errors() if not any(m in e for m in OUTAGE_MESSAGES)]
    assert unexpected == [], unexpected[:3]


def measure(driver: WebDriver) -> dict[str, int]:
    """After a full garbage collection: the JavaScript heap in use, the page's elements (all, and
    those outside the figures' SVG), and Chrome's counts of DOM nodes (detached ones too, until
    collected) and of event listeners."""
    for _ in range(2):  # a second pass frees what the first one's finalizers released
        driver.execute_cdp_cmd("HeapProfiler.collectGarbage", {})
    heap = driver.execute_cdp_cmd("Runtime.getHeapUsage", {})["usedSize"]
    counters = driver.execute_cdp_cmd("Memory.getDOMCounters", {})
    elements, html = driver.execute_script(
        "return [document.getElementsByTagName('*').length,"
        " document.querySelectorAll('body *:not(svg, svg *)').length]"
    )
    return {
        "heap": int(heap),
        "elements": int(elements),
        "html": int(html),
        "nodes": int(counters["nodes"]),
        "listeners": int(counters["jsEventListeners"]),
    }


def snapshot(page: Page) -> dict[str, int]:
    """``measure`` in the first scene, so that the same figures are on screen each time: the
    least of a few readings, as one of them may fall in the middle of a redraw."""
    page.wait_text("#wall-map-title", lambda text: text == FIRST_SCENE, 20.0)
    time.sleep(1.0)  # plotly draws after the refresh's answer; the scene lasts 5 s
    readings = []
    for _ in range(3):
        readings.append(measure(page.driver))
        time.sleep(0.3)
    return {key: min(r[key] for r in readings) for key in readings[0]}


def map_points(page: Page) -> list[int]:
    """How many values each of the map's traces holds (locations, z, labels, hover texts)."""
    found = page.driver.execute_script(
        "const gd = document.querySelector('#wall-map .js-plotly-plot');"
        " return gd.data.map(t => ['locations', 'z', 'text', 'hovertext', 'lon', 'lat']"
        "   .reduce((n, k) => n + (Array.isArray(t[k]) ? t[k].length : 0), 0))"
    )
    return [int(n) for n in found]


def dash_lists(page: Page) -> list[int]:
    """The lengths of Dash's undo history and error lists (the renderer's store, on window)."""
    found = page.driver.execute_script(
        "const s = window.store.getState();"
        " return [s.history.past.length, s.error.backEnd.length, s.error.frontEnd.length]"
    )
    return [int(n) for n in found]


@dataclass
class Seen:
    scenes: int = 0  # scene changes
    updates: int = 0  # changes of today's received counter: refreshes for new data
    offline: bool = False  # whether the offline banner ever showed


def watch(page: Page, live_system: LiveSystem, seconds: float) -> Seen:
    """Let the wall run for ``seconds`` with a new application every EVENT_EVERY_S; what it did."""
    seen = Seen()
    title, received = page.text("#wall-map-title"), page.text(RECEIVED)
    sink = KafkaSink(live_system.settings.kafka_bootstrap, live_system.topic)
    started = produced = time.monotonic()
    try:
        while time.monotonic() - started < seconds:
            if time.monotonic() - produced >= EVENT_EVERY_S:
                produced = time.monotonic()
                for key, value in application(MEMORY_UNIT, f"M{int(produced * 10) % 10**6}"):
                    sink.send(key, value)
                sink.flush()
            now_title, now_received = page.text("#wall-map-title"), page.text(RECEIVED)
            seen.scenes += now_title != title
            seen.updates += now_received != received
            seen.offline = seen.offline or page.element_visible(OFFLINE)
            title, received = now_title, now_received
            time.sleep(0.1)
    finally:
        sink.close()
    return seen


def test_the_wall_left_alone_does_not_grow(wall: Page, dashboard: Dashboard, live_system: LiveSystem):
    open_wall(wall, 1920, 1080)
    watch(wall, live_system, WARM_UP_S)
    before, points = snapshot(wall), map_points(wall)
    seen = watch(wall, live_system, RUN_S)
    after = snapshot(wall)
    growth = after["heap"] - before["heap"]
    print(f"\nbefore {before}\nafter  {after}\nheap growth {growth / 1024:.0f} KiB; {seen}")
    assert not seen.offline  # no false alarm while the server answers
    assert seen.scenes >= 10
    assert seen.updates >= 20  # new data shown (several applications may come in one refresh)
    assert growth < MAX_HEAP_GROWTH, f"the heap grew by {growth / 2**20:.1f} MiB"
    assert after["html"] <= before["html"] + MAX_MORE_HTML
    assert after["elements"] <= before["elements"] + MAX_MORE_NODES
    assert after["nodes"] <= before["nodes"] + MAX_MORE_NODES
    assert after["listeners"] <= before["listeners"]
    assert map_points(wall) == points  # values replaced, never appended
    assert max(dash_lists(wall)) <= bounded.DASH_KEEP + 5  # one more per timer since the last trim
    assert wall.browser_errors() == []


POLLED_S = 20.0  # 40 polls of the module's server: twice as many as the lists keep


def healthz_status(page: Page) -> Status:
    with urllib.request.urlopen(f"{page.base_url}/healthz", timeout=10) as response:
        return cast("Status", json.loads(response.read())["status"])


@pytest.mark.parametrize("path", ["/", "/alerts", "/targets"])
def test_the_pages_that_poll_keep_dash_bookkeeping_bounded(wall: Page, path: str):
    page = wall.open(path)
    page.until(lambda _: dash_lists(page)[0] > 0, what="the first poll in Dash's history")
    # a footer that no longer tells the truth (as one written before an outage): the polls correct it
    page.driver.execute_script("window.dash_clientside.set_props('status', {children: '?', className: 'x'})")
    page.wait_text("#status", lambda text: text != "?", 5.0)
    status = healthz_status(page)
    assert page.text("#status") == common.status_text(status, "vi")
    assert page.element("#status").get_attribute("class") == f"status-{status}"
    time.sleep(POLLED_S)
    lists = dash_lists(page)
    print(f"\n{path}: history {lists[0]}, errors {lists[1:]} after {POLLED_S / (POLL_MS / 1000):.0f} polls")
    assert max(lists) <= bounded.DASH_KEEP + 5  # one more per timer since the last trim
    assert page.browser_errors() == []
