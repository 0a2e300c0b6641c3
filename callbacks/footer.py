"""The footer's status kept true on an open page, by the answers of the page's own timer (no
request of its own): Redis answered its poll or not, and the database's reachability and latest
event as the wall's tick reads them, or, on the other pages, as ``Data.status`` reads them once for
every page of the process (when the data version moves, else every ``FRESHNESS_TTL_S``). The same
verdict as ``/healthz``, sent only when it changed."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from dash import Output, State, no_update

from dashboard import i18n
from dashboard.data import Data, Poll
from dashboard.health import Status
from layouts import common, ids

OUTPUTS = (
    Output(ids.STATUS, "children", allow_duplicate=True),
    Output(ids.STATUS, "className", allow_duplicate=True),
)
SHOWN = State(ids.STATUS, "className")


def update(status: Status, lang: str | None, shown: str | None) -> tuple[Any, Any]:
    """The footer's text and class for ``status``, or no update when it already says so."""
    css = common.status_class(status)
    if css == shown:
        return no_update, no_update
    return common.status_text(status, i18n.lang_of(lang)), css


def follow(data: Data, beat: Poll, lang: str | None, shown: str | None) -> tuple[Any, Any]:
    """``update`` for the status as of this poll's ``beat`` (what a page's timer sends)."""
    return update(data.status(beat, datetime.now(UTC)), lang, shown)
