"""The admin pages against a real store, reached as a browser reaches them (forged callback
requests with the session cookie and CSRF header) or by calling their functions inside a
request of a given principal: kiosk links that a display uses until they are revoked (across a
restart), users added, disabled, enabled and given passwords, the audit trail that lists every
change once with its actor, and the refusals: viewers, operators and kiosk displays get the
not-allowed message for every admin page and callback, a scoped admin stays inside their scope,
and a kiosk display reaches nothing but the wall."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from dash import no_update
from flask.testing import FlaskClient

from auth import audit, kiosk, users
from auth.model import Principal
from callbacks import admin
from dashboard import guard
from layouts import ids
from layouts.wall import COUNTER_KPIS, TILE_KPIS
from tests import test_dashboard_fixtures as fx
from tests.fix_auth import ADMIN, FAST, PASSWORD, acting_as, anonymous, ensure_user, session_of, signed_in
from tests.test_dashboard_fixtures import HANOI, HCMC, DashStore, layout_json, routed

dash_store = fx.dash_store
make_app = fx.make_app

FORBIDDEN_PAGE = "Bạn không có quyền xem nội dung này."
FORBIDDEN_ACTION = "Bạn không có quyền thực hiện thao tác này."
TOKEN = re.compile(r"/kiosk/([A-Za-z0-9_-]{20,})")
ADMIN_PAGES = ("/admin", "/admin/kiosk", "/admin/users", "/admin/audit")
NEW_PASSWORD = "một mật khẩu mới đủ dài"


@pytest.fixture(autouse=True)
def cheap_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """The pages hash passwords with argon2id's full cost; tests sign in often."""
    monkeypatch.setattr(admin, "HASHER", FAST)


@pytest.fixture
def conn(dash_store: DashStore) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    with psycopg.connect(dash_store.url, autocommit=True) as connection:
        yield connection


# -- requests as the browser makes them ----------------------------------------------------


def post(client: FlaskClient, app: Any, first_output: str, body: dict[str, Any]) -> tuple[int, Any]:
    """A callback request (``outputs``, ``inputs``, ``state``, ``changedPropIds`` in ``body``)
    to the callback whose outputs start with ``first_output``: the status and the answer."""
    (key,) = [k for k in app.callback_map if k.startswith(f"..{first_output}")]
    response = client.post("/_dash-update-component", json={"output": key, **body})
    return response.status_code, response.get_json(silent=True)


def one(id_: Any, prop: str, value: Any = None) -> dict[str, Any]:
    return {"id": id_, "property": prop, "value": value}


def changed(id_: Any, prop: str) -> str:
    name = json.dumps(id_, sort_keys=True, separators=(",", ":")) if isinstance(id_, dict) else id_
    return f"{name}.{prop}"


def kiosk_click(
    client: FlaskClient,
    app: Any,
    *,
    revoke: int | None = None,
    shown: tuple[int, ...] = (),
    label: str = "Phòng điều hành",
    unit: str = "VN",
    scenes: tuple[str, ...] = ("0", "1"),
) -> tuple[int, Any]:
    """A click on "create", or on "revoke" of link ``revoke`` among the ``shown`` rows."""
    buttons = [one({"type": ids.KL_REVOKE, "link": i}, "n_clicks", 1 if i == revoke else 0) for i in shown]
    trigger = (
        changed({"type": ids.KL_REVOKE, "link": revoke}, "n_clicks")
        if revoke
        else changed(ids.KL_CREATE, "n_clicks")
    )
    body = {
        "outputs": [one(ids.KL_MESSAGE, "children"), one(ids.KL_LIST, "children")],
        "inputs": [one(ids.KL_CREATE, "n_clicks", 0 if revoke else 1), buttons],
        "state": [
            one(ids.KL_LABEL, "value", label),
            one(ids.KL_UNIT, "value", unit),
            one(ids.KL_SCENES, "value", list(scenes)),
            one(ids.LANG, "data", "vi"),
        ],
        "changedPropIds": [trigger],
    }
    return post(client, app, f"{ids.KL_MESSAGE}.children", body)


