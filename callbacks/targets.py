"""The targets page's callbacks: the list, its poll, and the form (edit, new, save, delete).

A row of the form goes through ``alerts.targets.validate``, the same check as a targets file:
every problem is said under its field, in the page's language, and nothing is saved until
there is none. A new target may not take the name of another (names identify targets; an
existing target keeps its name). Saving and deleting write through ``alerts.store`` and move
the data version, so that other open pages (and this list) show the change, each in one
transaction with its audit entry. Whether this request may change targets is
``dashboard.access.may_edit_targets``'s answer, asked again by every edit, save and delete, on
the server; and each target touched (the one saved, the one it replaces, the one deleted) must
lie in the principal's scope: a target of one unit, that unit; a target of a whole level, the
whole country. The list and the form's choices hold only targets and units of their scope.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

import dash
from dash import ALL, Input, Output, State, ctx, no_update

from alerts import targets as target_rules
from alerts.targets import FIELDS, Problem, Target
from callbacks import bounded, footer
from callbacks.clicks import clicked
from callbacks.operator import actor, shielded
from dashboard import access, i18n
from dashboard.access import Forbidden
from dashboard.data import Data
from dashboard.i18n import Lang
from dashboard.reference import COUNTRY, Reference
from ioc.settings import Settings
from layouts import ids
from layouts import targets as targets_layout
from layouts.common import message

FORM = "tg-form-answer"  # the form callback's outputs, by name (see ``form_outputs``)


def page(data: Data, settings: Settings, params: dict[str, str], lang: Lang) -> Any:
    del params  # the page has no state of its own in the URL but the language
    access.require("view")
    reference = data.reference()
    return targets_layout.layout(
        reference=reference,
        lang=lang,
        poll_ms=settings.poll_ms,
        version=seen(data),
        editable=access.may_edit_targets(),
        listed=listing(data, lang),
        choices=choices(reference),
    )


def choices(reference: Reference) -> targets_layout.Choices:
    """What the form offers: the units and agencies of the principal's scope, and whole levels
    only to those of the whole country."""
    units = [u for u in reference.units.values() if access.sees(reference, u.code)]
    agencies = [a for a in reference.data.agencies if access.sees(reference, a.unit_code)]
    return targets_layout.Choices(units, agencies, levels=access.home(COUNTRY) == COUNTRY)


def visible(reference: Reference, target: Target) -> bool:
    """Whether the principal sees ``target``: one of a unit in their scope, or one of a whole level
    (it applies to their units too)."""
    return target.unit is None or access.sees(reference, target.unit)


def require_target(reference: Reference, target: Target) -> None:
    """``Forbidden`` unless the principal may change ``target``: edit rights, and its unit in their
    scope (a level-wide target: the whole country)."""
    who = access.require("edit_targets")
    if target.unit is not None:
        access.require_unit(reference, target.unit)
    elif who.scope != COUNTRY:
        raise Forbidden(who, f"change the level-wide target {target.name!r}")


def seen(data: Data, **more: object) -> dict[str, Any]:
    return {"version": data.version(), **more}


def listing(data: Data, lang: Lang) -> Any:
    """The targets as saved now, or a message saying why they cannot be shown."""

    def compute() -> Any:
        access.require("view")
        reference = data.reference()
        shown = [t for t in data.saved_targets() if visible(reference, t)]
        return targets_layout.table(shown, reference, lang, editable=access.may_edit_targets())

    return shielded(lang, compute, lambda text, kind: message(text, kind=kind))


# -- the form ------------------------------------------------------------------------------


def blank(lang: Lang) -> dict[str, Any]:
    """The form for a new target: defaults, no problem said, no target being edited."""
    values: dict[str, str | None] = dict.fromkeys(FIELDS, "")
    values |= {"kpi": None, "unit": None, "level": None, "agency": None}
    values |= {"comparison": ">=", "window": "month", "severity": "warning"}
    return answer(values, {}, None, lang)


def filled(target: Target, lang: Lang) -> dict[str, Any]:
    """The form showing ``target``, to be changed (its name stays)."""
    values = {
        "name": target.name,
        "kpi": target.kpi,
        "unit": target.unit,
        "level": target.level,
        "agency": target.agency,
        "comparison": target.comparison,
        "threshold": targets_layout.shown_number(target.threshold, lang),
        "window": target.window,
        "min_volume": targets_layout.shown_number(target.min_volume, lang),
        "severity": target.severity,
    }
    return answer(values, {}, target.name, lang)


def answer(
    values: Mapping[str, Any] | None,
    problems: Mapping[str, Sequence[Problem]],
    editing: str | None,
    lang: Lang,
) -> dict[str, Any]:
    """Every output of the form callback: the fields' values (None: as they are), the problem
    said under each field, the name (fixed while editing), the title, the delete button."""
    out: dict[str, Any] = {}
    for name in FIELDS:
        out[f"value:{name}"] = no_update if values is None else values.get(name)
        out[f"error:{name}"] = " ".join(said(p, lang) for p in problems.get(name, ()))
    out["error:scope"] = " ".join(said(p, lang) for p in problems.get("", ()))
    for name in targets_layout.INPUTS:
        out[f"invalid:{name}"] = bool(problems.get(name))
    out["name_disabled"] = editing is not None
    out["editing"] = editing
    out["title"] = i18n.t("tg_editing", lang, name=editing) if editing else i18n.t("tg_adding", lang)
    out["delete_disabled"] = editing is None
    out["message"] = []
    out["version"] = no_update
    return out


def said(problem: Problem, lang: Lang) -> str:
    """A problem in the page's language (its English text for a code this page does not know)."""
    key = f"err_{problem.code}"
    return i18n.t(key, lang, **problem.values) if i18n.has(key) else str(problem)


