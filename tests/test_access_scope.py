"""Roles and scopes on the server, through the dashboard's HTTP endpoints as a browser (or a
forger) calls them: a user scoped to one commune reads nothing of another commune, of the other
province or of the country through any page, callback, map or export; lists hold only their
scope's alerts and targets; a viewer may not acknowledge or change targets; an operator's export
and acknowledgement and an admin's target edits are audited; a kiosk link's wall shows its own
unit and scenes whatever it is asked."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import timedelta
from typing import Any

import psycopg
import pytest
from flask.testing import FlaskClient

from auth import audit, kiosk
from auth.model import Principal
from callbacks import wall as wall_callbacks
from dashboard import access, i18n
from dashboard.data import Data
from dashboard.scenes import Scene
from layouts import ids
from layouts.wall import COUNTER_KPIS, TILE_KPIS
from tests import test_dashboard_fixtures as fx
from tests.fix_auth import CSRF, acting_as, session_of, signed_in
from tests.test_dashboard_fixtures import HANOI, HCMC, NOW, DashStore, clear_alerts, insert_alert, routed

dash_store = fx.dash_store  # fixtures shared by the dashboard tests
make_app = fx.make_app

NOT_ALLOWED = i18n.t("forbidden", "vi")
NOT_ALLOWED_ACTION = i18n.t("forbidden_action", "vi")
FIGURE = re.compile(r"\d+,\d %")  # a ratio as the pages write it (38,2 %)
START = (NOW - timedelta(days=fx.DAYS + 2)).date()  # every event of the store's history


# -- the units: two communes of Hà Nội, one of Hồ Chí Minh City, each with the most events -----


def busiest(url: str, parents: list[str], leaves: set[str], n: int) -> list[str]:
    """The ``n`` units of ``leaves`` under ``parents`` with the most applications."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT unit_code, count(*) FROM applications GROUP BY unit_code ORDER BY 2 DESC, 1"
        ).fetchall()
    under = fx.FULL.subtree(set(parents))
    return [str(code) for code, _ in rows if code in leaves and code in under][:n]


@pytest.fixture(scope="module")
def units(dash_store: DashStore) -> dict[str, str]:
    communes = {u.code for u in fx.FULL.units if u.level == "commune"}
    mine, other = busiest(dash_store.url, [HANOI], communes, 2)
    (far,) = busiest(dash_store.url, [HCMC], communes, 1)
    parents = {u.code: u.parent_code for u in fx.FULL.units}
    return {"mine": mine, "other": other, "far": far, "district": str(parents[mine])}


def client_of(app: Any, url: str, principal: Principal) -> FlaskClient:
    return signed_in(app.server.test_client(), session_of(url, principal))


# -- forging Dash's requests ---------------------------------------------------------------------


def forge(client: FlaskClient, app: Any, marker: str, values: dict[str, Any], changed: str) -> Any:
    """POST the callback whose outputs name ``marker`` as the renderer would, with ``values`` by
    ``id.property`` (a pattern input's value: its list of entries); the response."""
    (key,) = [k for k, spec in app.callback_map.items() if marker in k and "callback" in spec]
    spec = app.callback_map[key]

    def dep(item: dict[str, Any]) -> Any:
        name = f"{item['id']}.{item['property']}"
        if str(item["id"]).startswith("{"):
            return values.get(name, [])
        return {"id": item["id"], "property": item["property"], "value": values.get(name)}

    body = {
        "output": key,
        "outputs": outputs_of(key),
        "inputs": [dep(i) for i in spec["inputs"]],
        "state": [dep(s) for s in spec["state"]],
        "changedPropIds": [changed],
    }
    return client.post("/_dash-update-component", json=body)


def outputs_of(key: str) -> Any:
    """The ``outputs`` of a request from the callback's key (a pattern output: one per KPI)."""
    if not key.startswith(".."):
        return _output(key)
    return [_output(part) for part in key[2:-2].split("...")]


def _output(part: str) -> Any:
    name, prop = part.split("@", maxsplit=1)[0].rsplit(".", 1)
    if not name.startswith("{"):
        return {"id": name, "property": prop}
    kind = json.loads(name)["type"]
    keys = COUNTER_KPIS if kind == ids.COUNTER_VALUE else TILE_KPIS
    return [{"id": {"type": kind, "kpi": k}, "property": prop} for k in keys]


