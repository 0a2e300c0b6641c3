"""Components as the JSON Dash sends them, for the large parts of frequent callback answers.

Dash writes a callback's answer with plotly's JSON writer. orjson writes plain data in one call,
but an answer holding components or patches is first walked in Python, part by part, to turn them
into plain data; building the components costs as much again. For the operator's map update on a
cache hit that was most of its time (a country's ranked table alone has over 200 cells). Built
here as plain data from the start, such an answer is written by orjson directly. The JSON is what
the components' ``to_plotly_json()`` gives (props left out rather than ``None``).
"""

from __future__ import annotations

from typing import Any

Json = dict[str, Any]


def html(tag: str, children: Any = None, **props: Any) -> Json:
    """``dash.html.<tag>(children, **props)`` as plain data (props named as Dash names them)."""
    return _component("dash_html_components", tag, children, props)


def bootstrap(tag: str, children: Any = None, **props: Any) -> Json:
    """``dash_bootstrap_components.<tag>(children, **props)`` as plain data."""
    return _component("dash_bootstrap_components", tag, children, props)


def _component(namespace: str, tag: str, children: Any, props: dict[str, Any]) -> Json:
    kept = {name: value for name, value in props.items() if value is not None}
    return {"type": tag, "namespace": namespace, "props": {"children": children, **kept}}
