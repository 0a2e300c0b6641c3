"""gzip for what the dashboard sends: scripts, styles, map geometry, layouts and callback answers.

plotly.js alone is about 4.6 MB; gzipped it is about a third of that, which is what makes a
first load of the wall display fit a closed network's budget. Static files are fingerprinted
by Dash (version or modification time in their URL), so each worker compresses each of them
once and keeps the result; dynamic answers are compressed on the fly (level 5: fast).
"""

from __future__ import annotations

import gzip
import threading

import flask

COMPRESSIBLE = frozenset(
    {
        "application/javascript",
        "text/javascript",
        "text/css",
        "application/json",
        "application/geo+json",
        "text/html",
        "image/svg+xml",
    }
)
MIN_BYTES = 1024
STATIC_PREFIXES = ("/_dash-component-suites/", "/assets/", "/geo/")
MAX_CACHED = 64


def init_app(server: flask.Flask) -> None:
    cache: dict[str, bytes] = {}
    lock = threading.Lock()

    @server.after_request
    def compress(response: flask.Response) -> flask.Response:
        request = flask.request
        if (
            response.status_code != 200
            or "gzip" not in request.headers.get("Accept-Encoding", "")
            or response.mimetype not in COMPRESSIBLE
            or "Content-Encoding" in response.headers
        ):
            return response
        response.direct_passthrough = False
        data = response.get_data()
        if len(data) < MIN_BYTES:
            return response
        static = request.path.startswith(STATIC_PREFIXES)
        key = f"{request.full_path}#{len(data)}"
        with lock:
            packed = cache.get(key) if static else None
        if packed is None:
            packed = gzip.compress(data, compresslevel=6 if static else 5)
            if static:
                with lock:
                    if len(cache) >= MAX_CACHED:
                        cache.pop(next(iter(cache)))
                    cache[key] = packed
        response.set_data(packed)
        response.headers["Content-Encoding"] = "gzip"
        response.headers["Content-Length"] = str(len(packed))
        response.vary.add("Accept-Encoding")
        return response
