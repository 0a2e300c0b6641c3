"""Unit geometries in PostgreSQL (table ``unit_geometry``, migration 0005): save, load, serve.

Every query of the geography is here. ``save`` upserts rows by (code, valid_from); ``outlines``
loads the geometries of a level in force on a day, as shapely objects, for further geometry
work in Python; ``feature_collection`` is what a map asks for: the units of one level (under
one ancestor, if given) as a GeoJSON FeatureCollection whose features have ``id`` = unit code,
for plotly's ``featureidkey="id"``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import psycopg
import shapely
from psycopg.rows import class_row
from psycopg.types.json import Jsonb
from shapely.geometry.base import BaseGeometry

from geo.errors import GeoDataError
from geo.features import UnitGeometry
from geo.levels import Level

Connection = psycopg.Connection[tuple[object, ...]]
LOCAL_TIMEZONE = ZoneInfo("Asia/Ho_Chi_Minh")

UPSERT = """
INSERT INTO unit_geometry (code, valid_from, valid_to, level, parent_code, name, geometry,
                           label_lon, label_lat, extra_labels, is_sample, source, attribution)
VALUES (%(code)s, %(valid_from)s, %(valid_to)s, %(level)s, %(parent_code)s, %(name)s,
        %(geometry)s::jsonb, %(label_lon)s, %(label_lat)s, %(extra_labels)s, %(is_sample)s,
        %(source)s, %(attribution)s)
ON CONFLICT (code, valid_from) DO UPDATE
   SET valid_to = EXCLUDED.valid_to, level = EXCLUDED.level, parent_code = EXCLUDED.parent_code,
       name = EXCLUDED.name, geometry = EXCLUDED.geometry, label_lon = EXCLUDED.label_lon,
       label_lat = EXCLUDED.label_lat, extra_labels = EXCLUDED.extra_labels,
       is_sample = EXCLUDED.is_sample, source = EXCLUDED.source, attribution = EXCLUDED.attribution,
       loaded_at = now()
"""
SELECT_OUTLINES = """
SELECT code, geometry::text AS geometry
  FROM unit_geometry
 WHERE level = %(level)s AND valid_from <= %(on)s AND (valid_to IS NULL OR valid_to > %(on)s)
 ORDER BY code
"""
# The units of one level in force on a day, all or those under one ancestor (any level up),
# as one FeatureCollection built by the server.
FEATURE_COLLECTION = """
WITH RECURSIVE current AS (
    SELECT * FROM unit_geometry
     WHERE valid_from <= %(on)s AND (valid_to IS NULL OR valid_to > %(on)s)
), below (code) AS (
    SELECT code FROM current WHERE parent_code = %(within)s
    UNION
    SELECT c.code FROM current c JOIN below b ON c.parent_code = b.code
)
SELECT jsonb_build_object(
           'type', 'FeatureCollection',
           'features', COALESCE(jsonb_agg(
               jsonb_build_object(
                   'type', 'Feature',
                   'id', code,
                   'geometry', geometry,
                   'properties', jsonb_build_object(
                       'name', name, 'level', level, 'parent_code', parent_code,
                       'is_sample', is_sample, 'label_lon', label_lon, 'label_lat', label_lat,
                       'labels', extra_labels, 'attribution', attribution))
               ORDER BY code), '[]'::jsonb))
  FROM current
 WHERE level = %(level)s AND (%(within)s::text IS NULL OR code IN (SELECT code FROM below))
"""
SUMMARY = """
SELECT level,
       count(*) FILTER (WHERE valid_from <= %(on)s AND (valid_to IS NULL OR valid_to > %(on)s)) AS in_force,
       count(*) FILTER (WHERE valid_to <= %(on)s) AS history,
       count(*) FILTER (WHERE is_sample) AS samples,
       COALESCE(sum(octet_length(geometry::text))
                    FILTER (WHERE valid_from <= %(on)s AND (valid_to IS NULL OR valid_to > %(on)s)), 0)
           AS geometry_bytes
  FROM unit_geometry
 GROUP BY level
 ORDER BY CASE level WHEN 'province' THEN 0 WHEN 'district' THEN 1 ELSE 2 END