def users_click(
    client: FlaskClient, app: Any, button: str, *, toggle: tuple[str, str] | None = None, **form: str
) -> tuple[int, Any]:
    """A click on "add" or "set password" (``button``: their ID) or a row's disable/enable
    (``toggle``: username and action), with the form's values."""
    toggles = []
    if toggle is not None:
        toggles = [one({"type": ids.US_TOGGLE, "user": toggle[0], "action": toggle[1]}, "n_clicks", 1)]
    trigger = (
        changed({"type": ids.US_TOGGLE, "user": toggle[0], "action": toggle[1]}, "n_clicks")
        if toggle
        else changed(button, "n_clicks")
    )
    fields = {
        ids.US_USERNAME: form.get("username", ""),
        ids.US_DISPLAY_NAME: form.get("display_name", ""),
        ids.US_ROLE: form.get("role", "viewer"),
        ids.US_SCOPE: form.get("scope", "VN"),
        ids.US_PASSWORD: form.get("password", ""),
        ids.US_PW_USER: form.get("pw_user"),
        ids.US_PW_PASSWORD: form.get("pw_password", ""),
    }
    body = {
        "outputs": [
            one(ids.US_MESSAGE, "children"),
            one(ids.US_LIST, "children"),
            one(ids.US_PW_USER, "options"),
            one(ids.US_PASSWORD, "value"),
            one(ids.US_PW_PASSWORD, "value"),
        ],
        "inputs": [
            one(ids.US_ADD, "n_clicks", 1 if button == ids.US_ADD else 0),
            toggles,
            one(ids.US_PW_SET, "n_clicks", 1 if button == ids.US_PW_SET else 0),
        ],
        "state": [one(k, "value", v) for k, v in fields.items()] + [one(ids.LANG, "data", "vi")],
        "changedPropIds": [trigger],
    }
    return post(client, app, f"{ids.US_MESSAGE}.children", body)


def audit_list(
    client: FlaskClient, app: Any, *, actor: str = "", action: str | None = None
) -> tuple[int, Any]:
    body = {
        "outputs": [
            one(ids.AU_LIST, "children"),
            one(ids.AU_SHOWING, "children"),
            one(ids.AU_OFFSET, "data"),
            one(ids.AU_OLDER, "disabled"),
            one(ids.AU_NEWER, "disabled"),
        ],
        "inputs": [
            one(ids.AU_ACTOR, "value", actor),
            one(ids.AU_ACTION, "value", action),
            one(ids.AU_LIMIT, "value", 100),
            one(ids.AU_NEWER, "n_clicks", 0),
            one(ids.AU_OLDER, "n_clicks", 0),
        ],
        "state": [one(ids.AU_OFFSET, "data", 0), one(ids.LANG, "data", "vi")],
        "changedPropIds": [changed(ids.AU_ACTOR, "value")],
    }
    return post(client, app, f"{ids.AU_LIST}.children", body)


def wall_refresh(client: FlaskClient, app: Any) -> int:
    """The wall's refresh callback as a display asks for it: the status."""

    def each(kind: str, prop: str, keys: tuple[str, ...]) -> list[dict[str, Any]]:
        return [{"id": {"type": kind, "kpi": k}, "property": prop} for k in keys]

    body = {
        "outputs": [
            one(ids.WALL_MAP, "figure"),
            one(ids.WALL_MAP_TITLE, "children"),
            one(ids.WALL_MAP_NOTE, "children"),
            each(ids.TILE_VALUE, "children", TILE_KPIS),
            each(ids.TILE_TARGET, "children", TILE_KPIS),
            each(ids.TILE_CHANGE, "children", TILE_KPIS),
            each(ids.TILE_SPARK, "figure", TILE_KPIS),
            each(ids.COUNTER_VALUE, "children", COUNTER_KPIS),
            one(ids.WALL_TICKER, "children"),
            one(ids.WALL_ALERTS, "children"),
            one(ids.WALL_ERROR, "children"),
            one(ids.WALL_ALERT_COUNT, "data"),
        ],
        "inputs": [one(ids.WALL_STATE, "data", {"db": True, "scene": 0})],
        "state": [one(ids.WALL_HOME, "data", "VN"), one(ids.LANG, "data", "vi")],
        "changedPropIds": [changed(ids.WALL_STATE, "data")],
    }
    status, _ = post(client, app, f"{ids.WALL_MAP}.figure", body)
    return int(status)


