"""Which button of a pattern-matched set was clicked, and how often.

``dash.ctx.triggered`` looks a value up by the component's ID written as JSON text, which misses
IDs holding non-ASCII characters (a target's Vietnamese name, say): its value is then None as if
nothing had been clicked. The clicks are read here from the callback's inputs, by comparing IDs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def clicked(trigger: Any, inputs: Sequence[Any]) -> int | None:
    """The ``n_clicks`` of the component ``trigger`` (``ctx.triggered_id``) among ``inputs``
    (``ctx.inputs_list``); None when it is not there or was never clicked."""
    for entry in inputs:
        for one in entry if isinstance(entry, list) else [entry]:
            if isinstance(one, dict) and one.get("id") == trigger:
                value = one.get("value")
                return value if isinstance(value, int) else None
    return None
