"""``ioc bench dashboard``: server time of the dashboard's main callbacks, the first load's weight
and how many polling wall displays one server keeps up with, over a province's history.

One run:

- **data**: a database kept by ``ioc bench kpi --keep`` (``database``), or a fresh one loaded
  with about ``events`` simulated events of the province the way ``ioc bench kpi`` loads it; the
  default geography and the example targets are added when it has none (the map needs them);
- **server**: the real dashboard, ``ioc serve`` under gunicorn with ``workers`` workers on a free
  loopback port, on that database and a Redis database index of the benchmark's own (flushed
  before and after), with the wall's home unit set to the province;
- **callbacks**: the requests a browser posts to ``/_dash-update-component``, built from the
  running server's ``/_dash-dependencies`` and the page it routes to: each part of the operator
  view (the map update: map, ranked table, breadcrumb and URL; the trend; the breakdowns by
  agency and by procedure), alone, for each period, then all of them at once after each data
  change, as the browser sends them; and the wall's refresh for each scene. A cache miss follows
  a bump of the data version, as ingest announces a batch (every KPI cache key names the
  version); a cache hit repeats the identical request. The figures are round trips on loopback,
  in ms;
- **first load**: the bytes headless chromium transfers (compressed) and decodes to show
  ``/wall`` and ``/`` from an empty cache until the map has its values, from the Resource
  Timing entries: the document, scripts, styles, Dash's layout and dependencies, the map's
  geometry and the callback answers;
- **walls**: ``walls`` threads that each behave like an open ``/wall`` page for ``duration``
  seconds: its tick every poll interval (the interval the server answers with), its refresh
  whenever a tick changes the wall's state, while the data version moves every
  ``changes_every`` seconds as a live ingest moves it.
"""

from __future__ import annotations

import copy
import ctypes
import gzip
import http.client
import importlib.util
import json
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from statistics import quantiles
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

import orjson
import psycopg
import redis

import store
from alerts import store as targets_store
from alerts import targets
from alerts.cli import EXAMPLE as EXAMPLE_TARGETS
from auth import users
from auth.passwords import Hasher
from bench.common import drop_database, fresh_database, kept_database, machine
from bench.kpi import KpiBenchOptions
from bench.kpi import _counted as counted
from bench.kpi import _load as load_history
from bench.kpi import _province as province_data
from bench.signed_in import sign_in
from dashboard import scenes
from ingest.notify import VERSION_KEY, ChangeNotifier
from ioc.errors import IocError
from ioc.settings import Settings
from refdata import db as refdata_db
from refdata.files import default_dir, read_dir

if TYPE_CHECKING:
    from selenium.webdriver.chrome.webdriver import WebDriver

Say = Callable[[str], None]
Json = dict[str, Any]

HOST = "127.0.0.1"
UPDATE = "/_dash-update-component"
BENCH_USER = "bench-admin"
PR_SET_PDEATHSIG = 1  # linux/prctl.h
TIMEOUT_S = 60.0  # a request, the server's start, a page's first render
MISS_P95_TARGET_MS = 300
HIT_P95_TARGET_MS = 20
FIRST_LOAD_TARGET_BYTES = 1_500_000
# The callbacks, each named by an output only it writes.
ROUTER = "page.children"
OPERATOR_PARTS: dict[str, str] = {  # the operator view's, by the name its figures go under
    "map_update": "op-map.figure",
    "trend": "op-series.figure",
    "by_agency": "op-by-agency.children",
    "by_procedure": "op-by-procedure.children",
}
WALL_TICK = "wall-state.data"
WALL_REFRESH = "wall-map.figure"
# The pages weighed, with the map they draw and an element their first values fill.
PAGES: dict[str, tuple[str, str]] = {"/wall": ("#wall-map", "#wall-map-title"), "/": ("#op-map", "#op-table")}


@dataclass(frozen=True)
class DashboardBenchOptions:
    events: int = 1_000_000  # simulated events of a fresh load (without ``database``)
    province: str = "01"  # home unit: the operator view's unit and the wall's
    database: str | None = None  # a database an earlier ``ioc bench kpi --keep`` run left
    fresh_database: str = "ioc_bench_dashboard"  # where a fresh load goes (dropped after)
    keep: bool = False  # keep the fresh database
    periods: tuple[str, ...] = ("month", "year")  # of the operator view
    repeat: int = 30  # requests per cache-miss and per cache-hit figure
    walls: int = 50
    duration: float = 30.0  # seconds the walls poll
    changes_every: float = 5.0  # seconds between data changes while the walls poll; 0: none
    workers: int = 2  # gunicorn workers
    redis_db: int = 14  # the benchmark's own Redis database index (flushed)
    seed: int = 7
    chromium: str = "/usr/bin/chromium"
    chromedriver: str = "/usr/bin/chromedriver"


