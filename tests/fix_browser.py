"""The real system driven by a real browser: Debian's chromium, headless, through Selenium.

``live_system`` (one per session) is the whole pipeline on the servers under test: a database
of its own with the default reference data, geography and example targets, a Kafka topic of
its own with an ``ioc ingest`` process reading it, a week of simulated history sent through
that topic, and ``ioc serve`` (gunicorn, two workers) on a free port, for the whole session.
The dashboard and ingest share a Redis database index of their own (``BROWSER_REDIS_DB``,
flushed before and after), so no other test's cached answers or data version reach the pages.

``browser`` is one headless chromium for the session (``chromium`` and ``chromium-driver``
are installed from apt when missing, as the stack installs its servers); ``Page`` opens
paths of the dashboard at an exact viewport size, waits for elements with explicit
conditions and saves screenshots under ``test-output/screenshots/`` (``IOC_TEST_OUTPUT``
moves ``test-output/``; server and ingest logs go to ``test-output/logs/``, downloads to
``test-output/downloads/``).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
import redis
from kafka.admin import NewTopic
from psycopg import sql
from selenium import webdriver
from selenium.common.exceptions import (
    NoSuchElementException,
    StaleElementReferenceException,
    TimeoutException,
)
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.actions.action_builder import ActionBuilder
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.wait import WebDriverWait

import store
from alerts import store as targets_store
from alerts import targets
from alerts.cli import EXAMPLE as EXAMPLE_TARGETS
from dashboard.guard import SESSION_COOKIE
from geo import load as geo_load
from ioc.settings import Settings
from refdata import db as refdata_db
from refdata import files as refdata_files
from simulate.produce import KafkaSink
from simulate.stream import messages, prepare
from stack import apt
from tests.fix_auth import PASSWORD, ensure_user
from tests.fix_kafka import PatientAdmin
from tests.net import free_port
from tests.test_ingest import catches_sigterm, wait_for

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = Path(os.environ.get("IOC_TEST_OUTPUT", ROOT / "test-output"))
SCREENSHOTS = OUTPUT / "screenshots"
DOWNLOADS = OUTPUT / "downloads"
LOGS = OUTPUT / "logs"

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",  # tests run as root in CI
    "--disable-gpu",
    "--disable-dev-shm-usage",
    # A closed network: nothing but the dashboard on loopback is ever asked for.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
)

BROWSER_REDIS_DB = 13
HISTORY_DAYS = 7
HISTORY_RATE = 0.05  # events per second, weekly mean: about 17,000 events over the week
SEED = 7
WAIT_S = 20.0
RERENDERED = (NoSuchElementException, StaleElementReferenceException)  # Dash replaced the element: look again

BROWSER_ADMIN = "browser-admin"  # who the browser tests sign in as (an admin of the whole country)


@dataclass(frozen=True)
class LiveSystem:
    """The running pipeline the pages show: where to reach it and what feeds it."""

    base_url: str
    env: dict[str, str]  # IOC_* settings of the session's database, topic and Redis
    settings: Settings
    history_events: int

    @property
    def database_url(self) -> str:
        return self.env["IOC_DATABASE_URL"]

    @property
    def topic(self) -> str:
        return self.env["IOC_TOPIC"]


def _with_path(url: str, path: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=path))


def _redis_url(url: str) -> str:
    """The server's own Redis, on the browser tests' database index."""
    return _with_path(url, f"/{BROWSER_REDIS_DB}") if urlsplit(url).scheme in {"redis", "rediss"} else url


def _flush(url: str) -> None:
    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
    finally:
        client.close()


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _start(name: str, argv: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    """A child process whose output goes to ``test-output/logs/<name>.log`` (never a pipe that fills)."""
    LOGS.mkdir(parents=True, exist_ok=True)
    with (LOGS / f"{name}.log").open("wb") as log:  # the child keeps its own descriptor
        return subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT)


def _stop(proc: subprocess.Popen[bytes], name: str) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    assert proc.returncode == 0, f"{name} exited with {proc.returncode}; see {LOGS / f'{name}.log'}"


def _alive(proc: subprocess.Popen[bytes], name: str) -> None:
    if proc.poll() is not None:
        tail = (LOGS / f"{name}.log").read_text(errors="replace")[-3000:]
        pytest.fail(f"{name} exited with {proc.returncode}:\n{tail}")


def start_dashboard(name: str, port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """``ioc serve`` (two workers) on ``port``, logging to ``test-output/logs/<name>.log``."""
    return _start(name, [sys.executable, "-m", "ioc", "serve", "--port", str(port), "--workers", "2"], env)


def stop_dashboard(server: subprocess.Popen[bytes], name: str) -> None:
    """SIGTERM, as an operator stops it; it must exit cleanly."""
    _stop(server, name)


def wait_healthy(server: subprocess.Popen[bytes], name: str, base_url: str, timeout: float = 60) -> None:
    """Until the dashboard at ``base_url`` answers /healthz with the database up."""

    def healthy() -> bool:
        _alive(server, name)
        try:
            code, body = _get(f"{base_url}/healthz")
        except (urllib.error.URLError, ConnectionError):
            return False
        return code == 200 and json.loads(body)["database"] == "ok"

    wait_for(healthy, timeout, f"{name} to answer /healthz")


def _prepare_database(url: str, settings: Settings) -> None:
    """Schema, the default reference data and geography (as ``ioc up`` loads them) and the
    example targets (as ``ioc targets load`` does)."""
    with store.connect(url, autocommit=True) as conn:
        store.migrate(conn)
        data = refdata_files.read_dir(refdata_files.default_dir())
        refdata_db.save(conn, data, today=datetime.now(settings.timezone).date())
        with conn.transaction():
            geo_load.load_default(conn)
        units: dict[str, str] = {unit.code: unit.level for unit in data.units}
        agencies = {agency.code for agency in data.agencies}
        targets_store.save(conn, targets.read(EXAMPLE_TARGETS, units=units, agencies=agencies))
    ensure_user(url, BROWSER_ADMIN)


def _send_history(settings: Settings, topic: str) -> int:
    """A week of simulated history up to now, through the session's topic; how many messages."""
    data = refdata_files.read_dir(refdata_files.default_dir())
    now = datetime.now(settings.timezone).replace(microsecond=0)
    plan = prepare(
        data, seed=SEED, now=now, history_days=HISTORY_DAYS, rate=HISTORY_RATE, tz=settings.timezone
    )
    sink = KafkaSink(settings.kafka_bootstrap, topic)
    sent = 0
    try:
        for message in messages(plan):
            sink.send(message.key, message.value)
            sent += 1
        sink.flush()
    finally:
        sink.close()
    return sent


