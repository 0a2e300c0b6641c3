"""A real store for the dashboard's tests: schema, reference data, geography, simulated events.

The module-scoped ``dash_store`` holds every province of the default unit list but events only
for two of them (Hà Nội with districts and communes; Hồ Chí Minh City turned into a province →
commune geography without districts), so the national map has units with data and units with
none. Events go through the real decoder and the real sink (no Kafka needed here: ingest's own
tests cover it). Other dashboard test modules import the fixtures from here.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest
from dash import Dash
from flask.testing import FlaskClient
from psycopg import sql

import store
from alerts import store as targets_store
from alerts.targets import Target
from dashboard.app import create_app
from geo.load import load_default
from ingest.contract import Decoded, decode
from ingest.sink import Accepted, write_batch
from ioc.settings import Settings
from refdata import db as refdata_db
from refdata.files import default_dir, read_dir
from refdata.model import ReferenceData, Unit
from simulate.stream import messages, prepare
from tests.fix_auth import ADMIN, acting_as, sign_in_clients

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime.now(TZ).replace(second=0, microsecond=0)
HANOI = "01"
HCMC = "79"  # made province → commune (no districts) below
DAYS = 10


def two_level(data: ReferenceData, province: str) -> ReferenceData:
    """``data`` with the districts of ``province`` removed: its communes hang from it directly."""
    districts = {u.code for u in data.units if u.parent_code == province and u.level == "district"}
    units: list[Unit] = []
    for unit in data.units:
        if unit.code in districts:
            continue
        units.append(replace(unit, parent_code=province) if unit.parent_code in districts else unit)
    agencies = tuple(a for a in data.agencies if a.unit_code not in districts)
    return replace(data, units=tuple(units), agencies=agencies)


FULL = two_level(read_dir(default_dir()), HCMC)


def simulated_events(now: datetime = NOW) -> list[Decoded]:
    """A seeded history of the two provinces, decoded by the contract."""
    inside = FULL.subtree({HANOI, HCMC})
    world = replace(
        FULL,
        units=tuple(u for u in FULL.units if u.code in inside),
        agencies=tuple(a for a in FULL.agencies if a.unit_code in inside),
    )
    plan = prepare(world, seed=5, now=now, history_days=DAYS, rate=0.01, tz=TZ)
    found = []
    for message in messages(plan):
        result = decode(message.value, now=now + timedelta(minutes=1), unit_codes=FULL.unit_codes)
        if isinstance(result, Decoded):
            found.append(result)
    return found


EVENTS = simulated_events()


def write(url: str, events: list[Decoded]) -> None:
    with store.connect(url) as conn, conn.transaction():
        write_batch(conn, [Accepted(e, f"test/0/{i}") for i, e in enumerate(events)], [], TZ)


TARGETS = [
    Target("HN online", "online_submission_rate", HANOI, None, None, ">=", 50, "month", 0, "warning"),  # type: ignore[arg-type]
    Target("on time", "on_time_rate", None, "province", None, ">=", 95, "month", 0, "critical"),  # type: ignore[arg-type]
    Target("districts", "online_submission_rate", None, "district", None, ">=", 40, "month", 0, "info"),  # type: ignore[arg-type]
]


def new_database(server_url: str) -> str:
    name = f"ioc_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return server_url.rsplit("/", 1)[0] + f"/{name}"


def drop_database(server_url: str, url: str) -> None:
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def prepared(url: str, *, events: bool = True) -> None:
    with store.connect(url, autocommit=True) as conn:
        store.migrate(conn)
        refdata_db.save(conn, FULL)
        load_default(conn)
        targets_store.save(conn, TARGETS)
    if events:
        write(url, EVENTS)


@dataclass
class DashStore:
    url: str
    settings: Settings


@pytest.fixture(scope="module")
def dash_store(settings: Settings) -> Iterator[DashStore]:
    """A store with the two provinces' history (module scope: built once per test module). Its
    tests run inside a request of an admin of the whole country, so that they may call the
    dashboard's functions directly (pages and callbacks ask ``dashboard.access`` who asks)."""
    url = new_database(settings.database_url)
    try:
        prepared(url)
        with acting_as(None, ADMIN):
            yield DashStore(url, replace(settings, database_url=url))
    finally:
        drop_database(settings.database_url, url)


