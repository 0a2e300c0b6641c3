"""Live behaviour: a committed batch reaches the wall through the data version; Redis down means
slower polling and answers from PostgreSQL; responses are compressed; a page built while the
database was down rebuilds itself."""

from __future__ import annotations

import gzip
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from dash import no_update

from callbacks import wall as wall_callbacks
from dashboard import data as data_module
from dashboard import scenes
from dashboard.data import Data
from dashboard.maps import Maps
from ingest.notify import ChangeNotifier
from kpi import periods
from kpi.model import Filters
from tests import test_dashboard_fixtures as fx
from tests.net import free_port
from tests.test_dashboard_fixtures import FULL, HANOI, TZ, DashStore, layout_json, write

dash_store = fx.dash_store  # fixtures shared by the dashboard tests
make_app = fx.make_app

TODAY = (scenes.Scene("received", "today", 60),)
ASSETS = Path(__file__).parents[1] / "dashboard" / "assets"


def new_application(application_id: str, at: datetime) -> list[Any]:
    """A submitted and received application in a commune of Hà Nội, decoded by the contract."""
    from ingest.contract import Decoded, decode  # noqa: PLC0415

    district = next(u.code for u in FULL.units if u.parent_code == HANOI)
    commune = next(u.code for u in FULL.units if u.parent_code == district)
    agency = next(a.code for a in FULL.agencies if a.unit_code == commune)
    procedure = next(p.code for p in FULL.procedures if p.level == "commune")
    common = {
        "schema_version": 1,
        "application_id": application_id,
        "procedure_code": procedure,
        "agency_code": agency,
        "unit_code": commune,
    }
    bodies = [
        {
            **common,
            "event_id": f"{application_id}-s",
            "event_type": "submitted",
            "occurred_at": at.isoformat(),
            "channel": "online",
            "online_level": "full",
        },
        {
            **common,
            "event_id": f"{application_id}-r",
            "event_type": "received",
            "occurred_at": at.isoformat(),
            "due_at": (at + timedelta(days=5)).isoformat(),
        },
    ]
    found = [
        decode(json.dumps(b).encode(), now=at + timedelta(minutes=1), unit_codes=FULL.unit_codes)
        for b in bodies
    ]
    assert all(isinstance(d, Decoded) for d in found), found
    return found


def test_a_committed_batch_reaches_the_wall(dash_store: DashStore):
    data = Data(dash_store.settings)
    try:
        wall = wall_callbacks.Wall(data, Maps(data), TODAY, 2000, 300)
        before = wall_callbacks.tick(wall, None, "vi", datetime.now(UTC))[5]
        counters = wall_callbacks.refresh(wall, "VN", before, "vi")[7]
        received = int(counters[0].replace(".", ""))
        at = datetime.now(UTC) - timedelta(seconds=20)
        write(dash_store.url, new_application("HS-LIVE-1", at))
        notifier = ChangeNotifier(dash_store.settings.redis_url)
        assert notifier.publish([HANOI])
        notifier.close()
        after = wall_callbacks.tick(wall, before, "vi", datetime.now(UTC))
        assert after[5] is not no_update  # the version moved: recompute
        assert after[5]["version"] > before["version"]
        assert after[3] is True  # fresh data: no stale banner
        out = wall_callbacks.refresh(wall, "VN", after[5], "vi")
        assert int(out[7][0].replace(".", "")) == received + 1
        assert "Tiếp nhận" in layout_json(out[8][0])  # the newest event heads the ticker
    finally:
        data.close()


