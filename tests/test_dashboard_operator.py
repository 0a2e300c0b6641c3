"""The operator view against a real store: drill-down over both kinds of geography, the ranked
table against kpi.queries and the targets, the trend and breakdowns, CSV export of exactly the
table, the URL that reproduces the view, the language, and the broken states; each part its own
callback that reads only what it shows; the first poll leaves a fresh page alone."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace
from datetime import date, datetime
from typing import Any

import orjson
import pytest
from dash import no_update

import store
from bench import dashboard as bench
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
from tests.test_dashboard_fixtures import HANOI, HCMC, TZ, DashStore, layout_json, routed

dash_store = fx.dash_store  # fixtures shared by the dashboard tests
make_app = fx.make_app


@pytest.fixture
def view(dash_store: DashStore) -> Any:
    data = Data(dash_store.settings)
    yield data, Maps(data)
    data.close()


def render(view: Any, state: ViewState, shown_parent: str | None = None, search: str = "") -> dict[str, Any]:
    """The map update's parts (``op.MAP_PARTS``) by name."""
    data, maps = view
    out = op.map_update(data, maps, state, shown_parent, search)
    assert set(out) == set(op.MAP_PARTS)
    return out


def children_direct(url: str, unit: str, name: periods.Named = "month", filters: Filters = Filters()) -> Any:
    now = datetime.now(TZ).replace(second=0, microsecond=0)
    with store.connect(url, autocommit=True) as conn:
        catalog = queries.Catalog.of(refdata_db.load(conn))
        return queries.children_values(
            conn, catalog, unit, periods.named(name, now.date()), now=now, tz=TZ, filters=filters
        )


def ops(patch: dict[str, Any]) -> dict[tuple[Any, ...], Any]:
    """A map patch's changes (as the JSON ``dash.Patch`` sends) by location."""
    return {tuple(o["location"]): o["params"]["value"] for o in patch["operations"]}


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
    sent = {part: value for part, value in out.items() if value is not no_update}
    assert orjson.loads(orjson.dumps(sent)) == json.loads(layout_json(sent))  # plain data: no walk


def test_drill_from_the_country_to_a_commune_level(view: Any):
    data, _ = view
    reference = data.reference()
    assert op.drilled(reference, {"points": [{"location": HANOI}]}) == HANOI
    district = reference.children(HANOI)[0]
    assert op.drilled(reference, {"points": [{"location": district}]}) == district
    commune = reference.children(district)[0]
    assert op.drilled(reference, {"points": [{"location": commune}]}) is None  # a leaf
    assert op.drilled(reference, {"points": [{"customdata": district}]}) == district  # on its label
    assert op.drilled(reference, None) is None
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
    assert op.drilled(reference, {"points": [{"location": HCMC}]}) == HCMC
    out = render(view, ViewState(unit=HCMC), shown_parent=COUNTRY)
    assert maps.of(HCMC).level == "commune"
    rows = out["rows"]
    assert {r["code"] for r in rows} == set(children_direct(dash_store.url, HCMC))
    assert all(reference.units[r["code"]].level == "commune" for r in rows)
    # a commune (a leaf) in the URL shows its siblings' map
    leaf = rows[0]["code"]
    out = render(view, ViewState(unit=leaf), shown_parent=HCMC)
    assert out["parent"] == HCMC
    assert out["map"]["operations"]  # values only: same map


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
    data, _ = view
    trend, by_procedure = op.trend_update(data, state), op.breakdown_update(data, state, "procedure")
    assert orjson.dumps([trend, by_procedure])  # plain data, written at once
    figure = json.loads(layout_json(trend))
    assert figure["data"][0]["x"][-1] == f"{today:%d/%m}"
    assert len(figure["data"][0]["x"]) == (today - start).days + 1
    assert figure["layout"]["shapes"][0]["y0"] == 50.0  # Hà Nội's own target as a line
    bars = json.loads(layout_json(by_procedure))["props"]["children"][1:]
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
    state = ViewState(unit=quiet)
    out = render(view, state, shown_parent=quiet)
    assert out["rows"]
    assert all(r["value"] is None for r in out["rows"])
    assert layout_json(out["table"]).count("Không có dữ liệu") == len(out["rows"])
    assert ops(out["map"])["data", 1, "locations"] == []
    assert "Không có dữ liệu" in layout_json(op.trend_update(data, state))
    assert "Không có dữ liệu" in layout_json(op.breakdown_update(data, state, "agency"))