def open_kiosk(client: FlaskClient, token: str) -> Any:
    """Open a kiosk link; the display then sends its session's CSRF token as dash-renderer does."""
    answer = client.get(f"/kiosk/{token}")
    cookie = client.get_cookie(guard.CSRF_COOKIE)
    if cookie is not None:
        client.environ_base["HTTP_X_CSRFTOKEN"] = cookie.value
    return answer


def as_role(app: Any, url: str, name: str, role: str, scope: str = "VN") -> FlaskClient:
    return signed_in(app.server.test_client(), session_of(url, Principal(name, role, scope)))  # type: ignore[arg-type]


def text(answer: Any) -> str:
    return json.dumps(answer, ensure_ascii=False)


def counts(conn: psycopg.Connection[tuple[object, ...]]) -> tuple[Any, ...]:
    row = conn.execute(
        "SELECT (SELECT count(*) FROM kiosk_links),"
        " (SELECT count(*) FROM kiosk_links WHERE revoked_at IS NULL),"
        " (SELECT count(*) FROM users), (SELECT count(*) FROM users WHERE disabled_at IS NULL),"
        " (SELECT count(*) FROM audit_log)"
    ).fetchone()
    assert row is not None
    return tuple(row)


def entries(conn: psycopg.Connection[tuple[object, ...]], action: str, subject: str) -> list[audit.Entry]:
    return audit.recent(conn, action=action, subject=subject)


# -- kiosk links ---------------------------------------------------------------------------


def test_a_kiosk_link_shows_the_wall_across_a_restart_until_it_is_revoked(
    dash_store: DashStore, make_app: Any, conn: Any
):
    app = make_app(dash_store.settings)
    admin_client = app.server.test_client()
    status, answer = kiosk_click(admin_client, app, label="  Phòng   điều hành, trái ", unit=HANOI)
    assert status == 200
    said = text(answer["response"][ids.KL_MESSAGE])
    found = TOKEN.search(said)
    assert found is not None, said
    token = found[1]
    assert f"http://localhost/kiosk/{token}" in said
    assert "chỉ hiển thị một lần" in said  # shown once, and said so
    listed = text(answer["response"][ids.KL_LIST])
    assert "Phòng điều hành, trái" in listed
    assert "Thành phố Hà Nội" in listed
    assert token not in listed
    link = kiosk.resolve(conn, token)
    assert link is not None
    assert (link.unit, link.created_by, len(link.scenes)) == (HANOI, ADMIN.name, 2)
    (created,) = entries(conn, "kiosk_link_created", f"kiosk:{link.id}")
    assert created.actor == ADMIN.name
    assert created.address == "127.0.0.1"
    assert created.detail == {"label": link.label, "unit": HANOI, "scenes": 2}

    display = anonymous(app)
    opened = open_kiosk(display, token)
    assert opened.status_code == 302
    assert opened.headers["Location"] == "/wall"
    assert display.get("/_dash-layout").status_code == 200
    assert wall_refresh(display, app) == 200

    # A restart: a new app (same secret) accepts the display's session and the link itself.
    restarted = make_app(dash_store.settings)
    assert display.application is app.server
    later = restarted.server.test_client()
    with display.session_transaction() as session:
        values = dict(session)
    signed_in(later, values)
    assert later.get("/_dash-layout").status_code == 200
    assert wall_refresh(later, restarted) == 200
    assert open_kiosk(anonymous(restarted), token).status_code == 302

    status, answer = kiosk_click(admin_client, app, revoke=link.id, shown=(link.id,))
    assert status == 200
    assert "Đã thu hồi liên kết" in text(answer["response"][ids.KL_MESSAGE])
    assert display.get("/_dash-layout").status_code == 401  # at once, the very next request
    assert wall_refresh(display, app) == 401
    assert later.get("/_dash-layout").status_code == 401
    assert anonymous(app).get(f"/kiosk/{token}").status_code == 404
    (revoked,) = entries(conn, "kiosk_link_revoked", f"kiosk:{link.id}")
    assert revoked.actor == ADMIN.name
    # A second click on a stale page: said, not recorded again.
    status, answer = kiosk_click(admin_client, app, revoke=link.id, shown=(link.id,))
    assert "đã bị thu hồi trước đó" in text(answer["response"][ids.KL_MESSAGE])
    assert len(entries(conn, "kiosk_link_revoked", f"kiosk:{link.id}")) == 1


