"""The acceptance test: README's first command, end to end, as a newcomer runs it.

``ioc up`` (the same code path, with a shortened history) brings the whole system up on the local
stack: schema, reference data, geography, example targets, a simulated history in which one
district's online channel has collapsed, live traffic, ingest, the alert engine and the
dashboard. Then, in headless chromium, signed in with the demo sign-in ``ioc up`` printed:

- the wall's numbers (its KPI tiles for the scene's period, month to date unless the month began
  today, and its counters for today) equal what the brute-force reference (``kpi.reference``)
  computes from every message on the topic;
- the collapsed district's alert is on the wall;
- after Ctrl-C and a second ``ioc up``, every message on the topic is stored exactly once and
  the wall's numbers again equal the reference's, live traffic included.

The simulator keeps sending while the test looks, so the page and the topic are compared at a
moment when nothing new arrived between reading the topic and reading the page.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg
import pytest
import redis
from kafka import KafkaConsumer, TopicPartition
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By

from dashboard import i18n
from ioc.settings import Settings
from kpi import periods
from kpi.reference import compute
from kpi.workdays import WorkCalendar
from layouts.wall import COUNTER_KPIS, TILE_KPIS
from refdata import files as refdata_files
from refdata.model import ReferenceData
from tests.fix_browser import Page, pattern_id, wait_until
from tests.net import free_port
from tests.test_ingest import count, wait_for

HISTORY_DAYS = 3  # at least: more when holidays leave fewer than WORKING_DAYS working days in them
WORKING_DAYS = 2  # the collapse is seen in resolutions, which happen on working days
RATE = 0.3  # events per second, weekly mean: about 41,000 events in 3 days, then one every few seconds
SEED = 11
REDIS_DB = 12  # the acceptance test's own Redis database (flushed before and after)
SCENE = "- kpi: online_resolution_rate\n  period: {period}\n  seconds: 3600\n"
# Beside the example targets (whose district-level one needs more volume than a few simulated
# days give one district): the province's own target for the district, as an operator sets one.
TARGET = """- name: Huyện mẫu 1 — giải quyết trực tuyến (nghiệm thu)
  kpi: online_resolution_rate
  unit: "{unit}"
  threshold: 40
  window: rolling_7_days
  min_volume: 5
  severity: critical
"""
AGREE_WITHIN_S = 120.0


@dataclass
class Topic:
    """Every message of the topic read so far (the test's own consumer, from the beginning)."""

    consumer: KafkaConsumer
    partitions: list[TopicPartition]
    events: list[dict[str, object]] = field(default_factory=list)

    def ends(self) -> dict[TopicPartition, int]:
        return dict(self.consumer.end_offsets(self.partitions))

    def catch_up(self) -> dict[TopicPartition, int]:
        """Read up to the partitions' current ends; those ends."""
        ends = self.ends()
        while any(self.consumer.position(p) < end for p, end in ends.items()):
            for records in self.consumer.poll(timeout_ms=500, max_records=5000).values():
                self.events += [json.loads(r.value) for r in records]
        return ends


@pytest.fixture
def topic_reader(settings: Settings, topic: str) -> Iterator[Topic]:
    consumer = KafkaConsumer(bootstrap_servers=list(settings.kafka_bootstrap), enable_auto_commit=False)
    partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
    consumer.assign(partitions)
    consumer.seek_to_beginning(*partitions)
    yield Topic(consumer, partitions)
    consumer.close()


def collapsed_district(data: ReferenceData) -> tuple[str, str]:
    """A sample district of Hà Nội (code, name): the scenario's unit and the wall's home."""
    district = min(
        (u for u in data.units if u.level == "district" and u.parent_code == "01"), key=lambda u: u.code
    )
    return district.code, district.name


def history_days(data: ReferenceData, today: date) -> int:
    """HISTORY_DAYS, or as many more as a holiday (a week of Tết) needs for WORKING_DAYS whole
    working days before today."""
    calendar = WorkCalendar(data.holidays)
    days = HISTORY_DAYS
    while calendar.count(today - timedelta(days=days + 1), today - timedelta(days=1)) < WORKING_DAYS:
        days += 1
    return days


class System:
    """``ioc up`` as a child process, its output in a log file."""

    def __init__(self, env: dict[str, str], port: int, log: Path, days: int, scenario: str) -> None:
        argv = [sys.executable, "-m", "ioc", "up", "--history-days", str(days), "--rate", str(RATE)]
        argv += ["--scenario", scenario, "--seed", str(SEED), "--port", str(port), "--workers", "2"]
        self.log = log
        with log.open("w") as out:
            self.proc = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT)

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for(self, needle: str, timeout: float) -> None:
        def seen() -> bool:
            assert self.proc.poll() is None, (
                f"ioc up exited with {self.proc.returncode}:\n{self.text()[-3000:]}"
            )
            return needle in self.text()

        wait_for(seen, timeout, f"ioc up to say {needle!r}")

    def stop(self) -> None:
        """Ctrl-C, as a person stops it; it must stop everything cleanly."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            self.proc.wait(timeout=120)
        assert self.proc.returncode == 0, self.text()[-3000:]


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5):
            return True
    except (urllib.error.URLError, ConnectionError):
        return False


def ioc(env: dict[str, str], *args: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "ioc", *args], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]


def shown(page: Page) -> dict[str, str]:
    """The wall's tile and counter texts, read at one instant."""
    found = page.driver.execute_script(
        "return arguments[0].map(s => { const e = document.querySelector(s);"
        " return e ? e.textContent : null; })",
        [pattern_id("wall-tile-value", kpi=k) for k in TILE_KPIS]
        + [pattern_id("wall-counter-value", kpi=k) for k in COUNTER_KPIS],
    )
    return dict(zip([*TILE_KPIS, *COUNTER_KPIS], (str(t) for t in found), strict=True))