def run(settings: Settings, options: DashboardBenchOptions, say: Say) -> dict[str, Any]:
    started = datetime.now(UTC)
    load_average = [round(x, 2) for x in os.getloadavg()]
    redis_url = _redis_url(settings.redis_url, options.redis_db)
    if options.database is not None:
        url = kept_database(settings, options.database)
    else:
        url = fresh_database(settings, options.fresh_database)
    try:
        loaded = _fill(url, settings, options, say)
        _flush(redis_url)
        with (
            tempfile.TemporaryDirectory(prefix="ioc-bench-dashboard-") as scratch,
            _serving(url, redis_url, options, Path(scratch)) as port,
        ):
            say(f"dashboard serving on {HOST}:{port} with {options.workers} workers")
            client = Client(HOST, port, _signed_in(url, port))
            measured = _measure(client, settings, redis_url, options, scratch=Path(scratch), say=say)
    finally:
        _flush(redis_url)
        if options.database is None and not options.keep:
            drop_database(settings, url)
    figures = {
        "benchmark": "dashboard",
        "started": started.isoformat(timespec="seconds"),
        "machine": machine(settings) | {"load_average_at_start": load_average},
        "options": asdict(options),
        "data": loaded,
        **measured,
    }
    return figures | {"targets": verdicts(figures)}


# -- the data ---------------------------------------------------------------------------------


def _fill(url: str, settings: Settings, options: DashboardBenchOptions, say: Say) -> Json:
    """What a kept database holds, or a fresh one's province history once loaded; then what the
    dashboard needs besides events."""
    if options.database is not None:
        loaded = counted(url)
        say(f"using {options.database}: {loaded['events']:,} events")
    else:
        now = datetime.now(settings.timezone).replace(second=0, microsecond=0)
        data = province_data(read_dir(default_dir()), options.province)
        history = KpiBenchOptions(events=options.events, province=options.province, seed=options.seed)
        loaded = load_history(settings, url, data, history, now=now, say=say)
    _furnish(url, say)
    return loaded


def _furnish(url: str, say: Say) -> None:
    """The default geography and the example targets when the database has none; statistics."""
    from geo import load as geo_load  # noqa: PLC0415 - geopandas only when a benchmark runs
    from geo import store as geo_store  # noqa: PLC0415

    with store.connect(url, autocommit=True) as conn:
        if not any(level.in_force for level in geo_store.summary(conn)):
            with conn.transaction():
                geo_load.load_default(conn)
            say("geography: the default one loaded")
        if not targets_store.load(conn):
            data = refdata_db.load(conn)
            units: dict[str, str] = {unit.code: unit.level for unit in data.units}
            agencies = {agency.code for agency in data.agencies}
            saved = targets_store.save(conn, targets.read(EXAMPLE_TARGETS, units=units, agencies=agencies))
            say(f"targets: the {saved} example targets loaded")
        conn.execute("VACUUM (ANALYZE)")  # the state autovacuum keeps a live store in (migration 0015)


