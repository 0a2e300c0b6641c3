"""The admin pages' builders and callbacks: display links, users, the audit trail.

Every page and every callback asks ``dashboard.access.require`` on the server first (hiding a
control is never the check): a viewer, an operator or a kiosk display that forges a callback
request gets the not-allowed message and nothing changes. An admin scoped to a unit sees and
manages only the links and users of that unit and below, and cannot grant a scope outside it
(``access.require_unit``). Each change and its audit entry are written in one transaction by
``auth.kiosk`` and ``auth.users`` (the same entries ``ioc kiosk`` and ``ioc users`` write), with
the principal as actor and the client's address.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar, cast

import dash
import flask
from dash import ALL, Input, Output, State, ctx, no_update

from auth import audit, kiosk, users
from auth.errors import BadUsername, UnknownScope, UserExists
from auth.model import USER_ROLES, Action, Principal, UserRole
from auth.passwords import MAX_LENGTH, MIN_LENGTH, Hasher, WeakPassword, check_strength
from callbacks.clicks import clicked
from callbacks.operator import shielded
from callbacks.router import Page
from dashboard import access, i18n, scenes
from dashboard.access import Forbidden, OutOfScope
from dashboard.data import Data
from dashboard.i18n import Lang
from dashboard.reference import COUNTRY, Reference
from ioc.settings import Settings
from layouts import admin as admin_layout
from layouts import ids
from layouts.common import message

T = TypeVar("T")
HASHER = Hasher()  # tests put a cheaper one here
Outcome = tuple[Any, Any]  # a kiosk or users callback's message and list


# -- who may: pages, callbacks, scopes -----------------------------------------------------


def requiring(action: Action, page: Page) -> Page:
    """``page``, shown only to a principal who may do ``action`` (else the not-allowed message)."""

    def guarded(params: dict[str, str], lang: Lang) -> Any:
        try:
            access.require(action)
        except Forbidden:
            return forbidden_page(lang)
        return page(params, lang)

    return guarded


def forbidden_page(lang: Lang) -> Any:
    return message(i18n.t("forbidden", lang), kind="danger", link=(i18n.t("back_home", lang), "/"))


def acting(lang: Lang, compute: Callable[[], T], instead: Callable[[str, str], T]) -> T:
    """``compute()``, or ``instead(text, kind)`` when it is not allowed, out of the admin's scope,
    refused by the rules of users and links, or the database cannot answer."""

    def checked() -> T:
        try:
            return compute()
        except OutOfScope:
            return instead(i18n.t("out_of_scope", lang), "danger")
        except Forbidden:
            return instead(i18n.t("forbidden_action", lang), "danger")
        except BadUsername:
            return instead(i18n.t("us_bad_username", lang), "warning")
        except UnknownScope:
            return instead(i18n.t("choose_unit", lang), "warning")

    return shielded(lang, checked, instead)


def manages(reference: Reference, who: Principal, scope: str) -> bool:
    """Whether ``who`` (an admin) manages what belongs to ``scope``: theirs or below it."""
    return who.scope == COUNTRY or access.sees(reference, scope)


def address() -> str | None:
    return flask.request.remote_addr if flask.has_request_context() else None


# -- /admin/kiosk --------------------------------------------------------------------------


def kiosk_page(data: Data, settings: Settings, params: dict[str, str], lang: Lang) -> Any:
    del params  # the page keeps nothing in the URL but the language
    try:
        who = access.require("manage_kiosk_links")
    except Forbidden:
        return forbidden_page(lang)
    reference = data.reference()
    return admin_layout.kiosk_page(
        links=kiosk_listing(data, reference, who, lang),
        reference=reference,
        scope=who.scope,
        scenes=scenes.load(settings.wall_scenes),
        lang=lang,
    )


def kiosk_listing(data: Data, reference: Reference, who: Principal, lang: Lang) -> Any:
    """The links of ``who``'s scope, newest first, revoked ones too."""
    with data.connection() as conn:
        links = kiosk.listing(conn, include_revoked=True)
    shown = [link for link in reversed(links) if manages(reference, who, link.unit)]
    return admin_layout.kiosk_table(shown, reference, lang, data.tz)