def tile_period(today: date) -> periods.Named:
    """The scene's period: month to date, unless the month began today and so holds only hours
    of the history; then the first of year and week to date that began before today."""
    candidates: tuple[periods.Named, ...] = ("month", "year", "week")
    return next((name for name in candidates if periods.named(name, today).start < today), "month")


def expected(
    events: list[dict[str, object]], data: ReferenceData, unit: str, period: periods.Named, now: datetime
) -> dict[str, str]:
    """What the wall must say, computed by brute force from the events themselves."""
    today = now.date()
    tiles = periods.named(period, today)
    day = periods.named("today", today)
    tiled = compute(events, data, unit, tiles.start, tiles.end, now=now)
    daily = compute(events, data, unit, day.start, day.end, now=now)
    texts = {k: i18n.kpi_value(k, tiled[k].value, "vi") for k in TILE_KPIS}
    return texts | {k: i18n.kpi_value(k, daily[k].value, "vi") for k in COUNTER_KPIS}


def wall_agrees(
    page: Page, topic: Topic, data: ReferenceData, unit: str, period: periods.Named, tz: ZoneInfo
) -> dict[str, str]:
    """Wait until the wall, read between two identical looks at the topic's ends, shows exactly
    what the reference computes from the topic; the figures agreed on."""
    last: tuple[dict[str, str], dict[str, str]] | None = None
    deadline = time.monotonic() + AGREE_WITHIN_S
    while time.monotonic() < deadline:
        before = topic.catch_up()
        time.sleep(3)  # the page's poll (1 s), ingest's batch and a refresh
        on_page = shown(page)
        if topic.ends() != before:
            continue  # something new arrived meanwhile: look again
        now = datetime.now(tz)
        want = expected(topic.events, data, unit, period, now)
        if on_page == want:
            return want
        last = (on_page, want)
    pytest.fail(f"the wall never showed the reference's figures; last seen, shown vs expected: {last}")


def stored_once(url: str, topic: Topic) -> None:
    """Every event on the topic is in the store, once."""
    ids = {str(e["event_id"]) for e in topic.events}
    with psycopg.connect(url) as conn:
        stored = [str(r[0]) for r in conn.execute("SELECT event_id FROM events").fetchall()]
    assert len(stored) == len(set(stored)), "an event was stored twice"
    assert ids <= set(stored), f"{len(ids - set(stored))} events on the topic were never stored"


