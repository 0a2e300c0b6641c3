"""Generalising one level's boundaries for maps, neighbours kept edge to edge.

``simplify`` treats a level as a polygonal coverage: ``shapely.coverage_clean`` first closes
narrow gaps, removes overlaps and makes shared edges identical vertex for vertex; then
``shapely.coverage_simplify`` (Visvalingam-Whyatt on each shared edge once) simplifies every
edge the same way for both neighbours, so no slivers or gaps appear. Coordinates are then
rounded (identical vertices stay identical) and rings oriented the way plotly's SVG choropleth
draws them: exterior clockwise, holes counter-clockwise.

The level's tolerance (``geo.levels.SPECS``) doubles until its GeoJSON fits ``max_bytes``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry.base import BaseGeometry

from geo.errors import GeoDataError
from geo.levels import MAX_LEVEL_BYTES, SPECS, Level
from geo.read import repair

FEATURE_OVERHEAD_BYTES = 300  # id, name and the other properties of one GeoJSON feature
MAX_DOUBLINGS = 10

Geometries = npt.NDArray[np.object_]


@dataclass(frozen=True)
class Simplified:
    """A level's map geometries, in input order, and how they were obtained."""

    geometries: Geometries
    tolerance: float  # the tolerance finally used, degrees
    geojson_bytes: int  # the geometries' GeoJSON plus an allowance for each feature's properties
    vertices_before: int
    vertices_after: int


def simplify(
    geometries: Sequence[BaseGeometry] | Geometries, level: Level, *, max_bytes: int = MAX_LEVEL_BYTES
) -> Simplified:
    """Clean, simplify, round and orient one level's (Multi)Polygons in EPSG:4326.

    Parameters
    ----------
    geometries
        Valid Polygons and MultiPolygons of the units of one level, longitude/latitude.
    level
        Chooses the starting tolerance, the gap width closed and the decimals kept.
    max_bytes
        The most the level's GeoJSON FeatureCollection may weigh.

    Returns
    -------
    Simplified
        One geometry per input, in the same order; Polygon or MultiPolygon, valid.
    """
    arr = np.asarray(geometries, dtype=object)
    if arr.size == 0:
        return Simplified(arr, SPECS[level].tolerance, 0, 0, 0)
    types = set(shapely.get_type_id(arr).tolist())
    if not types <= {3, 6}:
        msg = f"simplify() expects Polygons and MultiPolygons, got geometry type ids {sorted(types)}"
        raise GeoDataError(msg)
    spec = SPECS[level]
    cleaned = shapely.coverage_clean(arr, gap_width=spec.gap_width)
    tolerance = spec.tolerance
    budget = max_bytes - FEATURE_OVERHEAD_BYTES * arr.size
    for _ in range(MAX_DOUBLINGS):
        result = finish(shapely.coverage_simplify(cleaned, tolerance), spec.decimals)
        size = geojson_bytes(result)
        if size <= budget:
            return Simplified(
                result,
                tolerance,
                size + FEATURE_OVERHEAD_BYTES * arr.size,
                int(shapely.get_num_coordinates(arr).sum()),
                int(shapely.get_num_coordinates(result).sum()),
            )
        tolerance *= 2
    msg = f"the {level} level still weighs {size} bytes at tolerance {tolerance / 2:g}°, over {max_bytes}"
    raise GeoDataError(msg)


def finish(geometries: Geometries, decimals: int) -> Geometries:
    """Round coordinates to ``decimals``, repair what rounding broke, orient rings for plotly."""
    rounded = shapely.remove_repeated_points(
        shapely.transform(geometries, lambda xy: np.round(xy, decimals)), tolerance=0.0
    )
    for i in np.flatnonzero(~shapely.is_valid(rounded)):
        fixed, _ = repair(rounded[i])
        rounded[i] = fixed if fixed is not None else geometries[i]
    return np.asarray(shapely.orient_polygons(rounded, exterior_cw=True), dtype=object)


def geojson_bytes(geometries: Geometries) -> int:
    """Bytes of the geometries written as compact GeoJSON."""
    return int(sum(len(text) for text in shapely.to_geojson(geometries)))