def create_link(
    data: Data,
    settings: Settings,
    *,
    label: str | None,
    unit: str | None,
    chosen: Sequence[str] | None,
    lang: Lang,
) -> Outcome:
    """A new link of ``unit`` showing the ``chosen`` scenes (indices into the scenes file); its
    address is in the message, the only time it is ever shown."""

    def compute() -> Outcome:
        who = access.require("manage_kiosk_links")
        reference = data.reference()
        if not unit:
            return message(i18n.t("choose_unit", lang)), no_update
        where = access.require_unit(reference, unit)
        configured = scenes.load(settings.wall_scenes)
        picked = [configured[int(i)] for i in chosen or () if str(i).isdigit() and int(i) < len(configured)]
        if not picked:
            return message(i18n.t("kl_no_scene", lang)), no_update
        with data.connection() as conn:
            created = kiosk.create_recorded(
                conn, label=label or "", unit=where, scenes=picked, by=who.name, address=address()
            )
        url = f"{flask.request.host_url.rstrip('/')}/kiosk/{created.token}"
        said = admin_layout.kiosk_created(created.link.label, url, lang)
        return said, kiosk_listing(data, reference, who, lang)

    return acting(lang, compute, lambda text, kind: (message(text, kind=kind), no_update))


def revoke_link(data: Data, link_id: int, lang: Lang) -> Outcome:
    """Revoke link ``link_id`` if it is of the admin's scope: its displays stop at their next request."""

    def compute() -> Outcome:
        who = access.require("manage_kiosk_links")
        reference = data.reference()
        with data.connection() as conn:
            found = kiosk.get(conn, link_id)
            if found is None:
                return message(i18n.t("kl_gone", lang, id=link_id)), no_update
            if not manages(reference, who, found.unit):
                raise OutOfScope(who, found.unit)
            if not found.active:
                said = message(i18n.t("kl_already_revoked", lang, label=found.label), kind="info")
                return said, kiosk_listing(data, reference, who, lang)
            kiosk.revoke_recorded(conn, link_id, by=who.name, address=address())
        said = message(i18n.t("kl_revoked", lang, label=found.label), kind="success")
        return said, kiosk_listing(data, reference, who, lang)

    return acting(lang, compute, lambda text, kind: (message(text, kind=kind), no_update))


def kiosk_act(
    data: Data,
    settings: Settings,
    trigger: Any,
    clicks: int | None,
    *,
    label: str | None,
    unit: str | None,
    chosen: Sequence[str] | None,
    lang: Lang,
) -> Outcome:
    """What a click on "create" or a row's "revoke" does (nothing for the renderer's calls when the
    list brings new buttons, which carry no click)."""
    if not clicks:
        return no_update, no_update
    if isinstance(trigger, dict) and trigger.get("type") == ids.KL_REVOKE:
        return revoke_link(data, int(trigger["link"]), lang)
    if trigger == ids.KL_CREATE:
        return create_link(data, settings, label=label, unit=unit, chosen=chosen, lang=lang)
    return no_update, no_update


# -- /admin/users --------------------------------------------------------------------------

USERS_OUT = ("message", "list", "pw_options", "password", "pw_password")


def users_page(data: Data, settings: Settings, params: dict[str, str], lang: Lang) -> Any:
    del settings, params
    try:
        who = access.require("manage_users")
    except Forbidden:
        return forbidden_page(lang)
    reference = data.reference()
    listed = users_listing(data, reference, who)
    return admin_layout.users_page(
        users=admin_layout.users_table(listed, reference, lang, data.tz, me=who.name),
        manageable=others(listed, who),
        reference=reference,
        scope=who.scope,
        lang=lang,
    )


def users_listing(data: Data, reference: Reference, who: Principal) -> list[users.User]:
    """The users of ``who``'s scope, disabled ones too, by username."""
    with data.connection() as conn:
        everyone = users.listing(conn)
    return [u for u in everyone if manages(reference, who, u.scope)]


def others(listed: Sequence[users.User], who: Principal) -> list[str]:
    """Whose password this admin may set from the page (their own: not here, it would end the
    session they are using)."""
    return [u.username for u in listed if u.username != who.name]