def view_values(unit: str) -> dict[str, Any]:
    """The operator view's inputs for ``unit`` over the store's whole history."""
    return {
        f"{ids.OP_PERIOD}.value": "custom",
        f"{ids.OP_DATES}.start_date": START.isoformat(),
        f"{ids.OP_DATES}.end_date": NOW.date().isoformat(),
        f"{ids.OP_KPI}.value": "online_submission_rate",
        f"{ids.OP_UNIT}.data": unit,
        f"{ids.OP_VERSION}.data": 1,
        f"{ids.LANG}.data": "vi",
    }


PARTS = {  # the operator view's callbacks by an output they write
    "map": f"{ids.OP_MAP}.figure",
    "trend": f"{ids.OP_SERIES}.figure",
    "agencies": f"{ids.OP_BY_AGENCY}.children",
    "procedures": f"{ids.OP_BY_PROCEDURE}.children",
}


def parts(client: FlaskClient, app: Any, unit: str) -> dict[str, str]:
    """Every part of the operator view for ``unit``, as the text of each answer."""
    found = {}
    for name, marker in PARTS.items():
        response = forge(client, app, marker, view_values(unit), f"{ids.OP_UNIT}.data")
        assert response.status_code == 200, (name, response.status_code)
        found[name] = response.get_data(as_text=True)
    return found


def audit_entries(url: str, action: str) -> list[audit.Entry]:
    with psycopg.connect(url, autocommit=True) as conn:
        return audit.recent(conn, action=action)


# -- the operator view ---------------------------------------------------------------------------


def test_a_commune_user_reads_no_figure_of_another_unit_through_any_part(
    dash_store: DashStore, make_app: Any, units: dict[str, str]
):
    app = make_app(dash_store.settings)
    admin = app.server.test_client()
    user = client_of(app, dash_store.url, Principal("commune-operator", "operator", units["mine"]))
    for other in (units["other"], units["district"], units["far"], HCMC, HANOI, "VN"):
        theirs = parts(admin, app, other)
        assert FIGURE.findall(theirs["trend"]), other  # the admin reads the unit's figures
        forged = parts(user, app, other)
        for name, text in forged.items():
            assert not FIGURE.findall(text), (other, name)
            assert NOT_ALLOWED in text, (other, name)
            assert "Không có dữ liệu" not in text, (other, name)  # not even whether it has data
        answer = json.loads(forged["map"])["response"]
        assert set(answer) == {ids.OP_MESSAGE}, other  # no map values, rows, names or options
    own = parts(user, app, units["mine"])
    assert FIGURE.findall(own["trend"])
    assert all(NOT_ALLOWED not in text for text in own.values())


def test_a_commune_users_map_and_breadcrumb_stop_at_their_scope(
    dash_store: DashStore, make_app: Any, units: dict[str, str]
):
    app = make_app(dash_store.settings)
    admin = app.server.test_client()
    user = client_of(app, dash_store.url, Principal("commune-viewer", "viewer", units["mine"]))
    marker = PARTS["map"]
    theirs = forge(admin, app, marker, view_values(units["mine"]), f"{ids.OP_UNIT}.data").get_json()
    assert theirs["response"][ids.OP_MAP_PARENT]["data"] == units["district"]  # the admin sees siblings
    siblings = {row["code"] for row in theirs["response"][ids.OP_ROWS]["data"]} - {units["mine"]}
    assert siblings
    mine = forge(user, app, marker, view_values(units["mine"]), f"{ids.OP_UNIT}.data").get_json()
    answer = mine["response"]
    # Their commune among its siblings' outlines, alone: its own row, no other commune's.
    assert answer[ids.OP_MAP_PARENT]["data"] == units["district"]
    assert [row["code"] for row in answer[ids.OP_ROWS]["data"]] == [units["mine"]]
    own_row = next(r for r in theirs["response"][ids.OP_ROWS]["data"] if r["code"] == units["mine"])
    assert answer[ids.OP_ROWS]["data"][0] == own_row  # the same figures the admin sees for it
    crumbs = json.dumps(answer[ids.OP_BREADCRUMB], ensure_ascii=False)
    assert "Toàn quốc" not in crumbs
    assert crumbs.count(ids.OP_CRUMB) == 1  # the current unit alone: nothing to drill up to
    assert f'"unit": "{HANOI}"' not in crumbs
    assert units["district"] not in crumbs
    assert units["mine"] in crumbs
    assert not any(code in json.dumps(answer, ensure_ascii=False) for code in siblings)
    # the page typed without a unit starts at their commune
    page = routed(user, "/", "")
    assert f'"data": "{units["mine"]}"' in page
    assert NOT_ALLOWED not in page