def _redis_url(url: str, db: int) -> str:
    """The configured Redis server, on database index ``db``."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return parts._replace(query=urlencode({"db": db})).geturl()
    return parts._replace(path=f"/{db}").geturl()


def _flush(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    try:
        client.flushdb()
    finally:
        client.close()


# -- the server -------------------------------------------------------------------------------


@contextmanager
def _serving(url: str, redis_url: str, options: DashboardBenchOptions, scratch: Path) -> Iterator[int]:
    """``ioc serve`` on a free port until the block ends (stopped even when it fails)."""
    port = _free_port()
    env = {
        **os.environ,
        "IOC_DATABASE_URL": url,
        "IOC_REDIS_URL": redis_url,
        "IOC_WALL_UNIT": options.province,
        "IOC_AUTH_SECRET": os.environ.get("IOC_AUTH_SECRET") or secrets.token_urlsafe(48),
    }
    env.pop("IOC_AUTH_SECRET_FILE", None)
    argv = [sys.executable, "-m", "ioc", "serve", "--host", HOST, "--port", str(port)]
    log = scratch / "serve.log"
    with log.open("wb") as out:  # the child keeps its own descriptor
        server = subprocess.Popen(  # noqa: S603 - our own command
            [*argv, "--workers", str(options.workers)],
            env=env,
            stdout=out,
            stderr=out,
            preexec_fn=_dies_with_parent,  # noqa: PLW1509 - no other thread yet
        )
    try:
        _wait_healthy(server, Client(HOST, port), log)
        yield port
    finally:
        _stop(server)


def _signed_in(url: str, port: int) -> dict[str, str]:
    """The headers of a session of the benchmark's own admin (made in the database at ``url`` with
    a new password each run), signed in through the sign-in form as a person would."""
    password = secrets.token_urlsafe(16)
    with psycopg.connect(url, autocommit=True) as conn:
        hashed = Hasher().hash(password)
        if users.get(conn, BENCH_USER) is None:
            users.add(
                conn, BENCH_USER, display_name=BENCH_USER, role="admin", scope="VN", password_hash=hashed
            )
        else:
            users.set_password_hash(conn, BENCH_USER, hashed)
    return sign_in(HOST, port, BENCH_USER, password)


def _dies_with_parent() -> None:
    """In the child: SIGTERM when the benchmark dies (even killed), so no server is left behind."""
    if sys.platform == "linux":
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _wait_healthy(server: subprocess.Popen[bytes], client: Client, log: Path) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            tail = log.read_text(errors="replace")[-2000:]
            msg = f"ioc serve exited with {server.returncode}:\n{tail}"
            raise IocError(msg)
        try:
            reply = client.get("/healthz")
        except (OSError, http.client.HTTPException):
            reply = None
        if reply is not None and reply.status == 200 and _database_ok(reply.body):
            return
        time.sleep(0.2)
    msg = f"ioc serve did not answer /healthz within {TIMEOUT_S:.0f} s"
    raise IocError(msg)


def _database_ok(health: Any) -> bool:
    return isinstance(health, dict) and health.get("database") == "ok"


def _stop(server: subprocess.Popen[bytes]) -> None:
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


@dataclass(frozen=True)
class Reply:
    status: int
    body: Any  # the JSON answer, None when there is none
    seconds: float  # the round trip


class Client:
    """HTTP/1.1 on loopback, as a browser asks: gzip accepted, JSON posted (a connection a request:
    gunicorn's sync workers close each one)."""

    def __init__(self, host: str, port: int, session: dict[str, str] | None = None) -> None:
        self.host = host
        self.port = port
        self.session = session or {}  # the headers of a signed-in session (bench.signed_in)

    def get(self, path: str) -> Reply:
        return self._send("GET", path, None)

    def post(self, path: str, payload: Json) -> Reply:
        return self._send("POST", path, orjson.dumps(payload))

    def _send(self, method: str, path: str, body: bytes | None) -> Reply:
        headers = {"Accept": "application/json", "Accept-Encoding": "gzip", **self.session}
        if body is not None:
            headers["Content-Type"] = "application/json"
        conn = http.client.HTTPConnection(self.host, self.port, timeout=TIMEOUT_S)
        started = time.perf_counter()
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            raw = response.read()
        finally:
            conn.close()
        seconds = time.perf_counter() - started
        if response.getheader("Content-Encoding") == "gzip":
            raw = gzip.decompress(raw)
        is_json = "json" in (response.getheader("Content-Type") or "")
        return Reply(response.status, orjson.loads(raw) if raw and is_json else None, seconds)


# -- Dash's protocol --------------------------------------------------------------------------


def _component_id(text: str) -> str | dict[str, Any]:
    """An ID as ``/_dash-dependencies`` writes it: a string, or JSON for a pattern-matching one."""
    return orjson.loads(text) if text.startswith("{") else text


def _key(component: str | dict[str, Any]) -> str:
    """How Dash names an ID in ``changedPropIds`` and answers: JSON, keys sorted, no spaces."""
    return (
        component
        if isinstance(component, str)
        else json.dumps(component, sort_keys=True, separators=(",", ":"))
    )


@dataclass(frozen=True)
class Ref:
    """A property of a component; ``ALL`` in a pattern-matching ID stands for every match."""

    id: str | dict[str, Any]
    prop: str

    @classmethod
    def parse(cls, text: str) -> Ref:
        component, _, prop = text.rpartition(".")
        return cls(_component_id(component), prop.split("@")[0])  # "@…": allow_duplicate's suffix

    @property
    def name(self) -> str:
        return f"{_key(self.id)}.{self.prop}"


@dataclass(frozen=True)
class Callback:
    """One server callback as the server describes it in ``/_dash-dependencies``."""

    output: str  # the server's name for the outputs, posted back as it is
    outputs: tuple[Ref, ...]
    inputs: tuple[Ref, ...]
    state: tuple[Ref, ...]

    @classmethod
    def find(cls, dependencies: list[Json], output: str) -> Callback:
        """The server (not clientside) callback writing ``output``, e.g. ``op-map.figure``."""
        for dep in dependencies:
            outputs = cls._outputs(dep["output"])
            if dep.get("clientside_function") is None and output in {ref.name for ref in outputs}:
                return cls(
                    output=dep["output"],
                    outputs=outputs,
                    inputs=tuple(Ref(_component_id(i["id"]), i["property"]) for i in dep["inputs"]),
                    state=tuple(Ref(_component_id(s["id"]), s["property"]) for s in dep["state"]),
                )
        msg = f"the dashboard has no server callback writing {output}"
        raise IocError(msg)

    @staticmethod
    def _outputs(text: str) -> tuple[Ref, ...]:
        if text.startswith(".."):  # several outputs: "..a.b...c.d.."
            return tuple(Ref.parse(part) for part in text[2:-2].split("..."))
        return (Ref.parse(text),)

    def covers(self) -> list[str]:
        return [ref.name for ref in self.outputs]

    def request(self, page: Page, changed: list[str]) -> Json:
        """The body a browser showing ``page`` posts when ``changed`` (input names) changed."""
        outputs = [page.refs(ref, with_value=False) for ref in self.outputs]
        return {
            "output": self.output,
            "outputs": outputs if len(outputs) > 1 else outputs[0],
            "inputs": [page.refs(ref) for ref in self.inputs],
            "changedPropIds": changed,
            "parsedChangedPropsIds": changed,
            "state": [page.refs(ref) for ref in self.state],
        }


@dataclass
class Page:
    """The components of one open page and their properties, as the browser holds them."""

    path: str
    components: dict[str, tuple[str | dict[str, Any], Json]] = field(default_factory=dict)

    def add(self, tree: Any) -> None:
        """Every component of a layout (tree of ``{"type", "namespace", "props"}``), in order."""
        if isinstance(tree, list):
            for item in tree:
                self.add(item)
        elif isinstance(tree, dict) and "props" in tree and "type" in tree:
            props = tree["props"]
            if "id" in props:
                self.components[_key(props["id"])] = (props["id"], props)
            for value in props.values():
                self.add(value)

    def set(self, component: str, prop: str, value: Any) -> None:
        self.components[component][1][prop] = value

    def get(self, component: str, prop: str) -> Any:
        return self.components[component][1].get(prop)

    def apply(self, reply: Reply) -> None:
        """A callback's answer, as the renderer applies it (patches are not followed)."""
        answer = reply.body.get("response", {}) if isinstance(reply.body, dict) else {}
        for component, props in answer.items():
            if component in self.components:
                for prop, value in props.items():
                    if not (isinstance(value, dict) and "__dash_patch_update" in value):
                        self.set(component, prop, value)

    def refs(self, ref: Ref, *, with_value: bool = True) -> Any:
        """``ref`` as posted: ``{id, property[, value]}``, a list of them for a wildcard."""
        if isinstance(ref.id, dict) and any(isinstance(v, list) for v in ref.id.values()):
            matches = [(c, p) for c, p in self.components.values() if _matches(ref.id, c)]
            return [_posted(c, p, ref.prop, with_value) for c, p in matches]
        found = self.components.get(_key(ref.id))
        if found is None:
            msg = f"the page {self.path} has no component {_key(ref.id)} (did it show a message?)"
            raise IocError(msg)
        return _posted(found[0], found[1], ref.prop, with_value)


def _matches(pattern: dict[str, Any], component: str | dict[str, Any]) -> bool:
    if not isinstance(component, dict) or component.keys() != pattern.keys():
        return False
    for key, wanted in pattern.items():
        if wanted != ["ALL"] and (isinstance(wanted, list) or component[key] != wanted):
            return False  # only ALL is used by these callbacks; MATCH would need its own rule
    return True


def _posted(component: str | dict[str, Any], props: Json, prop: str, with_value: bool) -> Json:
    posted: Json = {"id": component, "property": prop}
    if with_value and prop in props:  # a property the layout leaves out goes without a value
        posted["value"] = props[prop]
    return posted


class Dashboard:
    """The running dashboard as a browser sees it: its callbacks and its pages."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.dependencies: list[Json] = _ok(client.get("/_dash-dependencies"), "/_dash-dependencies").body
        self.shell = _ok(client.get("/_dash-layout"), "/_dash-layout").body
        self.router = Callback.find(self.dependencies, ROUTER)

    def callback(self, output: str) -> Callback:
        return Callback.find(self.dependencies, output)

    def open(self, path: str, search: str = "") -> tuple[Page, Reply]:
        """The page the router builds for a URL, as the browser receives it on its first load."""
        page = Page(f"{path}{search}")
        page.add(self.shell)
        page.set("url", "pathname", path)
        page.set("url", "search", search)
        reply = self.post(self.router.request(page, ["url.pathname"]), f"the page {path}")
        for props in reply.body["response"].values():  # the page's content, and the footer
            page.add(props.get("children"))
        return page, reply

    def post(self, payload: Json, what: str) -> Reply:
        return _ok(self.client.post(UPDATE, payload), what)


def _ok(reply: Reply, what: str) -> Reply:
    if reply.status not in {200, 204}:
        msg = f"{what}: HTTP {reply.status} from the dashboard"
        raise IocError(msg)
    return reply


# -- callbacks: cache miss and cache hit ------------------------------------------------------


class Versions:
    """Ingest's data version, moved as ingest moves it after a batch (``ioc:changes``)."""

    def __init__(self, redis_url: str, unit: str) -> None:
        self._notifier = ChangeNotifier(redis_url)
        self._client = redis.Redis.from_url(redis_url)
        self._unit = unit

    def bump(self) -> int:
        if not self._notifier.publish([self._unit]):
            msg = "cannot move the data version on Redis"
            raise IocError(msg)
        return int(self._client.get(VERSION_KEY) or 0)

    def cached_answers(self) -> int:
        """Keys in the benchmark's Redis database: grows when an answer is computed and cached."""
        return int(self._client.dbsize())

    def close(self) -> None:
        self._notifier.close()
        self._client.close()


def _miss_and_hit(
    dashboard: Dashboard, versions: Versions, repeat: int, ask: Callable[[int], Json], what: str
) -> Json:
    """Latencies of ``ask(version)``'s request: each after a new data version, then repeated."""
    misses = [dashboard.post(ask(versions.bump()), what).seconds for _ in range(repeat)]
    same = ask(versions.bump())
    dashboard.post(same, what)  # cached now
    hits: list[float] = []
    missed = 0
    while len(hits) < repeat and missed < repeat:
        before = versions.cached_answers()
        seconds = dashboard.post(same, what).seconds
        if versions.cached_answers() > before:  # the minute turned (answers name it): not a hit
            missed += 1
        else:
            hits.append(seconds)
    return {"miss_ms": latencies(misses), "hit_ms": latencies(hits), "hit_requests_that_missed": missed}


def _operator(dashboard: Dashboard, versions: Versions, options: DashboardBenchOptions, say: Say) -> Json:
    """Each part of the operator view at the province, for each period: alone after a data change
    and repeated; then all parts sent at once after each data change, as the browser sends them."""
    parts = {name: dashboard.callback(output) for name, output in OPERATOR_PARTS.items()}
    alone: dict[str, list[Json]] = {name: [] for name in parts}
    together = []
    for period in options.periods:
        page, _ = dashboard.open("/", f"?{urlencode({'unit': options.province, 'period': period})}")
        for name, callback in parts.items():
            what = f"the operator view's {name} ({period})"
            figures = _miss_and_hit(dashboard, versions, options.repeat, _asking(page, callback), what)
            alone[name].append({"period": period, **figures})
            say(f"operator {name}, {period}: {_brief(figures)}")
        at_once = _at_once(dashboard, versions, options.repeat, page, parts)
        together.append({"period": period, "miss_ms": at_once})
        say(f"operator, {period}, all parts at once: map update miss p95 {at_once['map_update']['p95']} ms")
    return {
        **{name: {"covers": parts[name].covers(), "views": alone[name]} for name in parts},
        "all_parts_at_once": together,
    }


def _asking(page: Page, callback: Callback) -> Callable[[int], Json]:
    """The request ``callback``'s part of ``page`` posts when the data version becomes ``version``."""

    def ask(version: int) -> Json:
        page.set("op-version", "data", version)
        return callback.request(page, ["op-version.data"])

    return ask


def _at_once(
    dashboard: Dashboard, versions: Versions, repeat: int, page: Page, parts: dict[str, Callback]
) -> Json:
    """Each part's latency when every part is posted at once after a data change (cache miss)."""
    seconds: dict[str, list[float]] = {name: [] for name in parts}
    with ThreadPoolExecutor(max_workers=len(parts)) as pool:
        for _ in range(repeat):
            version = versions.bump()
            asks = {name: _asking(page, callback)(version) for name, callback in parts.items()}
            sent = {
                name: pool.submit(dashboard.post, ask, f"the operator view's {name}")
                for name, ask in asks.items()
            }
            for name, reply in sent.items():
                seconds[name].append(reply.result().seconds)
    return {name: latencies(found) for name, found in seconds.items()}


def _wall_refresh(
    dashboard: Dashboard,
    versions: Versions,
    options: DashboardBenchOptions,
    shown: tuple[scenes.Scene, ...],
    say: Say,
) -> Json:
    """The wall's refresh after a data change, for each of its scenes."""
    tick, refresh = dashboard.callback(WALL_TICK), dashboard.callback(WALL_REFRESH)
    page, _ = dashboard.open("/wall")
    page.apply(dashboard.post(tick.request(page, []), "the wall's tick"))
    state = dict(page.get("wall-state", "data") or {})
    measured = []
    for index, scene in enumerate(shown):

        def ask(version: int, index: int = index) -> Json:
            page.set("wall-state", "data", state | {"version": version, "scene": index})
            return refresh.request(page, ["wall-state.data"])

        figures = _miss_and_hit(dashboard, versions, options.repeat, ask, "the wall's refresh")
        measured.append({"scene": index, "kpi": scene.kpi, "period": scene.period, **figures})
        say(f"wall refresh, {scene.kpi} {scene.period}: {_brief(figures)}")
    return {"callback": "wall_refresh", "covers": refresh.covers(), "scenes": measured}


def _brief(figures: Json) -> str:
    miss, hit = figures["miss_ms"], figures["hit_ms"]
    return f"miss p50 {miss['p50']} / p95 {miss['p95']} ms, hit p50 {hit['p50']} / p95 {hit['p95']} ms"


def latencies(seconds: list[float]) -> Json:
    """p50, p95 and the largest of round trips, in ms (None without any)."""
    if not seconds:
        return {"count": 0, "p50": None, "p95": None, "max": None}
    if len(seconds) == 1:
        seconds = seconds * 2  # quantiles need two
    cuts = quantiles(seconds, n=100, method="inclusive")
    ms = [round(x * 1000, 2) for x in (cuts[49], cuts[94], max(seconds))]
    return {"count": len(seconds), "p50": ms[0], "p95": ms[1], "max": ms[2]}


def _warm(dashboard: Dashboard, options: DashboardBenchOptions) -> None:
    """Every worker has read the reference data, the targets and the maps once."""
    opening = [("/wall", ""), ("/", f"?unit={options.province}")] * (2 * options.workers)
    threads = [threading.Thread(target=dashboard.open, args=url) for url in opening]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


# -- everything, on the running server --------------------------------------------------------


def _measure(
    client: Client,
    settings: Settings,
    redis_url: str,
    options: DashboardBenchOptions,
    *,
    scratch: Path,
    say: Say,
) -> Json:
    dashboard = Dashboard(client)
    _warm(dashboard, options)
    versions = Versions(redis_url, options.province)
    try:
        operator = _operator(dashboard, versions, options, say)
        wall = _wall_refresh(dashboard, versions, options, scenes.load(settings.wall_scenes), say)
        first_load = _first_load(f"http://{HOST}:{client.port}", client.session, options, scratch, say)
        walls = _walls(dashboard, versions, options, say)
    finally:
        versions.close()
    return {
        "callbacks": {"operator": operator, "wall_refresh": wall},
        "first_load": first_load,
        "walls": walls,
    }


# -- first load in headless chromium ----------------------------------------------------------

CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",  # root in containers
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",  # nothing but the dashboard is asked for
    "--disable-component-update",
    "--no-first-run",
    "--window-size=1920,1080",
)
RENDERED_JS = """
const [map, filled] = arguments;
const box = document.querySelector(filled);
return document.readyState === 'complete'
    && !document.querySelector('[data-dash-is-loading="true"]')
    && document.querySelectorAll(map + ' path.choroplethlocation').length > 0
    && !!box && box.textContent.trim() !== '';
"""
ENTRIES_JS = """
return performance.getEntriesByType('navigation').concat(performance.getEntriesByType('resource'))
    .map(e => [e.name, e.transferSize, e.decodedBodySize]);
"""