"""
ATTRIBUTIONS = """
SELECT DISTINCT attribution FROM unit_geometry
 WHERE attribution <> '' AND valid_from <= %(on)s AND (valid_to IS NULL OR valid_to > %(on)s)
 ORDER BY attribution
"""


@dataclass(frozen=True)
class LevelSummary:
    """What the table holds for one level."""

    level: str
    in_force: int
    history: int
    samples: int
    geometry_bytes: int  # of the geometries in force, as the server writes jsonb


def save(conn: Connection, rows: Sequence[UnitGeometry]) -> int:
    """Upsert ``rows`` (key: code and valid_from) in one transaction; return how many."""
    params = []
    for row in rows:
        values: dict[str, Any] = asdict(row)
        values["extra_labels"] = Jsonb(
            [{"text": lb.text, "lon": lb.lon, "lat": lb.lat} for lb in row.extra_labels]
        )
        params.append(values)
    try:
        with conn.transaction(), conn.cursor() as cur:
            cur.executemany(UPSERT, params)
    except psycopg.errors.UndefinedTable:
        raise _not_migrated() from None
    return len(params)


def outlines(conn: Connection, level: Level, on: date | None = None) -> dict[str, BaseGeometry]:
    """The geometries of ``level`` in force on ``on`` (default: today in Vietnam), by code."""
    try:
        found = conn.execute(SELECT_OUTLINES, {"level": level, "on": on or today()}).fetchall()
    except psycopg.errors.UndefinedTable:
        raise _not_migrated() from None
    return {str(code): shapely.from_geojson(str(text)) for code, text in found}


def feature_collection(
    conn: Connection, level: Level, within: str | None = None, on: date | None = None
) -> dict[str, Any]:
    """The map of one level: a GeoJSON FeatureCollection, ``id`` = unit code.

    Parameters
    ----------
    level
        The units drawn.
    within
        Only the units under this one (its children, or their children…); None: all of them.
    on
        The day whose geometry is drawn (units in force then); default: today in Vietnam.

    Returns
    -------
    dict
        Features in code order, each with ``properties`` ``name``, ``level``, ``parent_code``,
        ``is_sample``, ``label_lon``/``label_lat`` (where the name goes), ``labels`` (more
        ``{"text", "lon", "lat"}`` to draw, e.g. "Quần đảo Hoàng Sa (Đà Nẵng)") and
        ``attribution``. Exterior rings are clockwise, as plotly's ``go.Choropleth`` needs.
    """
    try:
        found = conn.execute(
            FEATURE_COLLECTION, {"level": level, "within": within, "on": on or today()}
        ).fetchone()
    except psycopg.errors.UndefinedTable:
        raise _not_migrated() from None
    assert found is not None  # an aggregate always returns a row
    collection: dict[str, Any] = found[0]  # type: ignore[assignment]
    return collection


def feature_collection_json(
    conn: Connection, level: Level, within: str | None = None, on: date | None = None
) -> bytes:
    """``feature_collection`` as compact JSON, ready to serve as a static asset."""
    return orjson.dumps(feature_collection(conn, level, within, on))


def summary(conn: Connection, on: date | None = None) -> list[LevelSummary]:
    """Counts and sizes by level."""
    try:
        with conn.cursor(row_factory=class_row(LevelSummary)) as cur:
            return cur.execute(SUMMARY, {"on": on or today()}).fetchall()
    except psycopg.errors.UndefinedTable:
        raise _not_migrated() from None


def attributions(conn: Connection, on: date | None = None) -> list[str]:
    """The attribution lines the licences of the geometries in force ask a map to show."""
    try:
        return [str(r[0]) for r in conn.execute(ATTRIBUTIONS, {"on": on or today()}).fetchall()]
    except psycopg.errors.UndefinedTable:
        raise _not_migrated() from None


def today() -> date:
    """Today in Vietnam."""
    return datetime.now(LOCAL_TIMEZONE).date()


def _not_migrated() -> GeoDataError:
    return GeoDataError("the database has no unit_geometry table: run `ioc db migrate` first")
