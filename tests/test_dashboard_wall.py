"""The wall display against a real store: values equal the KPI queries, patches carry values only,
the stale banner follows the data, scenes rotate by the clock, broken states say so."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from dash import dcc, no_update

import store
from callbacks import wall as wall_callbacks
from dashboard import scenes
from dashboard.data import Data
from dashboard.maps import Maps
from ioc.settings import Settings
from kpi import periods, queries, registry
from layouts import ids
from layouts import wall as wall_layout
from layouts.wall import COUNTER_KPIS, TILE_KPIS
from tests import test_dashboard_fixtures as fx
from tests.net import free_port
from tests.test_dashboard_fixtures import HANOI, HCMC, TZ, DashStore, layout_json

dash_store = fx.dash_store  # fixtures shared by the dashboard tests
make_app = fx.make_app

MONTH = (scenes.Scene("online_submission_rate", "month", 60),)


@pytest.fixture
def wall(dash_store: DashStore) -> Any:
    data = Data(dash_store.settings)
    yield wall_callbacks.Wall(data, Maps(data), MONTH, 2000, 300)
    data.close()


def state_now(wall: wall_callbacks.Wall) -> dict[str, Any]:
    out = wall_callbacks.tick(wall, None, "vi", datetime.now(UTC))
    assert out[5] is not no_update
    return out[5]


def ops(patch: Any) -> dict[tuple[Any, ...], Any]:
    return {tuple(op["location"]): op["params"]["value"] for op in patch.to_plotly_json()["operations"]}


def direct(url: str, unit: str, name: periods.Named = "month") -> dict[str, Any]:
    """What kpi.queries says, straight from the store."""
    now = datetime.now(TZ).replace(second=0, microsecond=0)
    with store.connect(url, autocommit=True) as conn:
        from refdata import db as refdata_db  # noqa: PLC0415

        catalog = queries.Catalog.of(refdata_db.load(conn))
        return queries.values(conn, catalog, unit, periods.named(name, now.date()), now=now, tz=TZ)


def test_national_wall_adds_up_the_provinces(wall: wall_callbacks.Wall, dash_store: DashStore):
    out = wall_callbacks.refresh(wall, "VN", state_now(wall), "vi")
    patch, title, note, tiles, targets, _changes, sparks, counters, ticker, alerts, error, count = out
    hanoi, hcmc = direct(dash_store.url, HANOI), direct(dash_store.url, HCMC)
    # the map: only the two provinces with applications are coloured, the others stay grey
    found = ops(patch)
    locations = found["data", 1, "locations"]
    assert set(locations) == {HANOI, HCMC}
    z = dict(zip(locations, found["data", 1, "z"], strict=True))
    assert z[HANOI] == round(float(hanoi["online_submission_rate"].value * 100), 2)
    labels = found["data", 2, "text"]
    assert labels.count("") == 32  # no label where there is no data, never "0 %"
    assert (
        registry.format_value(registry.get("online_submission_rate"), hanoi["online_submission_rate"].value)
        in labels
    )
    assert not any("geojson" in op for op in found)  # geometry never travels again
    hover = found["data", 0, "hovertext"]
    assert sum("Không có dữ liệu" in h for h in hover) == 32
    # tiles: the ratio of the two provinces' sums, formatted in Vietnamese
    key = "online_submission_rate"
    numerator = hanoi[key].numerator + hcmc[key].numerator
    denominator = (hanoi[key].denominator or 0) + (hcmc[key].denominator or 0)
    expected = registry.format_value(registry.get(key), Fraction(numerator, denominator), "vi")
    assert tiles[TILE_KPIS.index(key)] == expected
    assert "," in expected
    assert expected.endswith(" %")
    # targets are set for provinces and districts, none for the whole country
    assert set(targets) == {"Chưa giao chỉ tiêu"}
    assert note.startswith("Chưa giao chỉ tiêu")  # no target for provinces: coloured by value
    assert title == "Tỷ lệ hồ sơ nộp trực tuyến — Tháng này"
    assert len(sparks) == len(TILE_KPIS)
    assert len(ops(sparks[0])["data", 0, "y"]) == 14
    assert len(counters) == len(COUNTER_KPIS)
    today_received = (
        direct(dash_store.url, HANOI, "today")["received"].value
        + direct(dash_store.url, HCMC, "today")["received"].value
    )
    assert counters[0] == f"{today_received:,}".replace(",", ".")
    assert 0 < len(ticker) <= wall_callbacks.TICKER_LENGTH
    assert "Không có cảnh báo" in layout_json(alerts)  # the alerts table is empty
    assert count == 0
    assert error == []


def test_province_wall_colours_districts_against_their_target(
    wall: wall_callbacks.Wall, dash_store: DashStore
):
    out = wall_callbacks.refresh(wall, HANOI, state_now(wall), "en")
    found = ops(out[0])
    unit_map = wall.maps.of(HANOI)
    assert unit_map.level == "district"
    assert set(found["data", 1, "locations"]) <= set(unit_map.codes)
    assert found["data", 1, "zmid"] == 40.0  # the districts' target
    assert found["data", 1, "zmin"] < 40.0 < found["data", 1, "zmax"]
    assert found["data", 1, "zmax"] - 40.0 == pytest.approx(40.0 - found["data", 1, "zmin"])
    assert found["data", 1, "colorscale"][0][1] == "#b35806"  # orange below target
    assert out[2].startswith("Colour: gap to the target of 40.0%")
    hanoi = direct(dash_store.url, HANOI)
    tile = out[3][TILE_KPIS.index("online_submission_rate")]
    assert tile == registry.format_value(
        registry.get("online_submission_rate"), hanoi["online_submission_rate"].value, "en"
    )
    assert out[4][TILE_KPIS.index("online_submission_rate")] == "Target: 50.0%"  # Hà Nội's own target
    assert out[4][TILE_KPIS.index("on_time_rate")] == "Target: 95.0%"  # every province's
    assert out[4][TILE_KPIS.index("digitization_rate")] == "No target"


def test_two_level_province_maps_its_communes(wall: wall_callbacks.Wall):
    unit_map = wall.maps.of(HCMC)
    assert unit_map.level == "commune"
    assert len(unit_map.codes) > 10
    out = wall_callbacks.refresh(wall, HCMC, state_now(wall), "vi")
    assert set(ops(out[0])["data", 1, "locations"]) <= set(unit_map.codes)


def test_stale_banner_follows_the_data(wall: wall_callbacks.Wall, dash_store: DashStore):
    later = datetime.now(UTC) + timedelta(hours=2)
    _clock, age, banner, hidden, root, _state, interval, _answered, *footer = wall_callbacks.tick(
        wall, None, "vi", later
    )
    assert footer == ["Dữ liệu không được cập nhật", "status-stale"]
    assert not hidden
    assert root == "wall stale"
    assert banner.startswith("DỮ LIỆU KHÔNG ĐƯỢC CẬP NHẬT")
    assert "giờ" in age
    assert interval == 2000
    fresh = wall_callbacks.tick(wall, None, "en", datetime.now(UTC) - timedelta(minutes=0))
    latest = datetime.fromisoformat(fresh[5]["latest"])
    at_data = wall_callbacks.tick(wall, None, "en", latest + timedelta(seconds=30))
    assert at_data[3] is True
    assert at_data[4] == "wall"
    assert at_data[1] == "Latest data: 30 s ago"
    again = wall_callbacks.tick(wall, at_data[5], "en", latest + timedelta(seconds=31))
    assert again[5] is no_update  # same version, scene and minute: nothing to recompute


def test_every_answer_feeds_the_connection_watchdog(wall: wall_callbacks.Wall, make_app: Any):
    now = datetime.now(UTC)
    first = wall_callbacks.tick(wall, None, "vi", now)
    again = wall_callbacks.tick(wall, first[5], "vi", now + timedelta(seconds=1))
    assert again[5] is no_update  # nothing to recompute, yet the answer is stamped
    assert (first[7], again[7]) == (now.timestamp(), now.timestamp() + 1)
    # the browser says it is offline after three of the tick's intervals, never sooner than 10 s
    assert wall_callbacks.offline_after_ms(500) == 10_000
    assert wall_callbacks.offline_after_ms(2000) == 10_000
    assert wall_callbacks.offline_after_ms(20_000) == 60_000  # Redis down: the tick is ten times slower
    page = wall_layout.layout(
        home="VN", home_name="Toàn quốc", unit_map=wall.maps.of("VN"), lang="vi", poll_ms=wall.poll_ms
    )
    parts = {c.id: c for c in page._traverse() if isinstance(getattr(c, "id", None), str)}
    assert parts[ids.WALL_WATCHDOG].interval == wall_layout.WATCHDOG_MS == 1000
    assert parts[ids.WALL_ANSWERED].data is None
    banner = parts[ids.WALL_OFFLINE]
    assert banner.hidden is True
    assert banner.children == "Mất kết nối với máy chủ — số liệu trên màn hình có thể đã cũ"
    assert banner.className == "wall-offline"
    shown = [getattr(c, "id", None) for c in page.children if not isinstance(c, (dcc.Store, dcc.Interval))]
    assert shown[0] == ids.WALL_OFFLINE  # first: the stylesheet dims what follows it
    english = wall_layout.layout(
        home="VN", home_name="Whole country", unit_map=wall.maps.of("VN"), lang="en", poll_ms=2000
    )
    assert "Connection to the server lost" in layout_json(english)
    # the app: the tick writes the stamp; the watchdog reads it and the timers, and writes the banner
    app = make_app(wall.data.settings)
    callbacks = {item["output"]: item for item in app._callback_list}
    (tick,) = [c for key, c in callbacks.items() if f"{ids.WALL_ANSWERED}.data" in key]
    assert {i["id"] for i in tick["inputs"]} == {ids.WALL_POLL}
    (watchdog,) = [c for key, c in callbacks.items() if f"{ids.WALL_OFFLINE}.hidden" in key]
    assert [i["id"] for i in watchdog["inputs"]] == [ids.WALL_WATCHDOG, ids.WALL_ANSWERED]
    assert [s["id"] for s in watchdog["state"]] == [ids.WALL_POLL, ids.WALL_OFFLINE]
    assert watchdog["clientside_function"] is not None
    script = wall_callbacks.watchdog_js()
    assert "$" not in script  # every setting was filled in
    assert "Math.max(3 * (interval || 0), 10000)" in script


def test_no_data_yet_and_database_down(settings: Settings, make_database: Any):
    from tests.test_dashboard_fixtures import prepared  # noqa: PLC0415

    url = make_database(settings.database_url)
    prepared(url, events=False)
    data = Data(replace(settings, database_url=url))
    try:
        wall = wall_callbacks.Wall(data, Maps(data), MONTH, 2000, 300)
        out = wall_callbacks.tick(wall, None, "vi", datetime.now(UTC))
        assert out[2] == "DỮ LIỆU KHÔNG ĐƯỢC CẬP NHẬT — không có sự kiện mới từ chưa từng nhận"
        assert out[1] == "Chưa có dữ liệu"
        refreshed = wall_callbacks.refresh(wall, "VN", out[5], "vi")
        assert set(refreshed[3]) == {"Không có dữ liệu"}  # never 0 %
        assert ops(refreshed[0])["data", 1, "locations"] == []
    finally:
        data.close()
    down = Data(replace(settings, database_url=f"postgresql://ioc@127.0.0.1:{free_port()}/ioc"))
    try:
        wall = wall_callbacks.Wall(down, Maps(down), MONTH, 2000, 300)
        out = wall_callbacks.tick(wall, None, "vi", datetime.now(UTC))
        assert out[2].startswith("Mất kết nối cơ sở dữ liệu")
        assert out[3] is False
        assert out[8:] == ("Mất kết nối cơ sở dữ liệu", "status-down")  # the footer too
        refreshed = wall_callbacks.refresh(wall, "VN", out[5], "vi")
        assert all(v is no_update for v in leaves(refreshed[:10]))
        assert refreshed[11] is no_update
        assert "Mất kết nối cơ sở dữ liệu" in layout_json(refreshed[10])
    finally:
        down.close()


def leaves(values: Any) -> list[Any]:
    """The values of callback outputs, those of ``ALL`` outputs (lists) one by one."""
    return [v for value in values for v in (value if isinstance(value, list) else [value])]


def post_refresh(app: Any, state: dict[str, Any] | None) -> tuple[int, Any]:
    """The wall's refresh as the browser asks for it: the status and the answer."""
    (key,) = [k for k in app.callback_map if f"{ids.WALL_TICKER}.children" in k]

    def one(id_: str, prop: str = "children") -> dict[str, Any]:
        return {"id": id_, "property": prop}

    def each(kind: str, prop: str, keys: tuple[str, ...]) -> list[dict[str, Any]]:
        return [{"id": {"type": kind, "kpi": k}, "property": prop} for k in keys]

    outputs = [
        one(ids.WALL_MAP, "figure"),
        one(ids.WALL_MAP_TITLE),
        one(ids.WALL_MAP_NOTE),
        each(ids.TILE_VALUE, "children", TILE_KPIS),
        each(ids.TILE_TARGET, "children", TILE_KPIS),
        each(ids.TILE_CHANGE, "children", TILE_KPIS),
        each(ids.TILE_SPARK, "figure", TILE_KPIS),
        each(ids.COUNTER_VALUE, "children", COUNTER_KPIS),
        one(ids.WALL_TICKER),
        one(ids.WALL_ALERTS),
        one(ids.WALL_ERROR),
        one(ids.WALL_ALERT_COUNT, "data"),
    ]
    body = {
        "output": key,
        "outputs": outputs,
        "inputs": [{"id": ids.WALL_STATE, "property": "data", "value": state}],
        "state": [
            {"id": ids.WALL_HOME, "property": "data", "value": "VN"},
            {"id": ids.LANG, "property": "data", "value": "vi"},
        ],
        "changedPropIds": [f"{ids.WALL_STATE}.data"],
    }
    response = app.server.test_client().post("/_dash-update-component", json=body)
    return response.status_code, response.get_json(silent=True)