def _first_load(
    base_url: str, session: dict[str, str], options: DashboardBenchOptions, scratch: Path, say: Say
) -> Json:
    """What each page weighs the first time it is shown (a new browser each, given the session's
    cookies: the sign-in page is not weighed), or why not measured."""
    missing = [path for path in (options.chromium, options.chromedriver) if not Path(path).is_file()]
    if importlib.util.find_spec("selenium") is None:
        missing.append("selenium (a test dependency)")
    if missing:
        say(f"first load not measured: no {' or '.join(missing)} (Debian: chromium, chromium-driver)")
        return {"skipped": f"no {' or '.join(missing)}"}
    weighed = {}
    for number, (path, (map_css, filled_css)) in enumerate(PAGES.items()):
        with _chromium(options, scratch / f"chromium-{number}") as driver:
            for cookie in session.get("Cookie", "").split("; "):
                name, _, value = cookie.partition("=")
                driver.execute_cdp_cmd("Network.setCookie", {"name": name, "value": value, "url": base_url})
            weighed[path] = _weigh(driver, f"{base_url}{path}", map_css, filled_css)
        say(f"first load of {path}: {_bytes_brief(weighed[path])}")
    return weighed


@contextmanager
def _chromium(options: DashboardBenchOptions, profile: Path) -> Iterator[WebDriver]:
    """Headless chromium with an empty profile, quit at the end of the block."""
    from selenium import webdriver  # noqa: PLC0415 - selenium is optional here
    from selenium.webdriver.chrome.options import Options  # noqa: PLC0415
    from selenium.webdriver.chrome.service import Service  # noqa: PLC0415

    chosen = Options()
    chosen.binary_location = options.chromium
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile}"):
        chosen.add_argument(flag)
    driver = webdriver.Chrome(options=chosen, service=Service(executable_path=options.chromedriver))
    try:
        yield driver
    finally:
        driver.quit()