def test_a_kiosk_link_needs_a_unit_and_a_scene_and_the_renderer_calls_change_nothing(
    dash_store: DashStore, make_app: Any, conn: Any
):
    app = make_app(dash_store.settings)
    data = app._ioc_data
    settings = dash_store.settings
    before = counts(conn)
    out = admin.kiosk_act(data, settings, ids.KL_CREATE, 1, label="x", unit="VN", chosen=[], lang="vi")
    assert "Chọn ít nhất một cảnh." in layout_json(out[0])
    out = admin.kiosk_act(data, settings, ids.KL_CREATE, 1, label="x", unit="ZZ", chosen=["0"], lang="en")
    assert "No unit has the code ZZ." in layout_json(out[0])
    assert admin.kiosk_act(
        data, settings, ids.KL_CREATE, None, label="x", unit="VN", chosen=["0"], lang="vi"
    ) == (
        no_update,
        no_update,
    )
    out = admin.kiosk_act(
        data, settings, {"type": ids.KL_REVOKE, "link": 999_999}, 1, label="", unit="", chosen=[], lang="vi"
    )
    assert "Không tìm thấy liên kết #999999." in layout_json(out[0])
    assert counts(conn) == before


def test_the_kiosk_page_in_both_languages(dash_store: DashStore, make_app: Any):
    app = make_app(dash_store.settings)
    client = app.server.test_client()
    vietnamese = routed(client, "/admin/kiosk")
    assert ids.KL in vietnamese
    assert "Liên kết cho màn hình lớn" in vietnamese
    assert "Tỷ lệ hồ sơ nộp trực tuyến — Tháng này, 60 giây" in vietnamese  # a scene of the file
    assert ids.ADMIN_NAV in vietnamese
    english = routed(client, "/admin/kiosk", "?lang=en")
    assert "Links for wall displays" in english
    assert '"/admin/audit?lang=en"' in english
    assert "Online submission rate — Month to date, 60 s" in english


# -- the audit trail -----------------------------------------------------------------------


def test_the_audit_page_lists_link_creation_and_revocation_with_the_actor(
    dash_store: DashStore, make_app: Any
):
    app = make_app(dash_store.settings)
    data, settings = app._ioc_data, dash_store.settings
    who = Principal("audit-admin", "admin", "VN")
    with acting_as(app, who):
        made = admin.create_link(data, settings, label="Audit wall", unit="VN", chosen=["0"], lang="vi")
        found = TOKEN.search(layout_json(made[0]))
        assert found is not None
        with psycopg.connect(dash_store.url, autocommit=True) as conn:
            link = kiosk.resolve(conn, found[1])
        assert link is not None
        admin.revoke_link(data, link.id, "vi")
        shown = admin.audit_list(data, actor="audit-admin", action=None, limit=100, offset=0, lang="vi")
    listing = layout_json(shown["list"])
    assert listing.index("Thu hồi liên kết màn hình") < listing.index("Tạo liên kết màn hình")  # newest first
    assert listing.count("audit-admin") == 2
    assert f"kiosk:{link.id}" in listing
    assert "label=Audit wall" in listing
    assert shown["showing"] == "Mục 1-2"
    assert (shown["older_disabled"], shown["newer_disabled"]) == (True, True)
    # through the page's callback, in English, filtered by action
    status, answer = audit_list(
        app.server.test_client(), app, actor="audit-admin", action="kiosk_link_created"
    )
    assert status == 200
    listed = text(answer["response"][ids.AU_LIST])
    assert "Display link created" not in listed  # the page's language is the store's: vi here
    assert "Tạo liên kết màn hình" in listed
    assert "Thu hồi liên kết màn hình" not in listed
    assert routed(app.server.test_client(), "/admin/audit", "?lang=en").count("Audit trail") >= 1