def stored_events(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM events").fetchone()
    assert row is not None
    return int(row[0])


@pytest.fixture(scope="session")
def live_system(settings: Settings, kafka_admin: PatientAdmin) -> Iterator[LiveSystem]:
    """Database, topic, ingest, history and the dashboard, for the whole session."""
    name = f"ioc_test_browser_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    database_url = _with_path(settings.database_url, f"/{name}")
    topic = f"test.browser.{uuid.uuid4().hex[:8]}"
    kafka_admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)])
    redis_url = _redis_url(settings.redis_url)
    _flush(redis_url)
    env = {
        **os.environ,
        "IOC_DATABASE_URL": database_url,
        "IOC_REDIS_URL": redis_url,
        "IOC_TOPIC": topic,
        "IOC_KAFKA_BOOTSTRAP": ",".join(settings.kafka_bootstrap),
        # Simulated nights are quiet: the history's newest event may be an hour old.
        "IOC_STALE_AFTER_S": "86400",
    }
    procs: list[tuple[subprocess.Popen[bytes], str]] = []
    try:
        _prepare_database(database_url, settings)
        port = free_port()
        server = start_dashboard("serve", port, env)
        procs.append((server, "serve"))
        ingest = _start("ingest", [sys.executable, "-m", "ioc", "ingest", "--group", topic], env)
        procs.append((ingest, "ingest"))
        wait_for(lambda: ingest.poll() is not None or catches_sigterm(ingest.pid), 60, "ingest to start")
        _alive(ingest, "ingest")
        sent = _send_history(settings, topic)

        def ingested() -> bool:
            _alive(ingest, "ingest")
            return stored_events(database_url) >= sent

        wait_for(ingested, 120, f"ingest to store the {sent} history events")
        base_url = f"http://127.0.0.1:{port}"
        wait_healthy(server, "serve", base_url)
        yield LiveSystem(base_url, env, Settings.from_env(env), sent)
    finally:
        # Everything is stopped and removed even when one step fails; the first failure is raised.
        failures: list[BaseException] = []
        steps: list[Callable[[], None]] = [
            *(lambda proc=proc, what=what: _stop(proc, what) for proc, what in reversed(procs)),
            lambda: kafka_admin.delete_topics([topic]),
            lambda: _flush(redis_url),
            lambda: _drop_database(settings.database_url, name),
        ]
        for step in steps:
            try:
                step()
            except Exception as exc:  # collected: the first one is raised below
                failures.append(exc)
        if failures:
            raise failures[0]


