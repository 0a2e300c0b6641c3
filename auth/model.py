"""Who may do what, and where: roles, a closed set of actions, and unit scopes. Pure, no I/O.

A *principal* is whoever makes a request: a signed-in user (role viewer, operator or admin) or a
kiosk link (role ``kiosk``: the wall display, nothing else). Each has a *scope*, a unit code or
``VN`` for the whole country, and sees that unit and its descendants only; ``in_scope`` decides
that from the reference data's parent links (``refdata.model.Unit.parent_code``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal, get_args

from kpi.model import COUNTRY
from refdata.model import Unit

Role = Literal["viewer", "operator", "admin", "kiosk"]
UserRole = Literal["viewer", "operator", "admin"]
USER_ROLES: tuple[UserRole, ...] = get_args(UserRole)

Action = Literal[
    "view_wall",  # the wall display (/wall)
    "view",  # the operator views and the alerts list
    "acknowledge_alert",
    "export",  # CSV of what a view shows
    "edit_targets",
    "manage_users",
    "manage_kiosk_links",
    "view_audit",
]
ACTIONS: tuple[Action, ...] = get_args(Action)

_READ: frozenset[Action] = frozenset({"view_wall", "view"})
_OPERATE: frozenset[Action] = _READ | {"acknowledge_alert", "export"}
PERMISSIONS: Mapping[Role, frozenset[Action]] = {
    "kiosk": frozenset({"view_wall"}),
    "viewer": _READ,
    "operator": _OPERATE,
    "admin": _OPERATE | {"edit_targets", "manage_users", "manage_kiosk_links", "view_audit"},
}

Parents = Mapping[str, str | None]  # unit code → its parent's code (None for a province)


@dataclass(frozen=True)
class Principal:
    """Whoever makes a request: ``name`` is a username or ``kiosk:<id>`` (what audit records)."""

    name: str
    role: Role
    scope: str  # a unit code, or COUNTRY


class UnknownAction(ValueError):
    """An action outside ``ACTIONS``: a bug in the caller, never silently refused."""


def may(role: Role, action: Action) -> bool:
    """Whether ``role`` may do ``action``; an action outside the closed set raises ``UnknownAction``."""
    if action not in ACTIONS:
        msg = f"unknown action {action!r}; expected one of {', '.join(ACTIONS)}"
        raise UnknownAction(msg)
    return action in PERMISSIONS.get(role, frozenset())


def parents_of(units: Iterable[Unit]) -> dict[str, str | None]:
    """The parent links of ``units``, as ``in_scope`` and ``visible_units`` read them."""
    return {u.code: u.parent_code for u in units}


def in_scope(scope: str, unit_code: str, parents: Parents) -> bool:
    """Whether ``unit_code`` is ``scope`` or below it. ``VN`` holds every unit (and ``VN``); a unit
    scope never holds ``VN`` nor a code the reference data lacks."""
    if scope == COUNTRY:
        return True
    code: str | None = unit_code
    for _ in range(len(parents) + 1):  # a cycle in bad data ends the walk instead of looping
        if code is None or code not in parents:
            return False
        if code == scope:
            return True
        code = parents[code]
    return False


def visible_units(scope: str, parents: Parents) -> frozenset[str] | None:
    """Every unit code inside ``scope``; None for ``VN`` (everything: filter nothing)."""
    if scope == COUNTRY:
        return None
    return frozenset(code for code in parents if in_scope(scope, code, parents))