def parts(data: Data, state: ViewState) -> dict[str, Any]:
    """What each part of the view shows for ``state``, as the browser receives it."""
    out = op.map_update(data, Maps(data), state, None, "")
    return {
        "map": out,
        "trend": layout_json(op.trend_update(data, state)),
        "by_agency": layout_json(op.breakdown_update(data, state, "agency")),
        "by_procedure": layout_json(op.breakdown_update(data, state, "procedure")),
    }


def test_unknown_unit_and_database_down(view: Any, settings: Any, dash_store: DashStore, make_app: Any):
    data, _ = view
    unknown = parts(data, ViewState(unit="99999"))
    assert unknown["map"]["map"] is no_update
    assert "Không tìm thấy đơn vị có mã 99999." in layout_json(unknown["map"]["message"])
    for shown in ("trend", "by_agency", "by_procedure"):  # each part says so in its own place
        assert "Không tìm thấy đơn vị có mã 99999." in unknown[shown]
    down = Data(replace(settings, database_url=f"postgresql://ioc@127.0.0.1:{free_port()}/ioc"))
    try:
        broken = parts(down, ViewState(lang="en"))
        assert broken["map"]["rows"] is no_update
        assert "The database is unreachable." in layout_json(broken["map"]["message"])
        for shown in ("trend", "by_agency", "by_procedure"):
            assert "The database is unreachable." in broken[shown]
        assert '"message"' not in broken["by_agency"]  # the page's one message ID stays unique
    finally:
        down.close()
    app = make_app(dash_store.settings)
    assert "No unit has the code 99999." in routed(app, "/", "?unit=99999&lang=en")
    assert "No such page." in routed(app, "/nowhere", "?unit=99999&lang=en")


def test_operator_page_in_english_from_the_url(dash_store: DashStore, make_app: Any):
    page = routed(make_app(dash_store.settings), "/", "?unit=01&kpi=on_time_rate&lang=en")
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
    seen, interval, *_ = poll(1, None)
    assert interval == dash_store.settings.poll_ms
    assert seen >= version
    again, *_ = poll(2, seen)
    if again is not no_update:  # ingest elsewhere moved it meanwhile
        assert again > seen
    redis_client.incr("ioc:data-version")
    moved, *_ = poll(3, seen)
    assert moved > seen
    assert registry.get("online_submission_rate")


FOOTER = {
    "ok": ("Hoạt động bình thường", "Running normally"),
    "stale": ("Dữ liệu không được cập nhật", "Data not updating"),
    "degraded": ("Hoạt động chậm (không có bộ nhớ đệm Redis)", "Running slower (no Redis cache)"),
    "down": ("Mất kết nối cơ sở dữ liệu", "Database unreachable"),
}


def test_every_polling_page_keeps_the_footer_true(dash_store: DashStore, settings: Any, make_app: Any):
    """The footer written when the page opened follows each answer of the page's own timer (no
    request of its own): database unreachable, Redis unreachable, data stale, normal; sent only
    when it changed."""
    closed = free_port()
    given = {
        "ok": replace(dash_store.settings, stale_after_s=10**9),
        "stale": replace(dash_store.settings, stale_after_s=0),
        "degraded": replace(
            dash_store.settings, stale_after_s=10**9, redis_url=f"redis://127.0.0.1:{closed}/0"
        ),
        "down": replace(dash_store.settings, database_url=f"postgresql://ioc@127.0.0.1:{closed}/ioc"),
    }
    for status, changed in given.items():
        app = make_app(changed)
        assert sum("status.children" in key for key in app.callback_map) == 4
        before = "status-down" if status == "ok" else "status-ok"  # what the footer said when the page opened
        for name in ("poll", "alerts_poll", "targets_poll", "wall_tick"):
            beat = app._ioc_callbacks[name]
            for lang, text in zip(("vi", "en"), FOOTER[status], strict=True):
                assert tuple(beat(1, None, lang, before)[-2:]) == (text, f"status-{status}"), (name, lang)
            assert tuple(beat(2, None, "vi", f"status-{status}")[-2:]) == (no_update, no_update), name


class LocalClient:
    """``bench.dashboard.Client`` over Flask's test client: the requests a browser posts (built
    from ``/_dash-dependencies`` by the benchmark's own code), without a server."""

    def __init__(self, app: Any) -> None:
        self._client = app.server.test_client()
        self.port = 0

    def get(self, path: str) -> bench.Reply:
        return self._reply(self._client.get(path))

    def post(self, path: str, payload: dict[str, Any]) -> bench.Reply:
        return self._reply(self._client.post(path, json=payload))

    @staticmethod
    def _reply(response: Any) -> bench.Reply:
        return bench.Reply(response.status_code, response.get_json(silent=True), 0.0)