def test_the_audit_list_pages_through_older_entries(dash_store: DashStore, make_app: Any, conn: Any):
    app = make_app(dash_store.settings)
    for n in range(5):
        audit.record(conn, "pager", "export", subject=f"csv:{n}")
    with acting_as(app, ADMIN):
        first = admin.audit_list(app._ioc_data, actor="pager", action="export", limit=3, offset=0, lang="en")
        second = admin.audit_list(app._ioc_data, actor="pager", action="export", limit=3, offset=3, lang="en")
    assert first["showing"] == "Entries 1-3"
    assert (first["older_disabled"], first["newer_disabled"]) == (False, True)
    assert "csv:4" in layout_json(first["list"])
    assert second["showing"] == "Entries 4-5"
    assert (second["older_disabled"], second["newer_disabled"]) == (True, False)
    assert "csv:0" in layout_json(second["list"])
    assert admin.audit_offset(ids.AU_OLDER, 3, 3) == 6
    assert admin.audit_offset(ids.AU_NEWER, 3, 100) == 0
    assert admin.audit_offset(ids.AU_ACTOR, 300, 100) == 0


# -- users ---------------------------------------------------------------------------------


def test_an_admin_adds_disables_enables_and_sets_passwords_each_recorded_once(
    dash_store: DashStore, make_app: Any, conn: Any
):
    app = make_app(dash_store.settings)
    client = app.server.test_client()
    before = counts(conn)
    status, answer = users_click(
        client, app, ids.US_ADD, username="Page-User", role="operator", scope=HANOI, password="short"
    )
    assert "Mật khẩu cần ít nhất 12 ký tự." in text(answer)
    assert counts(conn) == before
    status, answer = users_click(client, app, ids.US_ADD, username="bad name!", password=PASSWORD)
    assert "Tên đăng nhập gồm" in text(answer)
    status, answer = users_click(
        client,
        app,
        ids.US_ADD,
        username="Page-User",
        display_name="Người  Thử",
        role="operator",
        scope=HANOI,
        password=PASSWORD,
    )
    assert status == 200
    out = answer["response"]
    assert "Đã thêm người dùng page-user." in text(out[ids.US_MESSAGE])
    assert "Người Thử" in text(out[ids.US_LIST])
    assert "page-user" in out[ids.US_PW_USER]["options"]
    assert out[ids.US_PASSWORD]["value"] == ""  # the typed password is not left on the page
    user = users.get(conn, "page-user")
    assert user is not None
    assert (user.role, user.scope) == ("operator", HANOI)
    (added,) = entries(conn, "user_added", "user:page-user")
    assert (added.actor, added.detail) == (ADMIN.name, {"role": "operator", "scope": HANOI})
    status, answer = users_click(client, app, ids.US_ADD, username="page-user", password=PASSWORD)
    assert "Đã có người dùng tên page-user." in text(answer)

    # The new user signs in; disabling them ends that session at once, enabling lets them back.
    theirs = anonymous(app)
    token = re.search(r'name="csrf" value="([^"]+)"', theirs.get("/signin").get_data(as_text=True))
    assert token is not None
    signed = theirs.post("/signin", data={"username": "page-user", "password": PASSWORD, "csrf": token[1]})
    assert signed.status_code == 302
    assert theirs.get("/_dash-layout").status_code == 200
    status, answer = users_click(client, app, "", toggle=("page-user", "user_disabled"))
    assert "Đã khóa page-user" in text(answer)
    assert theirs.get("/_dash-layout").status_code == 401
    status, answer = users_click(client, app, "", toggle=("page-user", "user_enabled"))
    assert "Đã mở khóa page-user." in text(answer)
    status, answer = users_click(client, app, ids.US_PW_SET, pw_user="page-user", pw_password="page-user")
    assert "Mật khẩu cần ít nhất" in text(answer)
    status, answer = users_click(client, app, ids.US_PW_SET, pw_user="page-user", pw_password=NEW_PASSWORD)
    assert "Đã đặt mật khẩu mới cho page-user" in text(answer)
    assert FAST.verify(users.credentials(conn, "page-user").password_hash, NEW_PASSWORD)  # type: ignore[union-attr]
    for action in ("user_added", "user_disabled", "user_enabled", "password_set"):
        (entry,) = entries(conn, action, "user:page-user")
        assert entry.actor == ADMIN.name
        assert NEW_PASSWORD not in json.dumps(entry.detail)
    # An admin cannot disable themselves (nor set their own password here).
    status, answer = users_click(client, app, "", toggle=(ADMIN.name, "user_disabled"))
    assert "Không thể tự khóa tài khoản của chính mình." in text(answer)
    status, answer = users_click(client, app, ids.US_PW_SET, pw_user=ADMIN.name, pw_password=NEW_PASSWORD)
    assert "Chọn một người dùng." in text(answer)
    assert users.get(conn, ADMIN.name).active  # type: ignore[union-attr]