def test_refresh_answers_dash_with_nothing_to_do_or_the_database_down(
    wall: wall_callbacks.Wall, dash_store: DashStore, make_app: Any, settings: Settings
):
    app = make_app(dash_store.settings)
    # the page's first call, and the watchdog's reset after an outage: nothing to change
    assert post_refresh(app, None) == (204, None)
    status, answer = post_refresh(app, state_now(wall))
    assert status == 200
    assert len(answer["response"][ids.WALL_TICKER]["children"]) > 0
    # the database went away after the page opened: the message, the values left as they are
    down = make_app(replace(settings, database_url=f"postgresql://ioc@127.0.0.1:{free_port()}/ioc"))
    status, answer = post_refresh(down, {"db": False, "scene": 0})
    assert status == 200
    assert set(answer["response"]) == {ids.WALL_ERROR}
    assert "Mất kết nối cơ sở dữ liệu" in json.dumps(answer, ensure_ascii=False)


def test_scenes_rotate_with_the_clock(tmp_path: Path):
    shipped = scenes.load(None)
    assert len(shipped) >= 3
    assert all(registry.get(s.kpi) for s in shipped)
    two = (scenes.Scene("on_time_rate", "month", 10), scenes.Scene("received", "today", 20))
    start = datetime.fromtimestamp(30 * 1000, UTC)  # a multiple of the 30 s cycle
    assert [scenes.current(two, start + timedelta(seconds=s)) for s in (0, 9, 10, 29, 30)] == [0, 0, 1, 1, 0]
    bad = tmp_path / "scenes.yaml"
    bad.write_text("- kpi: nope\n  period: month\n  seconds: 10\n")
    with pytest.raises(scenes.ScenesError, match="scene 1: unknown KPI 'nope'"):
        scenes.load(bad)
    bad.write_text("- kpi: received\n  period: decade\n")
    with pytest.raises(scenes.ScenesError, match="period 'decade'"):
        scenes.load(bad)