def _weigh(driver: WebDriver, url: str, map_css: str, filled_css: str) -> Json:
    """Load ``url``, wait until its map has values, and add up what was transferred."""
    from selenium.common.exceptions import TimeoutException  # noqa: PLC0415 - optional
    from selenium.webdriver.support.wait import WebDriverWait  # noqa: PLC0415

    started = time.monotonic()
    driver.get(url)
    try:
        WebDriverWait(driver, TIMEOUT_S, poll_frequency=0.1).until(
            lambda d: d.execute_script(RENDERED_JS, map_css, filled_css)
        )
    except TimeoutException:
        return {"url": url, "error": f"the map had no values after {TIMEOUT_S:.0f} s"}
    rendered_s = round(time.monotonic() - started, 2)
    return {"url": url, "rendered_after_s": rendered_s, **_weight(driver.execute_script(ENTRIES_JS))}


def _weight(entries: list[list[Any]]) -> Json:
    """Requests and bytes (on the wire, and decoded) in all and by kind; the document comes first."""
    kinds: dict[str, Json] = {}
    for number, (name, transferred, decoded) in enumerate(entries):
        kind = "document" if number == 0 else _kind(urlsplit(name).path)
        into = kinds.setdefault(kind, {"requests": 0, "transfer_bytes": 0, "decoded_bytes": 0})
        into["requests"] += 1
        into["transfer_bytes"] += int(transferred)
        into["decoded_bytes"] += int(decoded)
    return {
        "requests": len(entries),
        "transfer_bytes": sum(k["transfer_bytes"] for k in kinds.values()),
        "decoded_bytes": sum(k["decoded_bytes"] for k in kinds.values()),
        "by_kind": kinds,
    }


