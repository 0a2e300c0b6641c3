"""Quần đảo Hoàng Sa and Quần đảo Trường Sa, shown and labelled as Vietnamese official maps do.

Natural Earth's default worldview leaves both archipelagos outside Vietnam's provinces.
Vietnam's official maps show Quần đảo Hoàng Sa as part of Thành phố Đà Nẵng (code 48) and Quần
đảo Trường Sa as part of Tỉnh Khánh Hòa (code 56), both labelled. ``add_archipelagos`` merges
small outlines of the main islands, at their approximate real positions, into those provinces
as extra polygon parts; ``labels_for`` gives the label a map draws next to each archipelago,
for whichever unit (province, or sample district or commune) holds its islands.

The outlines are symbols, not surveys: octagons of ``ISLAND_RADIUS`` degrees (a few km, far
larger than the real islands so they stay visible on a country map) centred on each island.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import geopandas as gpd
import shapely
from shapely.geometry.base import BaseGeometry

ISLAND_RADIUS = 0.05  # degrees
ISLAND_SIDES = 8


@dataclass(frozen=True)
class Archipelago:
    """An archipelago: the province it belongs to, its label and its main islands."""

    name: str
    province_code: str
    label: str
    label_lon: float
    label_lat: float
    islands: tuple[tuple[str, float, float], ...]  # (name, lon, lat), approximate

    def outline(self) -> BaseGeometry:
        """The islands' symbolic outlines, one (Multi)Polygon."""
        return _outline(self.islands)


HOANG_SA = Archipelago(
    name="Quần đảo Hoàng Sa",
    province_code="48",
    label="Quần đảo Hoàng Sa (Đà Nẵng)",
    label_lon=111.9,
    label_lat=16.2,
    islands=(
        ("Đảo Hoàng Sa", 111.60, 16.53),
        ("Đảo Quang Hòa", 111.71, 16.44),
        ("Đảo Quang Ảnh", 111.51, 16.45),
        ("Đảo Tri Tôn", 111.20, 15.78),
        ("Đảo Bạch Quy", 111.77, 16.05),
        ("Đảo Phú Lâm", 112.34, 16.83),
        ("Đảo Cây", 112.26, 16.98),
        ("Đảo Linh Côn", 112.73, 16.67),
    ),
)
TRUONG_SA = Archipelago(
    name="Quần đảo Trường Sa",
    province_code="56",
    label="Quần đảo Trường Sa (Khánh Hòa)",
    label_lon=113.1,
    label_lat=9.9,
    islands=(
        ("Đảo Song Tử Tây", 114.33, 11.43),
        ("Đảo Thị Tứ", 114.28, 11.05),
        ("Đảo Loại Ta", 114.42, 10.67),
        ("Đảo Ba Bình", 114.36, 10.38),
        ("Đảo Sơn Ca", 114.48, 10.38),
        ("Đảo Nam Yết", 114.37, 10.18),
        ("Đảo Sinh Tồn", 114.33, 9.88),
        ("Đảo Phan Vinh", 113.68, 8.96),
        ("Đảo Trường Sa Đông", 112.35, 8.93),
        ("Đảo Trường Sa", 111.92, 8.64),
        ("Đảo An Bang", 112.92, 7.87),
    ),
)
ARCHIPELAGOS = (HOANG_SA, TRUONG_SA)


@dataclass(frozen=True)
class Label:
    """Text a map draws at a point (longitude, latitude)."""

    text: str
    lon: float
    lat: float


def add_archipelagos(provinces: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """``provinces`` with each archipelago merged into its province's geometry.

    Parameters
    ----------
    provinces
        Province outlines with columns ``code`` and ``geometry``, EPSG:4326. A province whose
        geometry already reaches its archipelago (an official boundary file) is left as it is;
        a province missing from the frame is skipped.

    Returns
    -------
    geopandas.GeoDataFrame
        A copy; the provinces holding an archipelago have MultiPolygon geometries.
    """
    if provinces.crs is not None and not provinces.crs.equals("EPSG:4326"):
        msg = f"'provinces' should be in EPSG:4326, got {provinces.crs}; use to_crs(4326) first"
        raise ValueError(msg)
    result = provinces.copy()
    for archipelago in ARCHIPELAGOS:
        rows = result.index[result["code"] == archipelago.province_code]
        outline = archipelago.outline()
        for row in rows:
            geom = result.at[row, "geometry"]
            if not geom.intersects(outline.envelope):
                result.at[row, "geometry"] = shapely.union(geom, outline)
    return result


def labels_for(geometry: BaseGeometry) -> list[Label]:
    """The archipelago labels a unit with this geometry carries (those whose islands it holds)."""
    return [
        Label(a.label, a.label_lon, a.label_lat) for a in ARCHIPELAGOS if geometry.intersects(a.outline())
    ]


def archipelago_of(geometry: BaseGeometry) -> Archipelago | None:
    """The archipelago whose islands ``geometry`` (say, one island) touches, if any."""
    for archipelago in ARCHIPELAGOS:
        if geometry.intersects(archipelago.outline()):
            return archipelago
    return None


@cache
def _outline(islands: tuple[tuple[str, float, float], ...]) -> BaseGeometry:
    return shapely.union_all([_octagon(lon, lat) for _name, lon, lat in islands])


def _octagon(lon: float, lat: float) -> BaseGeometry:
    return shapely.Point(lon, lat).buffer(ISLAND_RADIUS, quad_segs=ISLAND_SIDES // 4)