def spied(data: Data, names: tuple[str, ...]) -> list[tuple[str, str | None]]:
    """Every later call of ``data``'s methods ``names``, with the KPI it narrowed to (the calls
    still go to Redis and PostgreSQL)."""
    asked: list[tuple[str, str | None]] = []

    def spy(name: str, method: Any) -> Any:
        def called(*args: Any, **kwargs: Any) -> Any:
            asked.append((name, kwargs.get("kpi")))
            return method(*args, **kwargs)

        return called

    for name in names:
        setattr(data, name, spy(name, getattr(data, name)))
    return asked


def test_each_part_is_its_own_callback_reading_only_what_it_shows(dash_store: DashStore, make_app: Any):
    app = make_app(dash_store.settings)
    dashboard = bench.Dashboard(LocalClient(app))
    page, _ = dashboard.open("/", f"?unit={HANOI}&period=year&kpi=on_time_rate")
    map_update = dashboard.callback("op-map.figure")
    assert {"op-table.children", "op-rows.data", "op-breadcrumb.children", "url.search"} <= set(
        map_update.covers()
    )
    assert not {"op-series.figure", "op-by-agency.children", "op-by-procedure.children"} & set(
        map_update.covers()
    )
    asked = spied(app._ioc_data, ("values", "children", "series", "breakdown"))
    reads = {
        "op-map.figure": [("children", "on_time_rate")],  # one KPI of the map's units, nothing else
        "op-series.figure": [("series", "on_time_rate")],
        "op-by-agency.children": [("breakdown", "on_time_rate")],
        "op-by-procedure.children": [("breakdown", "on_time_rate")],
    }
    for output, expected in reads.items():
        callback = dashboard.callback(output)
        for _ in range(2):  # computed, then from the cache: the same reads
            asked.clear()
            reply = dashboard.post(callback.request(page, ["op-version.data"]), output)
            assert asked == expected, output
            shown = reply.body["response"]
            unchanged = {"url", "op-agency"}  # the URL and the map's units (so the agencies) are the page's
            assert set(shown) == {ref.split(".")[0] for ref in callback.covers()} - unchanged
            assert '"id": "message"' not in json.dumps(shown)  # no error message, no Dash error


def test_one_kpi_answers_are_the_whole_answers_narrowed(view: Any):
    data, _ = view
    now = data.now()
    period = periods.named("year", now.date())
    kpi = "on_time_rate"

    def narrowed(whole: dict[str, Any]) -> dict[str, Any]:
        return {scope: {kpi: kpis[kpi]} if kpi in kpis else {} for scope, kpis in whole.items()}

    for _ in range(2):  # computed, then read back from Redis
        whole = data.children(HANOI, period, Filters(), now)
        assert data.children(HANOI, period, Filters(), now, kpi=kpi) == narrowed(whole)
        whole = data.breakdown(HANOI, period, "agency", Filters(), now)
        assert data.breakdown(HANOI, period, "agency", Filters(), now, kpi=kpi) == narrowed(whole)
        buckets = data.series(HANOI, period, "month", Filters(), now)
        one = data.series(HANOI, period, "month", Filters(), now, kpi=kpi)
        assert [b for b, _ in one] == [b for b, _ in buckets]
        assert [kpis for _, kpis in one] == [narrowed({"": kpis})[""] for _, kpis in buckets]
    assert any(kpi in kpis for kpis in narrowed(whole).values())


def test_the_first_poll_leaves_a_fresh_page_alone(dash_store: DashStore, make_app: Any, redis_client: Any):
    app = make_app(dash_store.settings)
    dashboard = bench.Dashboard(LocalClient(app))
    before = int(redis_client.get("ioc:data-version") or 0)
    page, _ = dashboard.open("/", f"?unit={HANOI}")
    built_at = page.get("op-version", "data")
    assert built_at >= before  # the version the page was built at
    poll = dashboard.callback("op-version.data")
    page.set("op-poll", "n_intervals", 1)
    first = dashboard.post(poll.request(page, ["op-poll.n_intervals"]), "the first poll").body["response"]
    assert first["op-poll"] == {"interval": dash_store.settings.poll_ms}
    if "op-version" in first:  # only when ingest elsewhere moved the version meanwhile
        assert first["op-version"]["data"] > built_at
    redis_client.incr("ioc:data-version")
    moved = dashboard.post(poll.request(page, ["op-poll.n_intervals"]), "a poll").body["response"]
    assert moved["op-version"]["data"] > built_at  # new data: every part recomputes