def _kind(path: str) -> str:
    if path == UPDATE:
        return "callbacks"
    if path in {"/_dash-layout", "/_dash-dependencies"}:
        return "dash_layout"
    if path.startswith(("/geo/", "/assets/topojson/")):
        return "map_geometry"
    if path.endswith(".js"):
        return "scripts"
    return "styles" if path.endswith(".css") else "other"


def _bytes_brief(weight: Json) -> str:
    if "error" in weight:
        return str(weight["error"])
    return f"{weight['transfer_bytes']:,} bytes transferred, {weight['decoded_bytes']:,} decoded"


# -- wall displays polling --------------------------------------------------------------------


@dataclass
class WallRun:
    """Wall displays polling one server within ``[start, end)``, and what they saw (threads
    append to the lists, which is safe)."""

    client: Client
    tick: Callback
    refresh: Callback
    start: float
    end: float
    latencies: dict[str, list[float]] = field(default_factory=lambda: {"tick": [], "refresh": []})
    done_at: list[float] = field(default_factory=list)
    lags: list[float] = field(default_factory=list)
    ticks_due: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def wall(self, page: Page, number: int) -> None:
        """One open ``/wall`` page: its timer's first tick (the page's initial call) at a random
        moment of the first interval (walls are not switched on together), then one every interval."""
        interval = int(page.get("wall-poll", "interval")) / 1000
        due = self.start + random.Random(number).uniform(0, interval)  # noqa: S311 - not a secret
        n = 0
        while due < self.end and time.monotonic() < self.end:
            time.sleep(max(due - time.monotonic(), 0))
            self.lags.append(time.monotonic() - due)
            if n:
                page.set("wall-poll", "n_intervals", n)
            reply = self.post("tick", self.tick.request(page, ["wall-poll.n_intervals"] if n else []))
            if reply is not None and reply.status == 200:
                interval = self.after_tick(page, reply) or interval
            n, due = n + 1, due + interval
        while due < self.end:  # due, never sent: the wall fell behind
            n, due = n + 1, due + interval
        self.ticks_due.append(n)

    def after_tick(self, page: Page, reply: Reply) -> float | None:
        """Apply a tick's answer, refresh when it changed the wall's state; the interval it set."""
        answer = reply.body.get("response", {})
        page.apply(reply)
        if "wall-state" in answer:
            self.post("refresh", self.refresh.request(page, ["wall-state.data"]))
        interval = answer.get("wall-poll", {}).get("interval")
        return int(interval) / 1000 if interval else None

    def post(self, kind: str, payload: Json) -> Reply | None:
        """``payload`` posted as callback ``kind``; None when it failed (the failure is kept)."""
        try:
            reply = self.client.post(UPDATE, payload)
        except (OSError, http.client.HTTPException) as exc:
            self.errors.append(f"{kind}: {exc}")
            return None
        self.done_at.append(time.monotonic())
        if reply.status not in {200, 204}:
            self.errors.append(f"{kind}: HTTP {reply.status}")
            return None
        self.latencies[kind].append(reply.seconds)
        return reply