def test_redis_down_answers_from_postgresql_and_polls_slower(
    dash_store: DashStore, make_app: Any, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(data_module, "SLOWER_WITHOUT_REDIS", 7)  # one place decides, for every page
    settings = replace(dash_store.settings, redis_url=f"redis://127.0.0.1:{free_port()}/0")
    down = Data(settings)
    up = Data(dash_store.settings)
    try:
        assert down.version() is None
        now = up.now()
        period = periods.named("month", now.date())
        assert down.values(HANOI, period, Filters(), now) == up.values(HANOI, period, Filters(), now)
        wall = wall_callbacks.Wall(down, Maps(down), TODAY, 2000, 300)
        tick = wall_callbacks.tick(wall, None, "vi", datetime.now(UTC))
        assert tick[6] == 14_000
        refreshed = wall_callbacks.refresh(wall, "VN", tick[5], "vi")
        assert refreshed[10] == []  # no error: the numbers come from PostgreSQL
    finally:
        down.close()
        up.close()
    app = make_app(settings)
    version, interval, *footer = app._ioc_callbacks["poll"](3, None, "en", "status-ok")
    assert interval == 7 * settings.poll_ms
    assert version == {"none": 3}  # recompute on the slower beat
    assert footer == ["Running slower (no Redis cache)", "status-degraded"]


def test_static_files_and_answers_are_compressed(dash_store: DashStore, make_app: Any):
    app = make_app(dash_store.settings)
    client = app.server.test_client()
    path = "/assets/vendor/plotly/plotly-geo.min.js"
    with client.get(path, headers={"Accept-Encoding": "gzip"}) as response:
        assert response.headers["Content-Encoding"] == "gzip"
        body = response.get_data()
    original = (ASSETS / "vendor" / "plotly" / "plotly-geo.min.js").read_bytes()
    assert gzip.decompress(body) == original
    assert len(body) < len(original) / 2
    with client.get("/geo/VN.json", headers={"Accept-Encoding": "gzip"}) as response:
        features = json.loads(gzip.decompress(response.get_data()))["features"]
    assert len(features) == 34
    with client.get(path) as plain:
        assert "Content-Encoding" not in plain.headers


def test_a_page_built_while_the_database_is_down_retries(settings: Any, make_app: Any):
    app = make_app(replace(settings, database_url=f"postgresql://ioc@127.0.0.1:{free_port()}/ioc"))
    client = app.server.test_client()
    body = {
        "output": "..page.children...footer.children..",
        "outputs": [{"id": "page", "property": "children"}, {"id": "footer", "property": "children"}],
        "inputs": [{"id": "url", "property": "pathname", "value": "/wall"}],
        "state": [{"id": "url", "property": "search", "value": ""}],
        "changedPropIds": ["url.pathname"],
    }
    page = json.dumps(client.post("/_dash-update-component", json=body).get_json(), ensure_ascii=False)
    assert "Mất kết nối cơ sở dữ liệu" in page
    assert '"retry"' in page  # reloads itself until the database answers
    assert "Mất kết nối cơ sở dữ liệu" in page
    assert TZ is not None


def test_an_alert_fired_by_the_engine_reaches_the_wall(dash_store: DashStore):
    """The engine writes its episode and moves the data version: the next tick recomputes and
    the wall lists it, with the count that drives its pulsing cue."""
    from tests.test_dashboard_fixtures import clear_alerts, insert_alert  # noqa: PLC0415

    data = Data(dash_store.settings)
    try:
        wall = wall_callbacks.Wall(data, Maps(data), TODAY, 2000, 300)
        state = wall_callbacks.tick(wall, None, "en", datetime.now(UTC))[5]
        assert "No active alerts" in layout_json(wall_callbacks.refresh(wall, "VN", state, "en")[9])
        insert_alert(dash_store.url, unit_code=HANOI, severity="critical", kpi="on_time_rate", threshold=95)
        notifier = ChangeNotifier(dash_store.settings.redis_url)
        assert notifier.publish([HANOI])
        notifier.close()
        moved = wall_callbacks.tick(wall, state, "en", datetime.now(UTC))[5]
        assert moved is not no_update
        out = wall_callbacks.refresh(wall, "VN", moved, "en")
        shown = layout_json(out[9])
        assert "Active alerts (1)" in shown
        assert "Thành phố Hà Nội" in shown
        assert "On-time resolution rate" in shown
        assert "target ≥ 95.0%" in shown
        assert "◆ Critical" in shown
        assert out[11] == 1
    finally:
        data.close()
        clear_alerts(dash_store.url)