def test_the_first_command_runs_the_whole_system_and_loses_nothing(
    settings: Settings,
    timescale_url: str,
    topic: str,
    topic_reader: Topic,
    browser: WebDriver,
    tmp_path: Path,
):
    data = refdata_files.read_dir(refdata_files.default_dir())
    district, district_name = collapsed_district(data)
    scenes = tmp_path / "scenes.yaml"
    today = datetime.now(settings.timezone).date()
    days = history_days(data, today)
    period = tile_period(today)
    scenes.write_text(SCENE.format(period=period))
    redis_url = settings.redis_url.rsplit("/", 1)[0] + f"/{REDIS_DB}"
    redis.Redis.from_url(redis_url).flushdb()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "IOC_DATABASE_URL": timescale_url,
        "IOC_TOPIC": topic,
        "IOC_REDIS_URL": redis_url,
        "IOC_WALL_UNIT": district,
        "IOC_WALL_SCENES": str(scenes),
        "IOC_DASHBOARD_POLL_MS": "1000",
        "IOC_ALERTS_PENDING_S": "0",
        "IOC_ALERTS_INTERVAL_S": "10",
        "IOC_STALE_AFTER_S": "86400",  # simulated nights are quiet
    }
    # The whole history collapsed: the district resolves nothing online, so its rolling rate is 0.
    scenario = f"online-collapse:unit={district},hours_ago={days * 24}"
    ioc(env, "up", "--prepare-only")  # the schema and the example targets, then one more target
    targets = tmp_path / "targets.yaml"
    targets.write_text(TARGET.format(unit=district))
    ioc(env, "targets", "load", str(targets))
    system = System(env, port, tmp_path / "up.log", days, scenario)
    try:
        system.wait_for("dashboard started", 180)
        system.wait_for("history sent", 300)
        printed = re.search(r"sign in as '(\S+)' with the password '(\S+)'", system.text())
        assert printed is not None, system.text()[-3000:]
        topic_reader.catch_up()
        sent = len({e["event_id"] for e in topic_reader.events})
        wait_for(
            lambda: count(timescale_url, "events") >= sent, 300, f"ingest to store the {sent} history events"
        )

        page = Page(browser, base)
        browser.execute_cdp_cmd("Network.clearBrowserCookies", {})
        page.sign_in(printed[1], printed[2])
        page.open("/wall")
        page.wait_text("#wall-title", lambda text: text == district_name)
        first = wall_agrees(page, topic_reader, data, district, period, settings.timezone)
        assert sum(value != i18n.kpi_value(k, None, "vi") for k, value in first.items()) >= 4, first

        def alert_on_wall() -> bool:
            items = page.driver.find_elements(By.CSS_SELECTOR, "#wall-alerts li.wall-alert")
            return any(district_name in item.text for item in items)

        waited = wait_until(alert_on_wall, 120, f"the collapse's alert of {district_name} on the wall")
        print(f"the collapse's alert reached the wall {waited:.1f} s after the wall opened")
        assert page.browser_errors() == []
    finally:
        system.stop()
    text = system.text()
    for part in ("simulate", "ingest", "alerts", "dashboard"):
        assert f"{part} stopped" in text
    topic_reader.catch_up()
    stored_once(timescale_url, topic_reader)
    with psycopg.connect(timescale_url) as conn:
        fired = conn.execute(
            "SELECT count(*) FROM alerts WHERE unit_code = %s AND kpi = 'online_resolution_rate'", (district,)
        ).fetchone()
    assert fired is not None
    assert fired[0] >= 1

    again = System(env, port, tmp_path / "again.log", days, scenario)
    try:
        again.wait_for("dashboard started", 180)
        assert "--history-days" not in again.text()  # the store had data: no second backfill
        wait_for(lambda: answers(f"{base}/healthz"), 60, "the dashboard to answer again")
        page.open("/wall")  # the session survives the restart: same key, same user
        page.wait_text("#wall-title", lambda text: text == district_name)
        wall_agrees(page, topic_reader, data, district, period, settings.timezone)
        time.sleep(5)  # some live traffic after the restart
    finally:
        again.stop()
    topic_reader.catch_up()
    stored_once(timescale_url, topic_reader)
    redis.Redis.from_url(redis_url).flushdb()
