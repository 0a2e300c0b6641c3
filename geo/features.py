"""Turning one level's simplified geometries into the rows the store keeps.

Each row carries its GeoJSON geometry (as ``geo.simplify`` left it: rounded, exterior rings
clockwise), a label point well inside the unit's largest part, and the extra labels of the
archipelagos it holds (``geo.islands``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import shapely
from shapely.geometry.base import BaseGeometry

from geo.islands import Label, labels_for
from geo.levels import Level

LABEL_DECIMALS = 4


@dataclass(frozen=True)
class UnitGeometry:
    """One unit's map geometry over one period, as the table ``unit_geometry`` holds it."""

    code: str
    valid_from: date
    valid_to: date | None  # exclusive; None while in force
    level: Level
    parent_code: str | None
    name: str
    geometry: str  # GeoJSON (Multi)Polygon, EPSG:4326, exterior rings clockwise
    label_lon: float
    label_lat: float
    extra_labels: tuple[Label, ...]
    is_sample: bool
    source: str
    attribution: str


@dataclass(frozen=True)
class UnitInfo:
    """What a row needs besides its geometry."""

    code: str
    name: str
    parent_code: str | None
    valid_from: date
    valid_to: date | None = None


def unit_geometries(
    units: Sequence[UnitInfo],
    geometries: Sequence[BaseGeometry],
    level: Level,
    *,
    source: str,
    attribution: str = "",
    is_sample: bool = False,
) -> list[UnitGeometry]:
    """Rows for ``units`` with their ``geometries`` (same order), all of one level."""
    if len(units) != len(geometries):
        msg = f"expected one geometry per unit, got {len(geometries)} for {len(units)} units"
        raise ValueError(msg)
    rows = []
    for unit, geom in zip(units, geometries, strict=True):
        lon, lat = label_point(geom)
        rows.append(
            UnitGeometry(
                code=unit.code,
                valid_from=unit.valid_from,
                valid_to=unit.valid_to,
                level=level,
                parent_code=unit.parent_code,
                name=unit.name,
                geometry=shapely.to_geojson(geom),
                label_lon=lon,
                label_lat=lat,
                extra_labels=tuple(labels_for(geom)),
                is_sample=is_sample,
                source=source,
                attribution=attribution,
            )
        )
    return rows


def label_point(geometry: BaseGeometry) -> tuple[float, float]:
    """(lon, lat) of the centre of the largest circle inside the largest part of ``geometry``."""
    largest = max(shapely.get_parts(geometry), key=lambda part: part.area)
    tolerance = max(largest.area**0.5 / 200, 1e-6)
    centre = shapely.get_point(shapely.maximum_inscribed_circle(largest, tolerance), 0)
    return round(centre.x, LABEL_DECIMALS), round(centre.y, LABEL_DECIMALS)