def users_answer(data: Data, reference: Reference, who: Principal, said: Any, lang: Lang) -> dict[str, Any]:
    """Every output of the users callback after a change: the message, the list, the password
    form's choices, both password fields emptied."""
    listed = users_listing(data, reference, who)
    return {
        "message": said,
        "list": admin_layout.users_table(listed, reference, lang, data.tz, me=who.name),
        "pw_options": others(listed, who),
        "password": "",
        "pw_password": "",
    }


def refused(text: str, kind: str) -> dict[str, Any]:
    """The users callback's outputs when nothing changed: the message only (passwords stay typed)."""
    return dict.fromkeys(USERS_OUT, no_update) | {"message": message(text, kind=kind)}


def weak(exc: WeakPassword, password: str, lang: Lang) -> str:
    """``check_strength``'s refusal in the page's language."""
    del exc
    if len(password) < MIN_LENGTH:
        return i18n.t("us_weak_short", lang, n=MIN_LENGTH)
    if len(password) > MAX_LENGTH:
        return i18n.t("us_weak_long", lang, n=MAX_LENGTH)
    return i18n.t("us_weak_username", lang)


def add_user(data: Data, form: dict[str, Any], lang: Lang) -> dict[str, Any]:
    """A new user of a scope inside the admin's, with an initial password of the policy."""

    def compute() -> dict[str, Any]:
        who = access.require("manage_users")
        reference = data.reference()
        login = users.checked_username(str(form.get("username") or ""))
        role = form.get("role")
        scope = form.get("scope")
        if role not in USER_ROLES:
            return refused(i18n.t("err_choice", lang, allowed=", ".join(USER_ROLES)), "warning")
        if not scope:
            return refused(i18n.t("choose_unit", lang), "warning")
        where = access.require_unit(reference, str(scope))
        password = str(form.get("password") or "")
        try:
            check_strength(password, login)
        except WeakPassword as exc:
            return refused(weak(exc, password, lang), "warning")
        hashed = HASHER.hash(password)
        try:
            with data.connection() as conn:
                user = users.add_recorded(
                    conn,
                    login,
                    display_name=str(form.get("display_name") or ""),
                    role=cast(UserRole, role),
                    scope=where,
                    password_hash=hashed,
                    by=who.name,
                    address=address(),
                )
        except UserExists:
            return refused(i18n.t("us_exists", lang, name=login), "warning")
        said = message(i18n.t("us_added", lang, name=user.username), kind="success")
        return users_answer(data, reference, who, said, lang)

    return acting(lang, compute, refused)


def target_user(data: Data, reference: Reference, who: Principal, username: str) -> users.User | None:
    """The user ``username`` if there is one; ``OutOfScope`` if not of the admin's scope."""
    with data.connection() as conn:
        user = users.get(conn, username)
    if user is not None and not manages(reference, who, user.scope):
        raise OutOfScope(who, user.scope)
    return user


def toggle_user(data: Data, username: str, action: str, lang: Lang) -> dict[str, Any]:
    """Disable (``user_disabled``) or enable (``user_enabled``) ``username``; never oneself."""

    def compute() -> dict[str, Any]:
        who = access.require("manage_users")
        reference = data.reference()
        if action not in users.CHANGES:
            return refused(i18n.t("forbidden_action", lang), "danger")
        if username == who.name:
            return refused(i18n.t("us_not_self", lang), "warning")
        if target_user(data, reference, who, username) is None:
            return refused(i18n.t("us_gone", lang, name=username), "warning")
        with data.connection() as conn:
            user = users.change_recorded(conn, username, action, by=who.name, address=address())
        if user is None:
            return refused(i18n.t("us_gone", lang, name=username), "warning")
        key = "us_disabled_done" if action == "user_disabled" else "us_enabled_done"
        said = message(i18n.t(key, lang, name=user.username), kind="success")
        return users_answer(data, reference, who, said, lang)

    return acting(lang, compute, refused)