def row_of(values: Mapping[str, Any], lang: Lang) -> dict[str, str]:
    """The form's values as a targets file's row: text, trimmed; a Vietnamese decimal comma read
    as a point (``40,5``) in the numbers."""
    row = {name: "" if values.get(name) is None else str(values[name]).strip() for name in FIELDS}
    for name in ("threshold", "min_volume"):
        row[name] = typed_number(row[name], lang)
    return row


def typed_number(text: str, lang: Lang) -> str:
    """``1.234,5`` (Vietnamese, with a comma) or ``1,234.5`` (English) as ``1234.5``; a number
    typed with a point in Vietnamese (``40.5``) is read as it is."""
    if lang == "vi" and "," in text:
        return text.replace(".", "").replace(",", ".")
    return text.replace(",", "") if lang == "en" else text


def save(data: Data, values: Mapping[str, Any], editing: str | None, lang: Lang) -> dict[str, Any]:
    """Check the form's row as a file's row is checked; save it when it has no problem."""
    if not access.may_edit_targets():
        return answer(None, {}, editing, lang) | {
            "message": message(i18n.t("tg_read_only", lang), kind="warning")
        }

    def compute() -> dict[str, Any]:
        access.require("edit_targets")
        row = row_of(values, lang)
        if editing is not None:
            row["name"] = editing  # an existing target keeps its name
        reference = data.reference()
        replaced = next((t for t in data.saved_targets() if t.name == row["name"]), None)
        if replaced is not None and (editing is not None or not visible(reference, replaced)):
            require_target(reference, replaced)  # nobody overwrites a target outside their scope
        checked = target_rules.validate(
            row,
            units={u.code: u.level for u in reference.data.units},
            agencies={a.code for a in reference.data.agencies},
        )
        problems = checked.by_field()
        target = checked.target
        if target is not None and editing is None and target.name in {t.name for t in data.saved_targets()}:
            problems = {"name": [Problem("name", "name_taken", "a target has this name already")]}
            target = None
        if target is None:
            out = answer(None, problems, editing, lang)
            return out | {"message": message(i18n.t("tg_not_saved", lang), kind="danger")}
        require_target(reference, target)
        data.save_target(target, actor())
        out = filled(target, lang)  # as saved: a generated name, numbers written plainly
        out["message"] = message(i18n.t("tg_saved", lang, name=target.name), kind="success")
        out["version"] = seen(data, at=time.time())
        return out

    return shielded(
        lang,
        compute,
        lambda text, kind: answer(None, {}, editing, lang) | {"message": message(text, kind=kind)},
    )


def delete(data: Data, editing: str | None, lang: Lang) -> dict[str, Any]:
    if editing is None:
        return answer(None, {}, None, lang)
    if not access.may_edit_targets():
        return answer(None, {}, editing, lang) | {
            "message": message(i18n.t("tg_read_only", lang), kind="warning")
        }

    def compute() -> dict[str, Any]:
        access.require("edit_targets")
        found = next((t for t in data.saved_targets() if t.name == editing), None)
        if found is not None:
            require_target(data.reference(), found)
        deleted = data.delete_target(editing, actor())
        key, kind = ("tg_deleted", "success") if deleted else ("tg_gone", "warning")
        return blank(lang) | {
            "message": message(i18n.t(key, lang, name=editing), kind=kind),
            "version": seen(data, at=time.time()),
        }

    return shielded(
        lang,
        compute,
        lambda text, kind: answer(None, {}, editing, lang) | {"message": message(text, kind=kind)},
    )


def edit(data: Data, name: str, lang: Lang) -> dict[str, Any]:
    """The form filled with the target called ``name`` (or a message when it is gone)."""

    def compute() -> dict[str, Any]:
        access.require("edit_targets")
        found = next((t for t in data.saved_targets() if t.name == name), None)
        if found is not None and not visible(data.reference(), found):
            found = None  # as if it did not exist: nothing of a target outside the scope
        if found is None:
            return blank(lang) | {"message": message(i18n.t("tg_gone", lang, name=name), kind="warning")}
        return filled(found, lang)

    return shielded(
        lang, compute, lambda text, kind: answer(None, {}, None, lang) | {"message": message(text, kind=kind)}
    )