def test_wall_page_through_the_router(dash_store: DashStore, make_app: Any):
    app = make_app(dash_store.settings)
    client = app.server.test_client()

    def page(search: str) -> str:
        body = {
            "output": "..page.children...footer.children..",
            "outputs": [{"id": "page", "property": "children"}, {"id": "footer", "property": "children"}],
            "inputs": [{"id": "url", "property": "pathname", "value": "/wall"}],
            "state": [{"id": "url", "property": "search", "value": search}],
            "changedPropIds": ["url.pathname"],
        }
        response = client.post("/_dash-update-component", json=body)
        assert response.status_code == 200
        return json.dumps(response.get_json(), ensure_ascii=False)

    shown = page("")
    assert '"wall-map"' in shown
    assert '"wall-stale-banner"' in shown
    assert "Tỷ lệ hồ sơ nộp trực tuyến" in shown  # a tile's name from the registry
    assert "/geo/VN.json" in shown  # geometry by URL
    assert "Made with Natural Earth" in shown
    english = page("?lang=en&unit=01")
    assert "Online submission rate" in english
    assert "Thành phố Hà Nội" in english
    assert "/geo/01.json" in english
    unknown = page("?unit=99999")
    assert "Không tìm thấy đơn vị có mã 99999." in unknown
    geo = client.get("/geo/01.json")
    assert geo.status_code == 200
    features = json.loads(geo.data)["features"]
    assert {f["id"] for f in features} == set(app._ioc_data.reference().children(HANOI))
    assert client.get("/geo/01.json", headers={"If-None-Match": geo.headers["ETag"]}).status_code == 304
    assert client.get("/geo/12345.json").status_code == 404


def test_serve_refuses_a_bad_scenes_file(tmp_path: Path):
    import os  # noqa: PLC0415
    import subprocess  # noqa: PLC0415
    import sys  # noqa: PLC0415

    bad = tmp_path / "scenes.yaml"
    bad.write_text("- kpi: received\n  period: today\n  seconds: 1\n")
    done = subprocess.run(
        [sys.executable, "-m", "ioc", "serve", "--port", str(free_port())],
        env={**os.environ, "IOC_WALL_SCENES": str(bad)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert "seconds should be a whole number from 5 to 3600, got 1" in done.stderr