def _drop_database(server_url: str, name: str) -> None:
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture(scope="session")
def chromium() -> tuple[str, str]:
    """Debian's chromium and its driver, installed from apt when missing (as root)."""
    apt.ensure(["chromium", "chromium-driver"], why="the browser tests", log=print)
    return CHROMIUM, CHROMEDRIVER


@pytest.fixture(scope="session")
def browser(chromium: tuple[str, str]) -> Iterator[WebDriver]:
    """One headless chromium for the session, with a fresh profile."""
    binary, driver_path = chromium
    with tempfile.TemporaryDirectory(prefix="ioc-chromium-") as profile:
        options = Options()
        options.binary_location = binary
        for flag in CHROMIUM_FLAGS:
            options.add_argument(flag)
        options.add_argument(f"--user-data-dir={profile}")
        options.add_argument("--window-size=1920,1080")
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        driver = webdriver.Chrome(options=options, service=Service(executable_path=driver_path))
        try:
            yield driver
        finally:
            driver.quit()


class Page:
    """The dashboard in the session's browser: open a path at a viewport size, wait, look."""

    def __init__(self, driver: WebDriver, base_url: str) -> None:
        self.driver = driver
        self.base_url = base_url

    def open(self, path: str, *, width: int = 1920, height: int = 1080) -> Page:
        """Load ``path`` with a viewport of exactly ``width`` by ``height`` CSS pixels."""
        self.resize(width, height)
        self.driver.get(f"{self.base_url}{path}")
        self.wait_ready()
        return self

    def resize(self, width: int, height: int) -> None:
        """A viewport of exactly ``width`` by ``height`` CSS pixels (the page stays as it is)."""
        self.driver.set_window_size(width, height + 200)
        self.driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {
                "width": width,
                "height": height,
                "deviceScaleFactor": 1,
                "mobile": False,
                "screenWidth": width,
                "screenHeight": height,
            },
        )

    def wait_ready(self, timeout: float = WAIT_S) -> None:
        """Dash has rendered the layout and no callback is pending."""
        self.until(
            lambda d: d.execute_script(
                "return document.readyState === 'complete'"
                " && !!document.querySelector('#react-entry-point > *')"
                " && !document.querySelector('[data-dash-is-loading=\"true\"]')"
            ),
            timeout,
            "the page to render",
        )

    def until(
        self, condition: Callable[[WebDriver], object], timeout: float = WAIT_S, what: str = ""
    ) -> object:
        try:
            return WebDriverWait(
                self.driver, timeout, poll_frequency=0.1, ignored_exceptions=RERENDERED
            ).until(condition, f"timed out after {timeout:.1f} s waiting for {what}")
        except TimeoutException:
            self.screenshot(f"timed-out-{datetime.now(UTC):%H%M%S}")  # what the page showed instead
            raise

    def element(self, css: str, timeout: float = WAIT_S) -> WebElement:
        found = self.until(
            expected_conditions.visibility_of_element_located((By.CSS_SELECTOR, css)), timeout, css
        )
        assert isinstance(found, WebElement)
        return found

    def text(self, css: str, timeout: float = WAIT_S) -> str:
        return self.element(css, timeout).text

    def wait_text(self, css: str, predicate: Callable[[str], bool], timeout: float = WAIT_S) -> str:
        """The text of ``css`` once ``predicate`` holds for it."""

        def holds(driver: WebDriver) -> str | bool:
            elements = driver.find_elements(By.CSS_SELECTOR, css)
            text = elements[0].text if elements else None
            return text if text is not None and predicate(text) else False

        found = self.until(holds, timeout, f"the text of {css}")
        assert isinstance(found, str)
        return found

    def element_visible(self, css: str) -> bool:
        return any(element.is_displayed() for element in self.driver.find_elements(By.CSS_SELECTOR, css))

    def font_size(self, css: str) -> float:
        """The computed font size of ``css``, in CSS pixels."""
        size = self.driver.execute_script(
            "return parseFloat(getComputedStyle(arguments[0]).fontSize)", self.element(css)
        )
        return float(size)

    def texts(self, css: str) -> list[str]:
        """The text content of every element matching ``css``, read at one instant."""
        found = self.driver.execute_script(
            "return Array.from(document.querySelectorAll(arguments[0]), e => e.textContent)", css
        )
        return [str(text) for text in found]

    def downloads_to(self, folder: Path) -> None:
        """Save the files the page downloads into ``folder`` (created), without asking."""
        folder.mkdir(parents=True, exist_ok=True)
        self.driver.execute_cdp_cmd(
            "Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(folder.resolve())}
        )

    def click_at(self, x: float, y: float) -> None:
        """A real mouse click at viewport coordinates (where no element of its own may be)."""
        actions = ActionBuilder(self.driver)
        actions.pointer_action.move_to_location(round(x), round(y)).click()  # type: ignore[no-untyped-call]
        actions.perform()

    def screenshot(self, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        assert self.driver.save_screenshot(str(path)), path
        return path

    def sign_in(self, username: str, password: str) -> None:
        """Through the sign-in form, as a person does; back on a page of the app when done."""
        self.driver.get(f"{self.base_url}/signin")
        self.element("#username").send_keys(username)
        self.element("#password").send_keys(password)
        self.element("#signin-submit").click()
        self.until(lambda d: "/signin" not in d.current_url, WAIT_S, "the sign-in to be accepted")

    def browser_errors(self) -> list[str]:
        """Severe messages of the browser console since the last call (failed requests, JS errors)."""
        entries: list[dict[str, str]] = self.driver.get_log("browser")  # type: ignore[no-untyped-call]
        return [entry["message"] for entry in entries if entry["level"] == "SEVERE"]


def pattern_id(kind: str, **keys: str) -> str:
    """The CSS selector of a Dash pattern-matching ID ``{"type": kind, **keys}`` (keys sorted, as
    Dash writes them into the page)."""
    text = json.dumps({"type": kind, **keys}, sort_keys=True, separators=(",", ":"))
    return f"[id='{text}']"


@pytest.fixture
def page(browser: WebDriver, live_system: LiveSystem) -> Page:
    """The session's browser for one test: the page an earlier test left open (polling a server it
    has since stopped, say) is closed and the console's messages drained, so that each test sees
    only its own."""
    return fresh_page(browser, live_system.base_url)


def fresh_page(browser: WebDriver, base_url: str) -> Page:
    """``browser`` on ``base_url``, signed in as the session's admin, with the page an earlier
    test left open closed and the console's messages drained."""
    browser.get("about:blank")
    fresh = Page(browser, base_url)
    if not any(
        c["name"] == SESSION_COOKIE
        for c in browser.execute_cdp_cmd("Network.getCookies", {"urls": [base_url]})["cookies"]
    ):
        fresh.sign_in(BROWSER_ADMIN, PASSWORD)
    fresh.browser_errors()
    return fresh


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> float:
    """Seconds until ``check()`` held (polled every 50 ms), failing after ``timeout``."""
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > timeout:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)
    return time.monotonic() - started