def set_password(data: Data, username: str | None, password: str | None, lang: Lang) -> dict[str, Any]:
    """A new password (of the policy) for a user of the admin's scope; their sessions end."""

    def compute() -> dict[str, Any]:
        who = access.require("manage_users")
        reference = data.reference()
        if not username or username == who.name:
            return refused(i18n.t("us_choose_user", lang), "warning")
        if target_user(data, reference, who, username) is None:
            return refused(i18n.t("us_gone", lang, name=username), "warning")
        typed = password or ""
        try:
            check_strength(typed, username)
        except WeakPassword as exc:
            return refused(weak(exc, typed, lang), "warning")
        hashed = HASHER.hash(typed)
        with data.connection() as conn:
            user = users.set_password_recorded(conn, username, hashed, by=who.name, address=address())
        if user is None:
            return refused(i18n.t("us_gone", lang, name=username), "warning")
        said = message(i18n.t("us_password_set", lang, name=user.username), kind="success")
        return users_answer(data, reference, who, said, lang)

    return acting(lang, compute, refused)


def users_act(
    data: Data, trigger: Any, clicks: int | None, *, form: dict[str, Any], lang: Lang
) -> dict[str, Any]:
    """What a click on "add", "set password" or a row's disable/enable does."""
    if not clicks:
        return dict.fromkeys(USERS_OUT, no_update)
    if isinstance(trigger, dict) and trigger.get("type") == ids.US_TOGGLE:
        return toggle_user(data, str(trigger["user"]), str(trigger["action"]), lang)
    if trigger == ids.US_ADD:
        return add_user(data, form, lang)
    if trigger == ids.US_PW_SET:
        return set_password(data, form.get("pw_user"), form.get("pw_password"), lang)
    return dict.fromkeys(USERS_OUT, no_update)


# -- /admin/audit --------------------------------------------------------------------------

AUDIT_OUT = ("list", "showing", "offset", "older_disabled", "newer_disabled")


def audit_page(data: Data, settings: Settings, params: dict[str, str], lang: Lang) -> Any:
    del data, settings, params
    try:
        access.require("view_audit")
    except Forbidden:
        return forbidden_page(lang)
    return admin_layout.audit_page(lang)


def audit_list(
    data: Data, *, actor: str | None, action: str | None, limit: int, offset: int, lang: Lang
) -> dict[str, Any]:
    """A page of the audit trail, newest first, from ``offset``; whether older entries exist."""
    size = min(max(1, limit), max(admin_layout.LIMITS))
    start = max(0, offset)

    def compute() -> dict[str, Any]:
        who = access.require("view_audit")
        # An admin of a unit sees what they and the users of their scope did, not the whole trail.
        actors = (
            None
            if who.scope == COUNTRY
            else {who.name, *(u.username for u in users_listing(data, data.reference(), who))}
        )
        with data.connection() as conn:
            found = audit.recent(
                conn,
                limit=size + 1,
                offset=start,
                actor=(actor or "").strip() or None,
                action=action if action in audit.ACTIONS else None,
                actors=actors,
            )
        shown = found[:size]
        return {
            "list": admin_layout.audit_table(shown, lang, data.tz),
            "showing": i18n.t("au_showing", lang, first=start + 1, last=start + len(shown)) if shown else "",
            "offset": start,
            "older_disabled": len(found) <= size,
            "newer_disabled": start == 0,
        }

    def instead(text: str, kind: str) -> dict[str, Any]:
        return {"list": message(text, kind=kind), "showing": "", "offset": 0}

    return audit_answer(acting(lang, compute, instead))


def audit_answer(out: dict[str, Any]) -> dict[str, Any]:
    """Every output of the audit callback (paging buttons disabled unless told otherwise)."""
    return {"older_disabled": True, "newer_disabled": True} | out


def audit_offset(trigger: Any, offset: int | None, limit: int) -> int:
    """The page to show after ``trigger``: older, newer, or the first (a filter changed)."""
    now = offset or 0
    if trigger == ids.AU_OLDER:
        return now + limit
    if trigger == ids.AU_NEWER:
        return max(0, now - limit)
    return 0


# -- registration --------------------------------------------------------------------------


