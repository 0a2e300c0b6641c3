"""Event objects as message values: compact UTF-8 JSON, with orjson when it is installed.

Both encoders give the same bytes for the simulator's events (strings, integers and
booleans; no floats), so a seed gives byte-identical messages either way.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
from collections.abc import Callable
from typing import Any

_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False)


def _json_dumps(obj: Any) -> bytes:
    return _JSON.encode(obj).encode("utf-8")


def _encoder() -> Callable[[Any], bytes]:
    if importlib.util.find_spec("orjson") is None:
        return _json_dumps
    dumps: Callable[[Any], bytes] = importlib.import_module("orjson").dumps
    return dumps


encode: Callable[[Any], bytes] = _encoder()
"""Encode one JSON object (orjson if installed, else the standard library)."""