def _walls(dashboard: Dashboard, versions: Versions, options: DashboardBenchOptions, say: Say) -> Json:
    """``walls`` open ``/wall`` pages polling for ``duration`` seconds while the data changes."""
    opened, _ = dashboard.open("/wall")  # each wall starts from a copy of this page
    start = time.monotonic() + 0.5
    run = WallRun(
        dashboard.client,
        dashboard.callback(WALL_TICK),
        dashboard.callback(WALL_REFRESH),
        start,
        start + options.duration,
    )
    threads = [
        threading.Thread(target=run.wall, args=(copy.deepcopy(opened), n)) for n in range(options.walls)
    ]
    stop = threading.Event()
    changes = threading.Thread(target=_changes, args=(versions, options.changes_every, start, stop))
    for thread in [changes, *threads]:
        thread.start()
    for thread in threads:
        thread.join()
    stop.set()
    changes.join()
    figures = _wall_figures(run, options, int(opened.get("wall-poll", "interval")))
    tick, lag = figures["by_callback"]["tick"], figures["tick_lag_ms"]
    say(
        f"{options.walls} walls for {options.duration:g} s: {figures['requests_per_s']} requests/s,"
        f" tick p95 {tick['p95']} ms, {figures['errors']} errors,"
        f" {figures['ticks_sent']}/{figures['ticks_due']} ticks sent, lag p95 {lag['p95']} ms"
    )
    return figures