def test_hand_typed_urls_outside_the_scope_say_not_allowed(
    dash_store: DashStore, make_app: Any, units: dict[str, str]
):
    app = make_app(dash_store.settings)
    user = client_of(app, dash_store.url, Principal("commune-viewer", "viewer", units["mine"]))
    other = units["other"]
    for path in ("/", "/alerts", "/wall"):
        for unit in (other, HCMC, "VN", "99999"):  # a code that does not exist: the same answer
            page = routed(user, path, f"?unit={unit}")
            assert NOT_ALLOWED in page, (path, unit)
            assert f'"data": "{unit}"' not in page, (path, unit)
    assert NOT_ALLOWED not in routed(user, "/", f"?unit={units['mine']}")
    assert NOT_ALLOWED not in routed(user, "/wall", "")  # their own wall
    # the geometry of a map outside the scope is refused; the one of their own is private
    for parent in (HANOI, HCMC, "VN"):
        assert user.get(f"/geo/{parent}.json").status_code == 403, parent
        assert app.server.test_client().get(f"/geo/{parent}.json").status_code == 200, parent
    # their district's map holds their commune's outline alone; the admin's, every commune's
    own = user.get(f"/geo/{units['district']}.json")
    assert own.status_code == 200
    assert [f["id"] for f in own.get_json()["features"]] == [units["mine"]]
    assert len(app.server.test_client().get(f"/geo/{units['district']}.json").get_json()["features"]) > 1
    assert "private" in own.headers["Cache-Control"]
    assert "public" not in own.headers["Cache-Control"]


def test_export_needs_the_right_and_the_scope_and_is_audited(
    dash_store: DashStore, make_app: Any, units: dict[str, str]
):
    app = make_app(dash_store.settings)
    mine, other = units["mine"], units["other"]
    rows = [
        {"code": mine, "name": "mine", "value": 41.5, "target": None, "gap": None, "volume": 3},
        {"code": other, "name": "other", "value": 77.7, "target": None, "gap": None, "volume": 9},
    ]

    def export(client: FlaskClient, unit: str) -> Any:
        """The download sent, or None (Dash answers "nothing to update")."""
        values = view_values(unit) | {f"{ids.OP_ROWS}.data": rows, f"{ids.OP_EXPORT}.n_clicks": 1}
        response = forge(client, app, f"{ids.OP_DOWNLOAD}.data", values, f"{ids.OP_EXPORT}.n_clicks")
        assert response.status_code in (200, 204)
        answer = response.get_json(silent=True) or {}
        return answer.get("response", {}).get(ids.OP_DOWNLOAD, {}).get("data")

    viewer = client_of(app, dash_store.url, Principal("commune-viewer", "viewer", mine))
    operator = client_of(app, dash_store.url, Principal("commune-operator", "operator", mine))
    before = len(audit_entries(dash_store.url, "export"))
    assert export(viewer, mine) is None  # a viewer may not export
    assert export(operator, other) is None  # nor anyone another unit
    assert export(operator, "VN") is None
    assert len(audit_entries(dash_store.url, "export")) == before
    sent = export(operator, mine)
    assert sent is not None
    lines = list(csv.reader(io.StringIO(sent["content"])))
    assert [line[1] for line in lines[1:]] == [mine]  # a forged row of another unit is left out
    (entry, *_) = audit_entries(dash_store.url, "export")
    assert entry.actor == "commune-operator"
    assert entry.subject == f"unit:{mine}"
    assert entry.detail["kpi"] == "online_submission_rate"
    assert entry.detail["period"] == "custom"
    assert entry.detail["start"] == START.isoformat()
    assert entry.detail["rows"] == 1
    assert entry.address == "127.0.0.1"