def register(app: dash.Dash, data: Data, settings: Settings) -> dict[str, Any]:
    """Register the admin pages' callbacks on ``app``; returns them by name (for tests)."""

    @app.callback(
        Output(ids.KL_MESSAGE, "children"),
        Output(ids.KL_LIST, "children"),
        Input(ids.KL_CREATE, "n_clicks"),
        Input({"type": ids.KL_REVOKE, "link": ALL}, "n_clicks"),
        State(ids.KL_LABEL, "value"),
        State(ids.KL_UNIT, "value"),
        State(ids.KL_SCENES, "value"),
        State(ids.LANG, "data"),
        prevent_initial_call=True,
    )
    def admin_kiosk(
        _create: int | None,
        _revokes: list[int | None],
        label: str | None,
        unit: str | None,
        chosen: list[str] | None,
        lang: str | None,
    ) -> Outcome:
        clicks = clicked(ctx.triggered_id, ctx.inputs_list)
        return kiosk_act(
            data,
            settings,
            ctx.triggered_id,
            clicks,
            label=label,
            unit=unit,
            chosen=chosen,
            lang=i18n.lang_of(lang),
        )

    @app.callback(
        Output(ids.US_MESSAGE, "children"),
        Output(ids.US_LIST, "children"),
        Output(ids.US_PW_USER, "options"),
        Output(ids.US_PASSWORD, "value"),
        Output(ids.US_PW_PASSWORD, "value"),
        Input(ids.US_ADD, "n_clicks"),
        Input({"type": ids.US_TOGGLE, "user": ALL, "action": ALL}, "n_clicks"),
        Input(ids.US_PW_SET, "n_clicks"),
        State(ids.US_USERNAME, "value"),
        State(ids.US_DISPLAY_NAME, "value"),
        State(ids.US_ROLE, "value"),
        State(ids.US_SCOPE, "value"),
        State(ids.US_PASSWORD, "value"),
        State(ids.US_PW_USER, "value"),
        State(ids.US_PW_PASSWORD, "value"),
        State(ids.LANG, "data"),
        prevent_initial_call=True,
    )
    def admin_users(  # noqa: PLR0917 - the callback's inputs and states, as Dash passes them
        _add: int | None,
        _toggles: list[int | None],
        _set: int | None,
        username: str | None,
        display_name: str | None,
        role: str | None,
        scope: str | None,
        password: str | None,
        pw_user: str | None,
        pw_password: str | None,
        lang: str | None,
    ) -> tuple[Any, ...]:
        form = {
            "username": username,
            "display_name": display_name,
            "role": role,
            "scope": scope,
            "password": password,
            "pw_user": pw_user,
            "pw_password": pw_password,
        }
        clicks = clicked(ctx.triggered_id, ctx.inputs_list)
        out = users_act(data, ctx.triggered_id, clicks, form=form, lang=i18n.lang_of(lang))
        return tuple(out[name] for name in USERS_OUT)

    @app.callback(
        output={
            "list": Output(ids.AU_LIST, "children"),
            "showing": Output(ids.AU_SHOWING, "children"),
            "offset": Output(ids.AU_OFFSET, "data"),
            "older_disabled": Output(ids.AU_OLDER, "disabled"),
            "newer_disabled": Output(ids.AU_NEWER, "disabled"),
        },
        inputs={
            "actor": Input(ids.AU_ACTOR, "value"),
            "action": Input(ids.AU_ACTION, "value"),
            "limit": Input(ids.AU_LIMIT, "value"),
            "newer": Input(ids.AU_NEWER, "n_clicks"),
            "older": Input(ids.AU_OLDER, "n_clicks"),
        },
        state={"offset": State(ids.AU_OFFSET, "data"), "lang": State(ids.LANG, "data")},
    )
    def admin_audit(**given: Any) -> dict[str, Any]:
        """Called with the inputs and states above by name; also when the page opens."""
        limit = given["limit"] if given["limit"] in admin_layout.LIMITS else admin_layout.LIMITS[1]
        return audit_list(
            data,
            actor=given["actor"],
            action=given["action"],
            limit=limit,
            offset=audit_offset(ctx.triggered_id, given["offset"], limit),
            lang=i18n.lang_of(given["lang"]),
        )

    return {"admin_kiosk": admin_kiosk, "admin_users": admin_users, "admin_audit": admin_audit}