def test_the_users_page_lists_users_with_their_state(dash_store: DashStore, make_app: Any, conn: Any):
    ensure_user(dash_store.url, "listed-viewer", role="viewer", scope=HCMC)
    users.disable(conn, "listed-viewer")
    app = make_app(dash_store.settings)
    page = routed(app.server.test_client(), "/admin/users", "?lang=en")
    assert ids.US in page
    assert "listed-viewer" in page
    assert "Disabled since" in page
    assert "Thành phố Hồ Chí Minh" in page
    assert '"user_enabled"' in page  # its button enables
    assert routed(app.server.test_client(), "/admin") == routed(app.server.test_client(), "/admin/users")


# -- who may -------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["viewer", "operator"])
def test_viewers_and_operators_get_not_allowed_from_every_admin_page_and_callback(
    dash_store: DashStore, make_app: Any, conn: Any, role: str
):
    app = make_app(dash_store.settings)
    with acting_as(app, ADMIN):
        made = admin.create_link(
            app._ioc_data, dash_store.settings, label="kept", unit="VN", chosen=["0"], lang="vi"
        )
    found = TOKEN.search(layout_json(made[0]))
    assert found is not None
    link = kiosk.resolve(conn, found[1])
    assert link is not None
    ensure_user(dash_store.url, "victim", role="viewer")
    client = as_role(app, dash_store.url, f"not-admin-{role}", role)
    for path in ADMIN_PAGES:
        page = routed(client, path)
        assert FORBIDDEN_PAGE in page, path
        assert all(part not in page for part in (ids.KL_LIST, ids.US_LIST, ids.AU))
        assert ids.ADMIN_LINK not in page  # nor the footer's link to the admin pages
    before = counts(conn)
    answers = [
        kiosk_click(client, app),
        kiosk_click(client, app, revoke=link.id, shown=(link.id,)),
        users_click(client, app, ids.US_ADD, username="intruder", role="admin", password=PASSWORD),
        users_click(client, app, "", toggle=("victim", "user_disabled")),
        users_click(client, app, ids.US_PW_SET, pw_user="victim", pw_password=NEW_PASSWORD),
        audit_list(client, app),
    ]
    for status, answer in answers:
        assert status == 200
        assert FORBIDDEN_ACTION in text(answer)
        assert all(part not in text(answer) for part in ("kiosk:", "sign_in"))  # nothing listed
    assert counts(conn) == before
    assert kiosk.resolve(conn, found[1]) is not None
    # and the functions themselves, called inside a request of that role
    with acting_as(app, Principal(f"not-admin-{role}", role, "VN")):  # type: ignore[arg-type]
        for path in ADMIN_PAGES[1:]:
            builder = {"/admin/kiosk": admin.kiosk_page, "/admin/users": admin.users_page}.get(
                path, admin.audit_page
            )
            assert FORBIDDEN_PAGE in layout_json(builder(app._ioc_data, dash_store.settings, {}, "vi"))
        assert FORBIDDEN_ACTION in layout_json(admin.revoke_link(app._ioc_data, link.id, "vi")[0])


def test_the_footer_links_to_the_admin_pages_for_admins_only(dash_store: DashStore, make_app: Any):
    app = make_app(dash_store.settings)
    assert '"/admin"' in routed(app.server.test_client(), "/status")
    assert '"/admin?lang=en"' in routed(app.server.test_client(), "/status", "?lang=en")
    viewer = as_role(app, dash_store.url, "footer-viewer", "viewer")
    assert ids.ADMIN_LINK not in routed(viewer, "/status")