# -- alerts ---------------------------------------------------------------------------------------


@pytest.fixture
def alerts(dash_store: DashStore, units: dict[str, str]) -> Any:
    found = {name: insert_alert(dash_store.url, unit_code=units[name]) for name in ("mine", "other", "far")}
    yield found
    clear_alerts(dash_store.url)


def test_alert_lists_and_banners_hold_only_the_scopes_alerts(
    dash_store: DashStore, make_app: Any, units: dict[str, str], alerts: dict[str, int]
):
    app = make_app(dash_store.settings)
    user = client_of(app, dash_store.url, Principal("commune-viewer", "viewer", units["mine"]))
    admin = app.server.test_client()

    def listed(client: FlaskClient, unit: str) -> str:
        values = {
            f"{ids.AL_VERSION}.data": {"version": 1},
            f"{ids.AL_SHOW}.value": "all",
            f"{ids.AL_UNIT}.data": unit,
            f"{ids.LANG}.data": "vi",
        }
        response = forge(client, app, f"{ids.AL_LIST}.children", values, f"{ids.AL_VERSION}.data")
        assert response.status_code == 200
        return response.get_data(as_text=True)

    def banner(client: FlaskClient, unit: str) -> Any:
        values = {f"{ids.OP_UNIT}.data": unit, f"{ids.OP_VERSION}.data": 1, f"{ids.LANG}.data": "vi"}
        response = forge(client, app, f"{ids.OP_ALERT_BANNER}.children", values, f"{ids.OP_UNIT}.data")
        assert response.status_code == 200
        return response.get_json()["response"][ids.OP_ALERT_BANNER]["children"]

    def row(name: str) -> str:
        return f"{ids.AL_ROW}-{alerts[name]}"

    everything = listed(admin, "VN")
    assert all(row(name) in everything for name in alerts)
    own = listed(user, units["mine"])
    assert row("mine") in own
    assert row("other") not in own
    assert row("far") not in own
    for forged in ("VN", HANOI, units["district"], units["other"], HCMC):
        text = listed(user, forged)
        assert NOT_ALLOWED in text, forged
        assert not any(row(name) in text for name in alerts), forged
        assert banner(user, forged) == [], forged
        assert banner(admin, forged) != [], forged
    assert "1" in json.dumps(banner(user, units["mine"]), ensure_ascii=False)


def acknowledge(client: FlaskClient, app: Any, alert_id: int, name: str = "Nguyễn Văn A") -> str:
    button = {"type": ids.AL_ACK, "alert": alert_id}
    values = {
        f'{{"alert":["ALL"],"type":"{ids.AL_ACK}"}}.n_clicks': [
            {"id": button, "property": "n_clicks", "value": 1}
        ],
        f"{ids.AL_NAME}.value": name,
        f"{ids.LANG}.data": "vi",
    }
    changed = json.dumps(button, sort_keys=True, separators=(",", ":")) + ".n_clicks"
    response = forge(client, app, f"{ids.AL_MESSAGE}.children", values, changed)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def acknowledged_by(url: str, alert_id: int) -> Any:
    with psycopg.connect(url, autocommit=True) as conn:
        found = conn.execute("SELECT acknowledged_by FROM alerts WHERE id = %s", (alert_id,)).fetchone()
    assert found is not None
    return found[0]


def test_a_viewer_may_not_acknowledge_and_an_operator_only_in_scope_audited(
    dash_store: DashStore, make_app: Any, units: dict[str, str], alerts: dict[str, int]
):
    app = make_app(dash_store.settings)
    viewer = client_of(app, dash_store.url, Principal("country-viewer", "viewer", "VN"))
    operator = client_of(app, dash_store.url, Principal("commune-operator", "operator", units["mine"]))
    assert NOT_ALLOWED_ACTION in acknowledge(viewer, app, alerts["mine"])
    assert NOT_ALLOWED in acknowledge(operator, app, alerts["other"])
    assert NOT_ALLOWED in acknowledge(operator, app, 10**9)  # an id that does not exist: the same
    assert acknowledged_by(dash_store.url, alerts["mine"]) is None
    assert acknowledged_by(dash_store.url, alerts["other"]) is None
    assert not [e for e in audit_entries(dash_store.url, "alert_acknowledged") if e.actor == "country-viewer"]
    assert NOT_ALLOWED not in acknowledge(operator, app, alerts["mine"])
    assert acknowledged_by(dash_store.url, alerts["mine"]) == "Nguyễn Văn A"
    (entry, *_) = audit_entries(dash_store.url, "alert_acknowledged")
    assert entry.actor == "commune-operator"
    assert entry.subject == f"alert:{alerts['mine']}"
    assert entry.detail["unit"] == units["mine"]


