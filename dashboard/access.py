"""Who makes the current request, and what they may see and do: the one place that decides.

``dashboard.guard`` identifies every request before Dash or a route sees it (a signed-in user or
a kiosk link) and stores the ``Principal`` here; pages and callbacks ask this module, on the
server, whether an action is allowed (``require``) and whether a unit is inside the principal's
scope (``require_unit``). Hiding a control is never the check: a forged callback request reaches
the same questions and gets ``Forbidden``, which pages show as a clear message.
"""

from __future__ import annotations

import flask

from auth.kiosk import KioskLink
from auth.model import Action, Principal, may
from dashboard.errors import DashboardError
from dashboard.reference import COUNTRY, Reference


class Forbidden(DashboardError):
    """The principal may not do this, or not see this unit."""

    def __init__(self, principal: Principal | None, what: str) -> None:
        who = principal.name if principal else "nobody"
        super().__init__(f"{who} may not {what}")
        self.what = what


class OutOfScope(Forbidden):
    """A unit outside the principal's scope (or not a unit at all: the answer is the same, so that a
    probe learns nothing of which codes exist)."""

    def __init__(self, principal: Principal | None, code: str) -> None:
        super().__init__(principal, f"see unit {code!r}")
        self.code = code


def set_principal(principal: Principal | None, link: KioskLink | None = None) -> None:
    flask.g.principal = principal
    flask.g.kiosk_link = link


def principal() -> Principal | None:
    """Who makes the current request; None outside a request or before identification."""
    return flask.g.get("principal") if flask.has_app_context() else None


def kiosk_link() -> KioskLink | None:
    """The kiosk link the current request came through, if any (its scenes drive the wall)."""
    return flask.g.get("kiosk_link") if flask.has_app_context() else None


def allowed(action: Action) -> bool:
    who = principal()
    return who is not None and may(who.role, action)


def require(action: Action) -> Principal:
    """The principal, if they may do ``action``; else ``Forbidden``."""
    who = principal()
    if who is None or not may(who.role, action):
        raise Forbidden(who, action.replace("_", " "))
    return who


def sees(reference: Reference, code: str) -> bool:
    """Whether ``code`` (a unit in force, or VN) is the principal's scope or below it."""
    who = principal()
    if who is None:
        return False
    if who.scope == COUNTRY:
        return code == COUNTRY or code in reference.units
    if code == COUNTRY or code not in reference.units:
        return False
    return who.scope in reference.ancestors(code)


def require_unit(reference: Reference, code: str) -> str:
    """``code`` if the principal sees it; else ``OutOfScope`` (unknown codes included, for the
    country-wide only the unit list's own ``UnknownUnit``)."""
    who = principal()
    if who is not None and who.scope == COUNTRY:
        return reference.check(code)
    if not sees(reference, code):
        raise OutOfScope(who, code)
    return code


def home(default: str) -> str:
    """Where the principal's views start: ``default`` (a setting) for the whole country's users,
    else their scope (a kiosk link's unit for a wall display)."""
    who = principal()
    if who is None or who.scope == COUNTRY:
        return default
    return who.scope


def may_edit_targets() -> bool:
    """Whether the current request may add, change or delete targets."""
    return allowed("edit_targets")