def test_a_kiosk_display_reaches_the_wall_and_nothing_else(dash_store: DashStore, make_app: Any, conn: Any):
    app = make_app(dash_store.settings)
    with acting_as(app, ADMIN):
        made = admin.create_link(
            app._ioc_data, dash_store.settings, label="only wall", unit="VN", chosen=["0"], lang="vi"
        )
    found = TOKEN.search(layout_json(made[0]))
    assert found is not None
    display = anonymous(app)
    assert open_kiosk(display, found[1]).status_code == 302
    assert ids.WALL_MAP in routed(display, "/wall")
    for path in ("/", "/alerts", "/targets", *ADMIN_PAGES):
        page = routed(display, path)
        assert FORBIDDEN_PAGE in page, path
        assert all(part not in page for part in (ids.OP_MAP, ids.AL_LIST, ids.TG_LIST))
    before = counts(conn)
    _, answer = kiosk_click(display, app)
    assert FORBIDDEN_ACTION in text(answer)
    assert counts(conn) == before


def test_a_scoped_admin_manages_only_inside_their_scope(dash_store: DashStore, make_app: Any, conn: Any):
    app = make_app(dash_store.settings)
    data, settings = app._ioc_data, dash_store.settings
    ensure_user(dash_store.url, "hcmc-operator", role="operator", scope=HCMC)
    ensure_user(dash_store.url, "country-viewer", role="viewer", scope="VN")
    ensure_user(dash_store.url, "hanoi-viewer", role="viewer", scope=HANOI)
    with acting_as(app, ADMIN):
        other = admin.create_link(data, settings, label="HCMC wall", unit=HCMC, chosen=["0"], lang="vi")
    other_token = TOKEN.search(layout_json(other[0]))
    assert other_token is not None
    other_link = kiosk.resolve(conn, other_token[1])
    assert other_link is not None
    district = data.reference().children(HANOI)[0]
    before = counts(conn)
    with acting_as(app, Principal("hanoi-admin", "admin", HANOI)):
        for unit in (HCMC, "VN"):
            out = admin.create_link(data, settings, label="x", unit=unit, chosen=["0"], lang="vi")
            assert "nằm ngoài phạm vi quản lý" in layout_json(out[0]), unit
        form = {"username": "outsider", "role": "admin", "password": PASSWORD}
        for scope in (HCMC, "VN"):
            refused = admin.add_user(data, form | {"scope": scope}, "vi")
            assert "nằm ngoài phạm vi quản lý" in layout_json(refused["message"]), scope
        for name in ("hcmc-operator", "country-viewer"):
            toggled = admin.toggle_user(data, name, "user_disabled", "vi")
            assert "nằm ngoài phạm vi quản lý" in layout_json(toggled["message"]), name
            password = admin.set_password(data, name, NEW_PASSWORD, "vi")
            assert "nằm ngoài phạm vi quản lý" in layout_json(password["message"]), name
        revoked = admin.revoke_link(data, other_link.id, "vi")
        assert "nằm ngoài phạm vi quản lý" in layout_json(revoked[0])
        assert counts(conn) == before
        page = layout_json(admin.users_page(data, settings, {}, "vi"))
        assert "hanoi-viewer" in page
        assert all(name not in page for name in ("hcmc-operator", "country-viewer", ADMIN.name))
        links = layout_json(admin.kiosk_page(data, settings, {}, "vi"))
        assert "HCMC wall" not in links
        assert all(f'"value": "{code}"' not in links for code in (HCMC, "VN"))  # no unit outside
        inside = admin.create_link(
            data, settings, label="district wall", unit=district, chosen=["1"], lang="vi"
        )
        assert TOKEN.search(layout_json(inside[0])) is not None
        assert "district wall" in layout_json(inside[1])
        added = admin.add_user(
            data, form | {"username": "hanoi-operator", "role": "operator", "scope": district}, "vi"
        )
        assert "Đã thêm người dùng hanoi-operator." in layout_json(added["message"])
        # The audit trail of a unit's admin: what they and their scope's users did, nothing else.
        trail = layout_json(admin.audit_list(data, actor=None, action=None, limit=500, offset=0, lang="vi"))
        assert "hanoi-operator" in trail
        assert "HCMC wall" not in trail
        assert ADMIN.name not in trail
    assert kiosk.resolve(conn, other_token[1]) is not None
    (entry,) = entries(conn, "user_added", "user:hanoi-operator")
    assert entry.actor == "hanoi-admin"