def form_outputs() -> dict[str, Output]:
    out = {}
    for name in FIELDS:
        out[f"value:{name}"] = Output(ids.tg_field(name), "value")
        out[f"error:{name}"] = Output(ids.tg_error(name), "children")
    out["error:scope"] = Output(ids.TG_SCOPE_ERROR, "children")
    for name in targets_layout.INPUTS:
        out[f"invalid:{name}"] = Output(ids.tg_field(name), "invalid")
    out["name_disabled"] = Output(ids.tg_field("name"), "disabled")
    out["editing"] = Output(ids.TG_EDITING, "data")
    out["title"] = Output(ids.TG_FORM_TITLE, "children")
    out["delete_disabled"] = Output(ids.TG_DELETE, "disabled")
    out["message"] = Output(ids.TG_MESSAGE, "children")
    out["version"] = Output(ids.TG_VERSION, "data", allow_duplicate=True)
    return out


def register(app: dash.Dash, data: Data, settings: Settings) -> dict[str, Any]:
    """Register the targets page's callbacks on ``app``; returns them by name (for tests)."""

    @app.callback(
        Output(ids.TG_VERSION, "data"),
        Output(ids.TG_POLL, "interval"),
        *footer.OUTPUTS,
        Input(ids.TG_POLL, "n_intervals"),
        State(ids.TG_VERSION, "data"),
        State(ids.LANG, "data"),
        footer.SHOWN,
        prevent_initial_call=True,
    )
    def targets_poll(
        n: int | None, shown: dict[str, Any] | None, lang: str | None = None, status_shown: str | None = None
    ) -> tuple[Any, ...]:
        beat = data.poll(settings.poll_ms)
        status = footer.follow(data, beat, lang, status_shown)
        if beat.version is None:  # no Redis: read again on the slower beat
            return {"version": None, "beat": n or 0}, beat.interval_ms, *status
        moved = beat.moved((shown or {}).get("version"))
        return ({"version": beat.version} if moved else no_update), beat.interval_ms, *status

    bounded.trim_on(app, ids.TG_POLL)  # each beat is an entry of Dash's undo history

    # The page arrives with its list (``page``), so this callback only follows changes. Left to an
    # initial call, the list stayed empty in chromium once the poll also wrote the footer: the
    # renderer apparently chains it behind the poll's first answer, which sends no new version when
    # nothing changed. (The alerts list has a second input, its filter, and still gets its call.)
    @app.callback(
        Output(ids.TG_LIST, "children"),
        Input(ids.TG_VERSION, "data"),
        State(ids.LANG, "data"),
        prevent_initial_call=True,
    )
    def targets_list(_: Any, lang: str | None) -> Any:
        return listing(data, i18n.lang_of(lang))

    @app.callback(
        output=form_outputs(),
        inputs={
            "edits": Input({"type": ids.TG_EDIT, "name": ALL}, "n_clicks"),
            "new": Input(ids.TG_NEW, "n_clicks"),
            "saves": Input(ids.TG_SAVE, "n_clicks"),
            "deletes": Input(ids.TG_DELETE, "n_clicks"),
        },
        state={
            "values": {name: State(ids.tg_field(name), "value") for name in FIELDS},
            "editing": State(ids.TG_EDITING, "data"),
            "lang": State(ids.LANG, "data"),
        },
        prevent_initial_call=True,
    )
    def targets_form(**given: Any) -> dict[str, Any]:
        """Called with the inputs and states above by name."""
        lang = i18n.lang_of(given["lang"])
        grouping = ctx.args_grouping  # inputs_list is deprecated for callbacks of named inputs
        clicks = clicked(ctx.triggered_id, [grouping[name] for name in ("edits", "new", "saves", "deletes")])
        return act(
            data, ctx.triggered_id, clicks, values=given["values"], editing=given["editing"], lang=lang
        )

    return {"targets_poll": targets_poll, "targets_list": targets_list, "targets_form": targets_form}


def act(
    data: Data,
    trigger: Any,
    clicks: int | None,
    *,
    values: dict[str, Any],
    editing: str | None,
    lang: Lang,
) -> dict[str, Any]:
    """What a click on the form's buttons or a row's "edit" does (nothing for the renderer's
    calls when the list brings new buttons, which carry no click)."""
    if not clicks:  # the renderer's call for new buttons, which carry no click
        return dict.fromkeys(form_outputs(), no_update)
    if isinstance(trigger, dict) and trigger.get("type") == ids.TG_EDIT:
        return edit(data, str(trigger["name"]), lang)
    if trigger == ids.TG_NEW:
        return blank(lang)
    if trigger == ids.TG_SAVE:
        return save(data, values, editing, lang)
    if trigger == ids.TG_DELETE:
        return delete(data, editing, lang)
    return dict.fromkeys(form_outputs(), no_update)
