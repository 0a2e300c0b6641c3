"""Sample district and commune outlines inside real province outlines, the same for the same seed.

No openly licensed district or commune boundaries exist for Vietnam, so the default set's
sample units (``refdata.sample``: "Huyện mẫu 1 (Hà Nội)", "Xã mẫu 1.1 (Hà Nội)", flagged
``is_sample``) get generated outlines: each parent's outline is cut into as many cells as it
has sample children, Voronoi cells of seeded points relaxed towards equal sizes (Lloyd's
algorithm), clipped to the parent. Children tile their parent: together they cover it, and
neighbours share edges. Districts come first, then communes inside them; a commune whose
parent is a province (a geography without districts, as from 1/7/2025) is cut from the
province directly.

Detached parts of a parent much smaller than its largest part (islands) are not cut: each goes
whole to the child whose seed is nearest, and an archipelago (``geo.islands``) goes whole to
the child nearest its label. The first child in code order is the northernmost.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date

import geopandas as gpd
import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from geo.errors import GeoDataError
from geo.islands import archipelago_of
from geo.levels import Level
from geo.read import WGS84, repair
from refdata.model import Unit

SEED = 2025
LLOYD_ROUNDS = 4
SMALL_PART_SHARE = 0.05  # a detached part under this share of the largest part is not cut
CHILD_LEVELS: tuple[Level, ...] = ("district", "commune")
COLUMNS = ["code", "name", "level", "parent_code", "valid_from", "valid_to", "geometry"]


def sample_outlines(
    parents: Mapping[str, BaseGeometry], units: Iterable[Unit], seed: int = SEED
) -> gpd.GeoDataFrame:
    """Outlines for the sample districts and communes among ``units``.

    Parameters
    ----------
    parents
        Outlines of the units the samples descend from (the provinces), by code, EPSG:4326.
    units
        The unit list; only units flagged ``is_sample`` below province level get outlines.
    seed
        The same seed, parents and units give the same outlines.

    Returns
    -------
    geopandas.GeoDataFrame
        ``code``, ``name``, ``level``, ``parent_code``, ``valid_from``, ``valid_to``,
        ``geometry``; districts first, then communes, each in code order.
    """
    samples = sorted(
        (u for u in units if u.is_sample and u.level in CHILD_LEVELS),
        key=lambda u: (CHILD_LEVELS.index(u.level), u.code),
    )
    outlines = dict(parents)
    rows: list[tuple[str, str, str, str | None, date, date | None, BaseGeometry]] = []
    for level in CHILD_LEVELS:
        by_parent: dict[str, list[Unit]] = {}
        for unit in samples:
            if unit.level == level and unit.parent_code is not None:
                by_parent.setdefault(unit.parent_code, []).append(unit)
        orphans = sorted(code for code in by_parent if code not in outlines)
        if orphans:
            msg = (
                f"no outline for {', '.join(orphans)}, parents of sample {level}s: load their geometry first"
            )
            raise GeoDataError(msg)
        for parent_code, children in sorted(by_parent.items()):
            rng = np.random.default_rng([seed, int(parent_code)])
            cells = split(outlines[parent_code], len(children), rng)
            for unit, cell in zip(children, cells, strict=True):
                outlines[unit.code] = cell
                rows.append((unit.code, unit.name, level, parent_code, unit.valid_from, unit.valid_to, cell))
    columns = {name: [row[i] for row in rows] for i, name in enumerate(COLUMNS)}
    return gpd.GeoDataFrame(columns, geometry="geometry", crs=WGS84)


def split(outline: BaseGeometry, n: int, rng: np.random.Generator) -> list[BaseGeometry]:
    """``outline`` cut into ``n`` (Multi)Polygons that tile it, north to south."""
    if n < 1:
        msg = f"split() needs n >= 1, got {n}"
        raise ValueError(msg)
    if n == 1:
        return [outline]
    parts = list(shapely.get_parts(outline))
    largest = max(p.area for p in parts)
    mainland = shapely.union_all([p for p in parts if p.area >= SMALL_PART_SHARE * largest])
    seeds = _seed_points(mainland, n, rng)
    for _ in range(LLOYD_ROUNDS):
        seeds = _relaxed(_cells(seeds, mainland), seeds, mainland)
    cells = list(_cells(seeds, mainland))
    for part in parts:
        if part.area < SMALL_PART_SHARE * largest:
            archipelago = archipelago_of(part)
            anchor = (
                shapely.Point(archipelago.label_lon, archipelago.label_lat)
                if archipelago is not None
                else part.representative_point()
            )
            nearest = int(np.argmin(np.hypot(seeds[:, 0] - anchor.x, seeds[:, 1] - anchor.y)))
            cells[nearest] = shapely.union(cells[nearest], part)
    order = np.lexsort((seeds[:, 0], -seeds[:, 1]))
    result = []
    for i in order:
        polygonal, _ = repair(cells[i])
        if polygonal is None:
            msg = f"a sample cell came out empty (seed {seeds[i].tolist()})"
            raise GeoDataError(msg)
        result.append(polygonal)
    return result


def _seed_points(area: BaseGeometry, n: int, rng: np.random.Generator) -> np.ndarray:
    x0, y0, x1, y1 = area.bounds
    found = np.empty((0, 2))
    while len(found) < n:
        batch = rng.uniform((x0, y0), (x1, y1), size=(4 * n, 2))
        found = np.vstack([found, batch[shapely.contains_xy(area, batch[:, 0], batch[:, 1])]])
    return found[:n]


def _cells(seeds: np.ndarray, area: BaseGeometry) -> np.ndarray:
    """Voronoi cells of ``seeds``, in seed order, clipped to ``area``."""
    frame = shapely.box(*area.bounds).buffer(1.0)
    cells = shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=frame, ordered=True)
    return np.asarray(shapely.intersection(shapely.get_parts(cells), area), dtype=object)


def _relaxed(cells: np.ndarray, seeds: np.ndarray, area: BaseGeometry) -> np.ndarray:
    """Lloyd's step: each seed moves to its cell's centroid, or stays when that leaves ``area``."""
    moved = seeds.copy()
    for i, cell in enumerate(cells):
        if cell.is_empty:
            continue
        centroid = cell.centroid
        if area.contains(centroid):
            moved[i] = (centroid.x, centroid.y)
    return moved
