"""Map geometry for the browser: each map (the children of one unit) served once as a static
JSON URL, with the label points the figures need kept in this process.

Geometry never travels inside a figure or a callback: a figure names ``geojson_url(parent)``,
the browser fetches it once (cached for a day, privately: it is served only to a principal whose
scope holds ``parent``, so no shared cache may keep it), and updates carry only values. Geometry
is immutable reference data, so each worker keeps what it has served (a handful of maps).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date

import flask
import orjson

from dashboard import access
from dashboard.data import Data
from dashboard.errors import DatabaseDown, UnknownUnit
from dashboard.reference import COUNTRY
from geo import store as geo_store
from geo.levels import LEVELS, Level
from ioc.errors import IocError

ROUTE = "/geo/<parent>.json"


@dataclass(frozen=True)
class Label:
    code: str
    name: str
    lon: float
    lat: float


@dataclass(frozen=True)
class UnitMap:
    parent: str
    level: Level | None  # None: the parent has no children
    body: bytes  # the FeatureCollection as JSON
    codes: tuple[str, ...]  # features drawn, in order
    labels: tuple[Label, ...]  # one per feature
    extra: tuple[Label, ...]  # more names to write (the archipelagos)
    samples: bool  # some outlines are generated samples
    etag: str

    def only(self, codes: Collection[str]) -> UnitMap:
        """This map with only the features of ``codes`` (same parent, same URL)."""
        collection = orjson.loads(self.body)
        collection["features"] = [f for f in collection["features"] if str(f["id"]) in codes]
        return _unit_map(self.parent, self.level, collection)


def geojson_url(parent: str) -> str:
    return f"/geo/{parent}.json"


class Maps:
    def __init__(self, data: Data) -> None:
        self._data = data
        self._lock = threading.Lock()
        self._maps: dict[tuple[str, date], UnitMap] = {}

    def of(self, parent: str) -> UnitMap:
        """The map of the children of ``parent`` (``COUNTRY``: the provinces)."""
        reference = self._data.reference()
        reference.check(parent)
        key = (parent, reference.on)
        with self._lock:
            found = self._maps.get(key)
        if found is not None:
            return found
        children = reference.children(parent)
        level = reference.units[children[0]].level if children else None
        if level is None or level not in LEVELS:
            collection: dict[str, object] = {"type": "FeatureCollection", "features": []}
        else:
            with self._data.connection() as conn:
                collection = geo_store.feature_collection(
                    conn, level, None if parent == COUNTRY else parent, reference.on
                )
        unit_map = _unit_map(parent, level, collection)
        with self._lock:
            self._maps = {k: v for k, v in self._maps.items() if k[1] == reference.on}
            self._maps[key] = unit_map
        return unit_map

    def seen(self, parent: str) -> UnitMap:
        """The map of ``parent``'s children as the principal may see it: whole when ``parent`` is
        in their scope; else only the children that are (a commune's user sees their commune
        alone, not its neighbours); ``OutOfScope`` when none is."""
        reference = self._data.reference()
        if access.sees(reference, parent):
            return self.of(parent)
        reference.check(parent)
        unit_map = self.of(parent)
        codes = {code for code in unit_map.codes if access.sees(reference, code)}
        if not codes:
            raise access.OutOfScope(access.principal(), parent)
        return unit_map.only(codes)

    def attributions(self) -> list[str]:
        try:
            with self._data.connection() as conn:
                return geo_store.attributions(conn)
        except (IocError, DatabaseDown):
            return []

    def register(self, server: flask.Flask) -> None:
        """Serve each map at ``/geo/<parent>.json``."""

        def serve(parent: str) -> flask.Response:
            try:
                unit_map = self.seen(parent)
            except access.Forbidden:
                flask.abort(403)
            except UnknownUnit:
                flask.abort(404)
            except (DatabaseDown, IocError):
                flask.abort(503)
            if flask.request.if_none_match.contains(unit_map.etag):
                return flask.Response(status=304)
            response = flask.Response(unit_map.body, mimetype="application/geo+json")
            response.set_etag(unit_map.etag)
            response.cache_control.private = True
            response.vary.add("Cookie")  # what a map holds depends on who asks
            response.cache_control.max_age = 86_400
            return response

        server.add_url_rule(ROUTE, "unit_map", serve)


def _unit_map(parent: str, level: Level | None, collection: dict[str, object]) -> UnitMap:
    features = collection.get("features") or []
    assert isinstance(features, list)
    labels: list[Label] = []
    extra: list[Label] = []
    samples = False
    for feature in features:
        props = feature.get("properties") or {}
        code = str(feature["id"])
        labels.append(
            Label(code, str(props.get("name", code)), _float(props, "label_lon"), _float(props, "label_lat"))
        )
        extra.extend(
            Label(code, str(more["text"]), float(more["lon"]), float(more["lat"]))
            for more in props.get("labels") or []
        )
        samples = samples or bool(props.get("is_sample"))
    body = orjson.dumps(collection)
    return UnitMap(
        parent=parent,
        level=level,
        body=body,
        codes=tuple(label.code for label in labels),
        labels=tuple(labels),
        extra=tuple(extra),
        samples=samples,
        etag=hashlib.sha256(body).hexdigest()[:20],
    )


def _float(props: dict[str, object], name: str) -> float:
    value = props.get(name)
    return float(value) if isinstance(value, int | float) else 0.0
