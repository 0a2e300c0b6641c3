"""Reading a boundary file (GeoJSON, Shapefile, GeoPackage): fields, repair, EPSG:4326.

``read`` returns one row per unit code with the columns ``code``, ``name``, ``parent_code``
(``None`` unless a parent field is named) and ``geometry`` (Polygon or MultiPolygon, valid,
2-D, EPSG:4326). It does not check the codes against the unit list, nor simplify.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import shapely
from pyproj import CRS
from pyproj.exceptions import CRSError
from shapely.geometry.base import BaseGeometry

from geo.errors import GeoFileError

WGS84 = CRS.from_epsg(4326)
SUFFIXES = {".geojson": "GeoJSON", ".json": "GeoJSON", ".shp": "Shapefile", ".gpkg": "GeoPackage"}
COLUMNS = ["code", "name", "parent_code", "geometry"]


@dataclass
class ReadResult:
    """A boundary file as one row per unit, and what reading it changed."""

    frame: gpd.GeoDataFrame
    source_crs: str
    repaired: list[str] = field(default_factory=list)  # codes whose geometry was invalid
    merged: list[str] = field(default_factory=list)  # codes spread over several features, now one
    dropped: list[tuple[str, str]] = field(default_factory=list)  # (code or "#row", why)


def read(
    path: Path,
    *,
    code_field: str,
    name_field: str,
    parent_field: str | None = None,
    code_digits: int | None = None,
    crs: str | None = None,
    layer: str | None = None,
) -> ReadResult:
    """Read the units of one level from ``path``.

    Parameters
    ----------
    path
        A ``.geojson``/``.json``, ``.shp`` or ``.gpkg`` file.
    code_field, name_field, parent_field
        The fields holding each unit's official code, its name and (optionally) its parent's code.
    code_digits
        Codes stored as numbers (``1`` or ``1.0`` in a Shapefile) are zero-padded to this length.
    crs
        The CRS to assume when the file declares none (``EPSG:32648``…); a declared one wins.
    layer
        The layer of a GeoPackage holding several.

    Returns
    -------
    ReadResult
        One valid (Multi)Polygon per code in EPSG:4326, with what was repaired, merged, dropped.
    """
    frame = _read_file(path, layer)
    wanted = [f for f in (code_field, name_field, parent_field) if f]
    missing = [f for f in wanted if f not in frame.columns]
    if missing:
        fields = ", ".join(c for c in frame.columns if c != "geometry")
        msg = f"{path}: no field {', '.join(map(repr, missing))}; the file's fields are: {fields}"
        raise GeoFileError(msg)
    source_crs = _source_crs(path, frame, crs)
    frame = frame.set_crs(source_crs, allow_override=True).to_crs(WGS84)
    _check_lon_lat(path, frame, source_crs)

    result = ReadResult(frame=frame, source_crs=source_crs.to_string())
    rows: list[tuple[str, str, str | None, BaseGeometry]] = []
    for i, (code_raw, name_raw, parent_raw, geom) in enumerate(
        zip(
            frame[code_field],
            frame[name_field],
            frame[parent_field] if parent_field else [None] * len(frame),
            frame.geometry,
            strict=True,
        )
    ):
        code = normalise_code(code_raw, code_digits)
        if code is None:
            result.dropped.append((f"#{i + 1}", f"no code in field {code_field!r}"))
            continue
        polygonal, was_invalid = repair(geom)
        if polygonal is None:
            result.dropped.append((code, "no polygon (empty, or not an area)"))
            continue
        if was_invalid:
            result.repaired.append(code)
        name = "" if _missing(name_raw) else str(name_raw).strip()
        rows.append((code, name, normalise_code(parent_raw, None), polygonal))

    result.frame = _one_row_per_code(rows, result)
    return result


def normalise_code(raw: object, digits: int | None) -> str | None:
    """A code as text: ``1``, ``1.0`` or ``"1"`` → ``"01"`` with ``digits=2``; None when absent."""
    if _missing(raw):
        return None
    if isinstance(raw, float | np.floating) and float(raw).is_integer():
        raw = int(raw)
    text = str(raw).strip()
    if not text:
        return None
    if digits is not None and text.isdigit():
        text = text.zfill(digits)
    return text


def repair(geom: BaseGeometry | None) -> tuple[BaseGeometry | None, bool]:
    """The polygonal part of ``geom`` made valid and 2-D, and whether it was invalid."""
    if geom is None or geom.is_empty:
        return None, False
    geom = shapely.force_2d(geom)
    was_invalid = not geom.is_valid
    if was_invalid:
        geom = shapely.make_valid(geom, method="structure", keep_collapsed=False)
    polygons = [
        part
        for part in shapely.get_parts(geom)
        if isinstance(part, shapely.Polygon | shapely.MultiPolygon) and not part.is_empty
    ]
    if not polygons:
        return None, was_invalid
    merged = shapely.union_all(polygons) if len(polygons) > 1 else polygons[0]
    return merged, was_invalid


def _read_file(path: Path, layer: str | None) -> gpd.GeoDataFrame:
    if path.suffix.lower() not in SUFFIXES:
        kinds = ", ".join(f"{kind} ({suffix})" for suffix, kind in SUFFIXES.items())
        msg = f"{path}: expected one of {kinds}, got {path.suffix or 'no suffix'}"
        raise GeoFileError(msg)
    if not path.is_file():
        msg = f"{path}: no such file"
        raise GeoFileError(msg)
    try:
        if layer is None and path.suffix.lower() == ".gpkg":
            layers = [str(name) for name, _kind in pyogrio.list_layers(path)]
            if len(layers) > 1:
                msg = f"{path}: {len(layers)} layers ({', '.join(layers)}); name one with --layer"
                raise GeoFileError(msg)
        return gpd.read_file(path, layer=layer, engine="pyogrio")
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        msg = f"{path}: cannot read: {exc}"
        raise GeoFileError(msg) from None


def _source_crs(path: Path, frame: gpd.GeoDataFrame, crs: str | None) -> CRS:
    if frame.crs is not None:
        return CRS.from_user_input(frame.crs)
    if crs is None:
        msg = f"{path} declares no coordinate reference system; name it, e.g. --crs EPSG:32648"
        raise GeoFileError(msg)
    try:
        return CRS.from_user_input(crs)
    except CRSError:
        msg = f"--crs {crs!r} is not a coordinate reference system pyproj knows (try EPSG:4326)"
        raise GeoFileError(msg) from None


def _check_lon_lat(path: Path, frame: gpd.GeoDataFrame, source_crs: CRS) -> None:
    """Coordinates out of longitude/latitude range: the declared CRS is wrong."""
    if frame.empty:
        return
    x0, y0, x1, y1 = frame.total_bounds
    if not (np.isfinite([x0, y0, x1, y1]).all() and -180 <= x0 <= x1 <= 180 and -90 <= y0 <= y1 <= 90):
        msg = (
            f"{path}: coordinates are not longitude/latitude after reprojection from "
            f"{source_crs.to_string()} (bounds {x0:.6g}, {y0:.6g}, {x1:.6g}, {y1:.6g}); "
            "the file's CRS is wrong: fix its .prj or name the right one with --crs"
        )
        raise GeoFileError(msg)


def _one_row_per_code(
    rows: list[tuple[str, str, str | None, BaseGeometry]], result: ReadResult
) -> gpd.GeoDataFrame:
    """Features sharing a code are parts of one unit: merged, with the first name and parent."""
    by_code: dict[str, list[tuple[str, str, str | None, BaseGeometry]]] = {}
    for row in rows:
        by_code.setdefault(row[0], []).append(row)
    result.merged = sorted(code for code, parts in by_code.items() if len(parts) > 1)
    merged = [
        (
            code,
            parts[0][1],
            parts[0][2],
            shapely.union_all([p[3] for p in parts]) if len(parts) > 1 else parts[0][3],
        )
        for code, parts in by_code.items()
    ]
    columns = {name: [row[i] for row in merged] for i, name in enumerate(COLUMNS)}
    return gpd.GeoDataFrame(columns, geometry="geometry", crs=WGS84)


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float | np.floating) and np.isnan(value))