# -- targets ----------------------------------------------------------------------------------------


def target_form(client: FlaskClient, app: Any, trigger: str, values: dict[str, Any], editing: Any) -> str:
    """The targets form's answer to a click on ``trigger`` (a button's ID, or a target's name for
    its row's "edit") with the form's ``values``, while ``editing`` that target."""
    given = {f"{ids.tg_field(k)}.value": v for k, v in values.items()}
    given |= {f"{ids.TG_EDITING}.data": editing, f"{ids.LANG}.data": "vi"}
    if trigger in (ids.TG_SAVE, ids.TG_DELETE, ids.TG_NEW):
        given[f"{trigger}.n_clicks"] = 1
        changed = f"{trigger}.n_clicks"
    else:
        row = {"type": ids.TG_EDIT, "name": trigger}
        given[f'{{"name":["ALL"],"type":"{ids.TG_EDIT}"}}.n_clicks'] = [
            {"id": row, "property": "n_clicks", "value": 1}
        ]
        changed = json.dumps(row, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + ".n_clicks"
    response = forge(client, app, f"{ids.TG_FORM_TITLE}.children", given, changed)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def saved(url: str) -> dict[str, tuple[Any, ...]]:
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute("SELECT * FROM targets ORDER BY name").fetchall()
    return {str(r[0]): tuple(r) for r in rows}


def new_target(name: str, unit: str | None, level: str | None = None) -> dict[str, Any]:
    return {
        "name": name,
        "kpi": "on_time_rate",
        "unit": unit,
        "level": level,
        "agency": None,
        "comparison": ">=",
        "threshold": "90",
        "window": "month",
        "min_volume": "0",
        "severity": "warning",
    }


def test_targets_change_only_by_admins_inside_their_scope_audited(
    dash_store: DashStore, make_app: Any, units: dict[str, str]
):
    app = make_app(dash_store.settings)
    url = dash_store.url
    viewer = client_of(app, url, Principal("country-viewer", "viewer", "VN"))
    hanoi_admin = client_of(app, url, Principal("hanoi-admin", "admin", HANOI))
    hcmc_admin = client_of(app, url, Principal("hcmc-admin", "admin", HCMC))
    before = saved(url)
    # a viewer: no save, no delete, no edit, whatever the form says
    read_only = i18n.t("tg_read_only", "vi")
    assert read_only in target_form(viewer, app, ids.TG_SAVE, new_target("v", units["mine"]), None)
    assert read_only in target_form(viewer, app, ids.TG_DELETE, {}, "HN online")
    edited = target_form(viewer, app, "HN online", {}, None)
    assert NOT_ALLOWED_ACTION in edited
    assert saved(url) == before
    # a Hà Nội admin: not in Hồ Chí Minh City, not a whole level, not another province's target
    refused = [
        (ids.TG_SAVE, new_target("far", units["far"]), None),
        (ids.TG_SAVE, new_target("level", None, "commune"), None),
        (ids.TG_SAVE, new_target("on time", units["mine"]), "on time"),  # the level-wide one
        (ids.TG_DELETE, {}, "on time"),
    ]
    for trigger, values, editing in refused:
        text = target_form(hanoi_admin, app, trigger, values, editing)
        assert NOT_ALLOWED in text or NOT_ALLOWED_ACTION in text, (trigger, values, editing)
    assert saved(url) == before
    assert not audit_entries(url, "target_saved")
    # inside the scope: saved and deleted, each audited
    text = target_form(hanoi_admin, app, ids.TG_SAVE, new_target("commune goal", units["mine"]), None)
    assert NOT_ALLOWED not in text
    assert "commune goal" in saved(url)
    (entry, *_) = audit_entries(url, "target_saved")
    assert (entry.actor, entry.subject) == ("hanoi-admin", "target:commune goal")
    assert entry.detail["unit"] == units["mine"]
    # another province's admin neither lists it nor deletes it
    listed = forge(
        hcmc_admin, app, f"{ids.TG_LIST}.children", {f"{ids.LANG}.data": "vi"}, f"{ids.TG_VERSION}.data"
    )
    assert "commune goal" not in listed.get_data(as_text=True)
    assert "HN online" not in listed.get_data(as_text=True)
    assert "on time" in listed.get_data(as_text=True)  # a level-wide target applies to them too
    target_form(hcmc_admin, app, ids.TG_DELETE, {}, "commune goal")
    assert "commune goal" in saved(url)
    target_form(hanoi_admin, app, ids.TG_DELETE, {}, "commune goal")
    assert "commune goal" not in saved(url)
    (entry, *_) = audit_entries(url, "target_deleted")
    assert (entry.actor, entry.subject) == ("hanoi-admin", "target:commune goal")


# -- the wall -------------------------------------------------------------------------------------


def test_a_kiosk_link_shows_its_own_unit_and_scenes(
    dash_store: DashStore, make_app: Any, units: dict[str, str]
):
    app = make_app(dash_store.settings)
    scenes = (Scene("received", "today", 30),)
    with psycopg.connect(dash_store.url, autocommit=True) as conn:
        made = kiosk.create(conn, label="HCMC hall", unit=HCMC, scenes=scenes, by="test-admin")
    display = signed_in(app.server.test_client(), {"kiosk": made.token, "csrf": CSRF})
    for search in ("", f"?unit={HANOI}", "?unit=VN", f"?unit={units['far']}"):
        page = routed(display, "/wall", search)
        assert f'"data": "{HCMC}"' in page, search  # the wall's home store: the link's unit
        assert NOT_ALLOWED not in page
    operator_page = routed(display, "/", "")  # a display sees the wall only
    assert NOT_ALLOWED in operator_page or NOT_ALLOWED_ACTION in operator_page
    # a forged home is the link's unit; the scenes are the link's
    # the registered callbacks make a Wall of the request's scenes, and its home, through these
    data = Data(dash_store.settings)
    try:
        with acting_as(app, made.link.principal):
            access.set_principal(made.link.principal, made.link)
            base = wall_callbacks.Wall(data, None, (Scene("on_time_rate", "month", 60),), 2000, 300)  # type: ignore[arg-type]
            assert wall_callbacks.for_request(base).scenes == scenes
            assert wall_callbacks.home_of(data.reference(), HANOI, "VN") == HCMC
        with acting_as(app, Principal("commune-viewer", "viewer", units["mine"])):
            assert wall_callbacks.for_request(base).scenes == base.scenes
            with pytest.raises(access.OutOfScope):
                wall_callbacks.home_of(data.reference(), units["other"], "VN")
    finally:
        data.close()


def test_a_forged_wall_home_shows_no_figure(dash_store: DashStore, make_app: Any, units: dict[str, str]):
    app = make_app(dash_store.settings)
    user = client_of(app, dash_store.url, Principal("commune-viewer", "viewer", units["mine"]))
    admin = app.server.test_client()

    def refreshed(client: FlaskClient, home: str) -> tuple[int, str]:
        values = {
            f"{ids.WALL_STATE}.data": {"scene": 0, "db": True, "version": 1},
            f"{ids.WALL_HOME}.data": home,
            f"{ids.LANG}.data": "vi",
        }
        response = forge(client, app, f"{ids.WALL_TICKER}.children", values, f"{ids.WALL_STATE}.data")
        return response.status_code, response.get_data(as_text=True)

    status, theirs = refreshed(admin, HANOI)
    assert status == 200
    assert FIGURE.findall(theirs)
    for home in (HANOI, units["other"], "VN"):
        status, forged = refreshed(user, home)
        assert status == 200
        assert NOT_ALLOWED in forged, home
        assert not FIGURE.findall(forged), home
        assert set(json.loads(forged)["response"]) == {ids.WALL_ERROR}, home
    status, own = refreshed(user, units["mine"])
    assert status == 200
    assert NOT_ALLOWED not in own
