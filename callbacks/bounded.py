"""Dash's own bookkeeping kept bounded on pages left open for days, in the browser.

The renderer's undo history records every tick of every timer (plotly/dash#727, kept for an undo
button this app does not show) and every failed request is kept as an error: a page polling every
2 s would hold a million entries after a few weeks. ``KEEP_BOUNDED`` (a JavaScript function
declaration) cuts both lists to their newest ``DASH_KEEP`` entries (a failing component reverts
to the last one). The wall calls it from its watchdog; ``trim_on`` runs it on every beat of another
page's timer, in the browser alone (no request).
"""

from __future__ import annotations

from string import Template

import dash
from dash import Input

DASH_KEEP = 20  # entries Dash's history and error lists keep
KEEP_BOUNDED = Template("""function keepBounded(state) {
        var past = state && state.history && state.history.past, errors = state && state.error;
        if (past && past.length > $keep) {
            past.splice(0, past.length - $keep);  // oldest first
        }
        [errors && errors.backEnd, errors && errors.frontEnd].forEach(function(newestFirst) {
            if (newestFirst && newestFirst.length > $keep) {
                newestFirst.length = $keep;
            }
        });
    }""").substitute(keep=DASH_KEEP)
TRIM = f"""function(n) {{
    keepBounded(window.store && window.store.getState && window.store.getState());

    {KEEP_BOUNDED}
}}"""


def trim_on(app: dash.Dash, interval: str) -> None:
    """Keep Dash's lists bounded on every beat of the timer ``interval`` (a ``dcc.Interval``'s ID)."""
    app.clientside_callback(  # type: ignore[no-untyped-call]
        TRIM, Input(interval, "n_intervals"), prevent_initial_call=True
    )