@pytest.fixture
def make_app() -> Iterator[Callable[[Settings], Dash]]:
    """``make_app(settings)``: an app whose connection pool is closed after the test. Its test
    clients are signed in as an admin of the whole country, and the test runs inside a request of
    that admin, so that it may call the callbacks' functions directly (tests of scopes and roles
    say who they act as: ``tests.fix_auth.acting_as``)."""
    made: list[Dash] = []
    with ExitStack() as requests:

        def make(settings: Settings) -> Dash:
            app = create_app(settings)
            made.append(app)
            sign_in_clients(app, settings.database_url)
            requests.enter_context(acting_as(app, ADMIN))
            return app

        yield make
    for app in made:
        app._ioc_data.close()  # type: ignore[attr-defined]


def routed(asker: Dash | FlaskClient, path: str, search: str = "") -> str:
    """The page and footer the router answers for a URL (asked by ``asker``, a client or an app's
    signed-in client), as the JSON the browser receives."""
    client = asker.server.test_client() if isinstance(asker, Dash) else asker
    body = {
        "output": "..page.children...footer.children..",
        "outputs": [{"id": "page", "property": "children"}, {"id": "footer", "property": "children"}],
        "inputs": [{"id": "url", "property": "pathname", "value": path}],
        "state": [{"id": "url", "property": "search", "value": search}],
        "changedPropIds": ["url.pathname"],
    }
    response = client.post("/_dash-update-component", json=body)
    assert response.status_code == 200, (path, response.status_code)
    return json.dumps(response.get_json(), ensure_ascii=False)


def layout_json(component: Any) -> str:
    """A component tree as the JSON the browser receives."""
    from plotly.utils import PlotlyJSONEncoder  # noqa: PLC0415

    return json.dumps(component, cls=PlotlyJSONEncoder, ensure_ascii=False)


def test_the_store_has_events_of_two_provinces_only(dash_store: DashStore):
    with store.connect(dash_store.url, autocommit=True) as conn:
        rows = conn.execute("SELECT DISTINCT unit_code FROM applications").fetchall()
        units = dict(
            conn.execute("SELECT code, parent_code FROM ref_units WHERE level = 'commune'").fetchall()
        )
    assert len(EVENTS) > 200
    assert [c for c, parent in units.items() if parent == HCMC], "HCMC's communes hang from the province"
    used = {str(r[0]) for r in rows}
    assert used <= FULL.subtree({HANOI, HCMC})
    assert used & FULL.subtree({HANOI})
    assert used & FULL.subtree({HCMC})


def test_two_level_keeps_every_commune():
    original = read_dir(default_dir())
    assert {u.code for u in FULL.units if u.level == "commune"} == {
        u.code for u in original.units if u.level == "commune"
    }
    assert not [u for u in FULL.units if u.parent_code == HCMC and u.level == "district"]


INSERT_ALERT = """
INSERT INTO alerts (target_name, unit_code, kpi, agency_code, comparison, threshold, window_name, severity,
                    state, fired_at, fired_value, fired_volume, resolved_at, resolved_value, resolved_reason)
VALUES (%(target_name)s, %(unit_code)s, %(kpi)s, NULL, %(comparison)s, %(threshold)s, %(window_name)s,
        %(severity)s, %(state)s, %(fired_at)s, %(fired_value)s, %(fired_volume)s, %(resolved_at)s,
        %(resolved_value)s, %(resolved_reason)s)
RETURNING id
"""


def insert_alert(url: str, **given: Any) -> int:
    """One alert episode written as the alert engine writes it (firing unless told); its id."""
    row = {
        "target_name": f"test target {uuid.uuid4().hex[:6]}",
        "unit_code": HANOI,
        "kpi": "online_resolution_rate",
        "comparison": ">=",
        "threshold": 40,
        "window_name": "rolling_7_days",
        "severity": "warning",
        "state": "firing",
        "fired_at": NOW - timedelta(hours=2, minutes=15),
        "fired_value": "0.382",
        "fired_volume": 48,
        "resolved_at": None,
        "resolved_value": None,
        "resolved_reason": None,
        **given,
    }
    with psycopg.connect(url, autocommit=True) as conn:
        found = conn.execute(INSERT_ALERT, row).fetchone()
    assert found is not None
    return int(found[0])


def clear_alerts(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DELETE FROM alerts")
