"""The operator view against a real store: drill-down over both kinds of geography, the ranked
table against kpi.queries and the targets, the trend and breakdowns, CSV export of exactly the
table, the URL that reproduces the view, the language, and the broken states."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace
from datetime import date, datetime
from typing import Any

import pytest
from dash import no_update

import store
from callbacks import operator as op
from dashboard import i18n
from dashboard.data import Data
from dashboard.maps import Maps
from dashboard.reference import COUNTRY
from dashboard.view_state import ViewState
from kpi import periods, queries, registry
from kpi.model import Filters
from layouts import table
from refdata import db as refdata_db
from tests import test_dashboard_fixtures as fx
from tests.net import free_port
from tests.test_dashboard_fixtures import HANOI, HCMC, TZ, DashStore, layout_json

dash_store = fx.dash_store  # fixtures shared by the dashboard tests
make_app = fx.make_app

OUTPUTS = (
    "map",
    "parent",
    "note",
    "table",
    "rows",
    "series",
    "by_agency",
    "by_procedure",
    "breadcrumb",
    "title",
    "message",
    "search",
    "lang_href",
    "dates_hidden",
    "agencies",
)


@pytest.fixture
def view(dash_store: DashStore) -> Any:
    data = Data(dash_store.settings)
    yield data, Maps(data)
    data.close()


def render(view: Any, state: ViewState, shown_parent: str | None = None, search: str = "") -> dict[str, Any]:
    data, maps = view
    return dict(zip(OUTPUTS, op.render(data, maps, state, shown_parent, search), strict=True))


def children_direct(url: str, unit: str, name: periods.Named = "month", filters: Filters = Filters()) -> Any:
    now = datetime.now(TZ).replace(second=0, microsecond=0)
    with store.connect(url, autocommit=True) as conn:
        catalog = queries.Catalog.of(refdata_db.load(conn))
        return queries.children_values(
            conn, catalog, unit, periods.named(name, now.date()), now=now, tz=TZ, filters=filters
        )


def ops(patch: Any) -> dict[tuple[Any, ...], Any]:
    return {tuple(o["location"]): o["params"]["value"] for o in patch.to_plotly_json()["operations"]}


def test_province_table_ranks_districts_against_their_target(view: Any, dash_store: DashStore):
    state = ViewState(unit=HANOI)
    out = render(view, state, shown_parent=HANOI)
    expected = children_direct(dash_store.url, HANOI)
    rows = out["rows"]
    assert {r["code"] for r in rows} == set(expected)
    for row in rows:
        value = expected[row["code"]]["online_submission_rate"]
        assert row["value"] == op.shown("online_submission_rate", value.value)
        assert row["volume"] == value.denominator
        assert row["target"] == 40.0  # the districts' target
        if row["value"] is not None:
            assert row["gap"] == pytest.approx(row["value"] - 40.0, abs=0.11)
    gaps = [r["gap"] for r in rows if r["gap"] is not None]
    assert gaps == sorted(gaps)  # the furthest short of target first
    # the map is the same map (no geometry): values and colours only, centred on the target
    found = ops(out["map"])
    assert not any("geojson" in location for location in found)
    assert found["data", 1, "zmid"] == 40.0
    assert out["parent"] == HANOI
    assert out["search"] == "?unit=01"
    assert out["lang_href"] == "?unit=01&lang=en"
    assert out["dates_hidden"] is True
    assert out["agencies"] is no_update  # the same unit's map: options not sent again
    assert out["title"] == "Các đơn vị trực thuộc Thành phố Hà Nội"
    assert "Toàn quốc" in layout_json(out["breadcrumb"])
    assert out["message"] == []
    assert "Ranh giới huyện, xã là dữ liệu mẫu." in out["note"]


def test_drill_from_the_country_to_a_commune_level(view: Any):
    data, _ = view
    reference = data.reference()
    click = {"points": [{"location": HANOI}]}
    assert op.drilled(reference, COUNTRY, "op-map", click) == HANOI
    district = reference.children(HANOI)[0]
    assert op.drilled(reference, HANOI, "op-map", {"points": [{"location": district}]}) == district
    commune = reference.children(district)[0]
    assert op.drilled(reference, district, "op-map", {"points": [{"location": commune}]}) is None  # a leaf
    assert op.drilled(reference, district, {"type": "op-crumb", "unit": COUNTRY}, None) == COUNTRY
    # drilling changes the map by URL only, then colours the new units
    out = render(view, ViewState(unit=district), shown_parent=HANOI)
    found = ops(out["map"])
    assert found["data", 0, "geojson"] == f"/geo/{district}.json"
    assert set(found["data", 0, "locations"]) == set(reference.children(district))
    assert out["parent"] == district
    agencies = {o["value"] for o in out["agencies"]}  # the filter follows the drill
    assert agencies == {a.code for a in reference.agencies_in(district)}
    assert all(reference.units[a.unit_code].level != "province" for a in reference.agencies_in(district))
    chain = layout_json(out["breadcrumb"])
    assert (
        chain.index("Toàn quốc")
        < chain.index("Thành phố Hà Nội")
        < chain.index(reference.name(district, "vi"))
    )


def test_two_level_geography_drills_province_to_commune(view: Any, dash_store: DashStore):
    data, maps = view
    reference = data.reference()
    assert op.drilled(reference, COUNTRY, "op-map", {"points": [{"location": HCMC}]}) == HCMC
    out = render(view, ViewState(unit=HCMC), shown_parent=COUNTRY)
    assert maps.of(HCMC).level == "commune"
    rows = out["rows"]
    assert {r["code"] for r in rows} == set(children_direct(dash_store.url, HCMC))
    assert all(reference.units[r["code"]].level == "commune" for r in rows)
    # a commune (a leaf) in the URL shows its siblings' map
    leaf = rows[0]["code"]
    out = render(view, ViewState(unit=leaf), shown_parent=HCMC)
    assert out["parent"] == HCMC
    assert out["map"].to_plotly_json()["operations"]  # values only: same map


def test_filters_change_the_numbers_and_the_url(view: Any, dash_store: DashStore):
    state = ViewState(unit=HANOI, period="year", kpi="on_time_rate", channel="online", lang="en")
    out = render(view, state, shown_parent=HANOI)
    expected = children_direct(dash_store.url, HANOI, "year", Filters(channel="online"))
    by_code = {r["code"]: r for r in out["rows"]}
    for code, kpis in expected.items():
        assert by_code[code]["value"] == op.shown("on_time_rate", kpis["on_time_rate"].value)
    assert out["search"] == "?unit=01&period=year&kpi=on_time_rate&channel=online&lang=en"
    assert out["lang_href"] == "?unit=01&period=year&kpi=on_time_rate&channel=online"
    assert out["title"] == "Units of Thành phố Hà Nội"
    shown = layout_json(out["table"])
    assert "On-time resolution rate" in shown
    first = out["rows"][0]
    if first["value"] is not None:
        assert f'"{first["value"]:.1f}%"' in shown  # English decimals
    assert all(r["target"] is None and r["gap"] is None for r in out["rows"])  # no district target: dashes
    # sorting is part of the state and of the URL
    by_value = render(view, replace(state, sort="-value"), shown_parent=HANOI)
    values = [r["value"] for r in by_value["rows"] if r["value"] is not None]
    assert values == sorted(values, reverse=True)
    assert "sort=-value" in by_value["search"]
    assert ViewState.from_params(dict(p.split("=") for p in out["search"][1:].split("&"))) == state


def test_custom_period_and_trend_with_target(view: Any):
    today = datetime.now(TZ).date()
    start = today.replace(day=1) if today.day > 3 else date(today.year, today.month, 1)
    state = ViewState(unit=HANOI, period="custom", start=start, end=today)
    out = render(view, state, shown_parent=HANOI)
    assert out["dates_hidden"] is False
    assert f"from={start.isoformat()}" in out["search"]
    figure = out["series"].to_plotly_json()
    assert figure["data"][0]["x"][-1] == f"{today:%d/%m}"
    assert len(figure["data"][0]["x"]) == (today - start).days + 1
    assert figure["layout"]["shapes"][0]["y0"] == 50.0  # Hà Nội's own target as a line
    bars = json.loads(layout_json(out["by_procedure"]))["props"]["children"][1:]
    assert 0 < len(bars) <= op.TOP_BREAKDOWN
    texts = [bar["props"]["children"][2]["props"]["children"] for bar in bars]
    assert all(t.endswith(" %") for t in texts)
    widths = [bar["props"]["children"][1]["props"]["children"]["props"]["style"]["width"] for bar in bars]
    assert "100.0%" in widths


def test_csv_export_is_the_table_as_shown(dash_store: DashStore, make_app: Any, view: Any):
    out = render(view, ViewState(unit=HANOI), shown_parent=HANOI)
    rows = out["rows"]
    shown = list(reversed(rows))  # as the user sorted it
    app = make_app(dash_store.settings)
    sent = app._ioc_callbacks["export"](1, shown, "online_submission_rate", "vi")
    assert sent["filename"] == "ioc-export.csv"
    exported = list(csv.reader(io.StringIO(sent["content"])))
    assert exported[0] == [
        "Đơn vị",
        "Mã",
        "Tỷ lệ hồ sơ nộp trực tuyến",
        "Chỉ tiêu giao",
        "Chênh lệch",
        "Số hồ sơ",
    ]
    assert [line[1] for line in exported[1:]] == [r["code"] for r in shown]
    first = shown[0]
    value = i18n.number(first["value"], "vi", 1) + " %" if first["value"] is not None else "Không có dữ liệu"
    assert exported[1][2] == value
    assert exported[1][3] == "40,0 %"
    assert exported[1][4].startswith(("+", "-"))
    # every cell of the page's table is in the export, in the same order
    page = json.loads(layout_json(out["table"]))
    body = page["props"]["children"][1]["props"]["children"]
    on_page = [[td["props"]["children"] for td in tr["props"]["children"]] for tr in body]
    assert on_page == list(csv.reader(io.StringIO(table.csv_text(rows, "online_submission_rate", "vi"))))[1:]
    english = table.csv_text(rows, "received", "en")
    assert english.splitlines()[0] == "Unit,Code,Received,Target,Gap,Applications"


def test_unit_without_applications_says_no_data(view: Any):
    data, _ = view
    quiet = next(code for code in data.reference().children(COUNTRY) if code not in (HANOI, HCMC))
    out = render(view, ViewState(unit=quiet), shown_parent=quiet)
    assert out["rows"]
    assert all(r["value"] is None for r in out["rows"])
    assert layout_json(out["table"]).count("Không có dữ liệu") == len(out["rows"])
    assert ops(out["map"])["data", 1, "locations"] == []
    assert "Không có dữ liệu" in json.dumps(out["series"].to_plotly_json(), ensure_ascii=False)
    assert "Không có dữ liệu" in layout_json(out["by_agency"])


def test_unknown_unit_and_database_down(view: Any, settings: Any, dash_store: DashStore, make_app: Any):
    out = render(view, ViewState(unit="99999"))
    assert out["map"] is no_update
    assert "Không tìm thấy đơn vị có mã 99999." in layout_json(out["message"])
    down = Data(replace(settings, database_url=f"postgresql://ioc@127.0.0.1:{free_port()}/ioc"))
    try:
        out = dict(zip(OUTPUTS, op.render(down, Maps(down), ViewState(lang="en"), None, ""), strict=True))
        assert out["rows"] is no_update
        assert "The database is unreachable." in layout_json(out["message"])
    finally:
        down.close()
    app = make_app(dash_store.settings)
    client = app.server.test_client()
    body = {
        "output": "..page.children...footer.children..",
        "outputs": [{"id": "page", "property": "children"}, {"id": "footer", "property": "children"}],
        "inputs": [{"id": "url", "property": "pathname", "value": "/"}],
        "state": [{"id": "url", "property": "search", "value": "?unit=99999&lang=en"}],
        "changedPropIds": ["url.pathname"],
    }
    page = json.dumps(client.post("/_dash-update-component", json=body).get_json(), ensure_ascii=False)
    assert "No unit has the code 99999." in page
    body["inputs"][0]["value"] = "/nowhere"
    page = json.dumps(client.post("/_dash-update-component", json=body).get_json(), ensure_ascii=False)
    assert "No such page." in page


def test_operator_page_in_english_from_the_url(dash_store: DashStore, make_app: Any):
    app = make_app(dash_store.settings)
    client = app.server.test_client()
    body = {
        "output": "..page.children...footer.children..",
        "outputs": [{"id": "page", "property": "children"}, {"id": "footer", "property": "children"}],
        "inputs": [{"id": "url", "property": "pathname", "value": "/"}],
        "state": [{"id": "url", "property": "search", "value": "?unit=01&kpi=on_time_rate&lang=en"}],
        "changedPropIds": ["url.pathname"],
    }
    page = json.dumps(client.post("/_dash-update-component", json=body).get_json(), ensure_ascii=False)
    assert '"op-map"' in page
    assert '"op-table"' in page
    assert "Month to date" in page
    assert "Export CSV" in page
    assert "Tiếng Việt" in page  # the switch back
    assert "/geo/01.json" in page
    assert '"value": "on_time_rate"' in page
    assert "Map: Made with Natural Earth" in page


def test_poll_moves_only_with_the_data_version(dash_store: DashStore, make_app: Any, redis_client: Any):
    app = make_app(dash_store.settings)
    poll = app._ioc_callbacks["poll"]
    version = int(redis_client.get("ioc:data-version") or 0)
    seen, interval = poll(1, None)
    assert interval == dash_store.settings.poll_ms
    assert seen >= version
    again, _ = poll(2, seen)
    if again is not no_update:  # ingest elsewhere moved it meanwhile
        assert again > seen
    redis_client.incr("ioc:data-version")
    moved, _ = poll(3, seen)
    assert moved > seen
    assert registry.get("online_submission_rate")