def _wall_figures(run: WallRun, options: DashboardBenchOptions, poll_ms: int) -> Json:
    done = sum(1 for at in run.done_at if at <= run.end)  # answered within the window
    lags = latencies(run.lags)
    ticks_due, ticks_sent = sum(run.ticks_due), len(run.lags)
    return {
        "walls": options.walls,
        "duration_s": options.duration,
        "poll_ms": poll_ms,
        "data_changes_every_s": options.changes_every,
        "requests": done,
        "requests_per_s": round(done / options.duration, 1),
        "by_callback": {kind: latencies(seconds) for kind, seconds in run.latencies.items()},
        "errors": len(run.errors),
        "error_samples": run.errors[:5],
        "ticks_due": ticks_due,
        "ticks_sent": ticks_sent,
        "tick_lag_ms": lags,
        "kept_up": not run.errors and ticks_sent >= 0.95 * ticks_due and (lags["p95"] or 0) < poll_ms,
    }


def _changes(versions: Versions, every: float, start: float, stop: threading.Event) -> None:
    """The data version moves every ``every`` seconds until ``stop`` (0: never)."""
    if every <= 0:
        return
    next_at = start + every
    while not stop.wait(max(next_at - time.monotonic(), 0)):
        versions.bump()
        next_at += every


# -- targets ----------------------------------------------------------------------------------


def verdicts(figures: Json) -> list[Json]:
    """Each figure that has a target: what was measured, the target, whether it is met."""
    found: list[Json] = []
    callbacks = figures["callbacks"]
    operator = callbacks["operator"]
    for view in operator["map_update"]["views"]:
        found.extend(_latency_verdicts(f"operator map update ({view['period']})", view))
    for view in operator["all_parts_at_once"]:
        found.append(
            _at_most(
                f"operator map update ({view['period']}) with the other parts at once, miss p95",
                view["miss_ms"]["map_update"]["p95"],
                "ms",
                MISS_P95_TARGET_MS,
            )
        )
    for scene in callbacks["wall_refresh"]["scenes"]:
        found.extend(_latency_verdicts(f"wall refresh ({scene['kpi']}, {scene['period']})", scene))
    first_load = figures["first_load"]
    for path, weight in first_load.items() if "skipped" not in first_load else ():
        found.append(
            _at_most(f"first load of {path}", weight.get("transfer_bytes"), "bytes", FIRST_LOAD_TARGET_BYTES)
        )
    walls = figures["walls"]
    found.append(
        {
            "figure": f"{walls['walls']} walls polling every {walls['poll_ms']} ms",
            "measured": walls["requests_per_s"],
            "unit": "requests/s",
            "target": "on schedule, no error",
            "met": walls["kept_up"],
        }
    )
    return found


def _latency_verdicts(name: str, measured: Json) -> list[Json]:
    return [
        _at_most(f"{name}, miss p95", measured["miss_ms"]["p95"], "ms", MISS_P95_TARGET_MS),
        _at_most(f"{name}, hit p95", measured["hit_ms"]["p95"], "ms", HIT_P95_TARGET_MS),
    ]


def _at_most(figure: str, measured: float | None, unit: str, limit: int) -> Json:
    met = measured is not None and measured <= limit
    return {
        "figure": figure,
        "measured": measured,
        "unit": unit,
        "target": f"<= {limit:,} {unit}",
        "met": met,
    }


def table(figures: Json) -> list[str]:
    """The figures with targets as lines of a table."""
    rows = [
        (
            v["figure"],
            f"{v['measured']:,} {v['unit']}",
            v["target"],
            "yes" if v["met"] else "NO",
        )
        if v["measured"] is not None
        else (v["figure"], "-", v["target"], "NO")
        for v in figures["targets"]
    ]
    header = ("figure", "measured", "target", "met")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(4)]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    ]
