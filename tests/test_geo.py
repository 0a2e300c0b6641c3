"""Geography without a database: reading, repair, reprojection, coverage simplification,
parents by spatial join, the archipelagos, and the sample outlines."""

from __future__ import annotations

import dataclasses
from functools import cache
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from geopandas.testing import assert_geodataframe_equal

from geo.errors import GeoFileError
from geo.features import label_point
from geo.islands import HOANG_SA, TRUONG_SA, add_archipelagos
from geo.levels import MAX_LEVEL_BYTES
from geo.load import PROVINCES_2025, default_dir
from geo.parents import derive_parents
from geo.read import read
from geo.sample import sample_outlines
from geo.simplify import simplify
from refdata import files
from refdata.model import Unit

WGS84 = "EPSG:4326"


@cache
def provinces() -> gpd.GeoDataFrame:
    return read(default_dir() / PROVINCES_2025, code_field="code", name_field="name", code_digits=2).frame


@cache
def default_units() -> tuple[Unit, ...]:
    return files.read_dir(files.default_dir()).units


@cache
def province_outlines() -> dict[str, shapely.Geometry]:
    frame = add_archipelagos(provinces())
    return dict(zip(frame["code"], simplify(frame.geometry.to_numpy(), "province").geometries, strict=True))


def frame(rows: list[tuple[str, str, shapely.Geometry]], crs: str = WGS84) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"ma": [r[0] for r in rows], "ten": [r[1] for r in rows]}, geometry=[r[2] for r in rows], crs=crs
    )


def assert_tiles(
    parts: np.ndarray | list[shapely.Geometry], whole: shapely.Geometry, rel: float = 1e-6
) -> None:
    """``parts`` cover ``whole`` without overlaps or gaps (areas within ``rel``)."""
    areas = shapely.area(np.asarray(parts, dtype=object))
    union = shapely.union_all(parts)
    assert areas.sum() == pytest.approx(union.area, rel=rel)  # no overlaps
    assert union.area == pytest.approx(whole.area, rel=rel)  # no gaps, nothing outside
    assert shapely.symmetric_difference(union, whole).area < rel * whole.area


def assert_clockwise(geometry: shapely.Geometry) -> None:
    for polygon in shapely.get_parts(geometry):
        assert not polygon.exterior.is_ccw
        assert all(ring.is_ccw for ring in polygon.interiors)


# Reading


def test_an_invalid_geometry_is_repaired_and_reported(tmp_path: Path):
    bowtie = shapely.Polygon([(105, 21), (106, 22), (106, 21), (105, 22), (105, 21)])
    good = shapely.box(106, 21, 107, 22)
    path = tmp_path / "units.geojson"
    frame([("1", "Bow", bowtie), ("2", "Box", good)]).to_file(path)
    result = read(path, code_field="ma", name_field="ten", code_digits=2)
    assert result.repaired == ["01"]
    assert list(result.frame["code"]) == ["01", "02"]
    assert result.frame.is_valid.all()
    assert result.frame.geometry.iloc[0].area == pytest.approx(0.5)  # both triangles kept


@pytest.mark.parametrize(("epsg", "suffix"), [(32648, ".shp"), (3405, ".gpkg")])
def test_projected_files_are_reprojected_to_lon_lat(tmp_path: Path, epsg: int, suffix: str):
    boxes = frame(
        [
            ("01", "Một", shapely.box(105.0, 20.5, 105.5, 21.0)),
            ("02", "Hai", shapely.box(105.5, 20.5, 106, 21)),
        ]
    )
    path = tmp_path / f"units{suffix}"
    boxes.to_crs(epsg).to_file(path)
    result = read(path, code_field="ma", name_field="ten")
    assert result.source_crs == f"EPSG:{epsg}"
    assert result.frame.crs.to_epsg() == 4326
    assert np.allclose(result.frame.total_bounds, [105.0, 20.5, 106.0, 21.0], atol=1e-6)


def test_a_file_without_crs_needs_one_named(tmp_path: Path):
    path = tmp_path / "units.shp"
    frame([("01", "Một", shapely.box(105.0, 20.5, 105.5, 21.0))]).to_crs(32648).to_file(path)
    path.with_suffix(".prj").unlink()
    with pytest.raises(GeoFileError, match=r"declares no coordinate reference system.*--crs"):
        read(path, code_field="ma", name_field="ten")
    result = read(path, code_field="ma", name_field="ten", crs="EPSG:32648")
    assert np.allclose(result.frame.total_bounds, [105.0, 20.5, 105.5, 21.0], atol=1e-6)


def test_a_missing_field_names_the_fields_there_are(tmp_path: Path):
    path = tmp_path / "units.geojson"
    frame([("01", "Một", shapely.box(105, 20, 106, 21))]).to_file(path)
    with pytest.raises(GeoFileError, match=r"no field 'code'; the file's fields are: ma, ten"):
        read(path, code_field="code", name_field="ten")


def test_numeric_codes_are_padded_and_parts_of_one_code_merged(tmp_path: Path):
    path = tmp_path / "units.gpkg"
    gpd.GeoDataFrame(
        {"ma": [1, 1, 2], "ten": ["Một", "Một", "Hai"]},
        geometry=[shapely.box(0, 0, 1, 1), shapely.box(2, 0, 3, 1), shapely.box(1, 0, 2, 1)],
        crs=WGS84,
    ).to_file(path)
    result = read(path, code_field="ma", name_field="ten", code_digits=3)
    assert sorted(result.frame["code"]) == ["001", "002"]
    assert result.merged == ["001"]
    one = result.frame[result.frame["code"] == "001"].geometry.iloc[0]
    assert one.geom_type == "MultiPolygon"
    assert one.area == pytest.approx(2)


# Simplification


def test_simplified_provinces_still_tile_and_neighbours_share_edges():
    original = provinces().geometry.to_numpy()
    result = simplify(original, "province")
    simplified = result.geometries
    assert result.vertices_after < result.vertices_before
    assert bool(shapely.coverage_is_valid(simplified))
    assert all(shapely.is_valid(simplified))
    assert_tiles(simplified, shapely.union_all(simplified))
    # The country keeps its area, and no gap opens inside it.
    assert shapely.union_all(simplified).area == pytest.approx(shapely.union_all(original).area, rel=0.005)
    holes_before = sum(len(p.interiors) for g in original for p in shapely.get_parts(g))
    holes_after = sum(len(p.interiors) for p in shapely.get_parts(shapely.union_all(simplified)))
    assert holes_after <= holes_before
    # Neighbours before are neighbours after, along a shared edge (not a point).
    tree = shapely.STRtree(original)
    left, right = tree.query(original, predicate="touches")
    pairs = [(i, j) for i, j in zip(left, right, strict=True) if i < j]
    shared = [shapely.intersection(original[i], original[j]).length for i, j in pairs]
    for (i, j), length in zip(pairs, shared, strict=True):
        if length > 0.05:
            assert shapely.intersection(simplified[i], simplified[j]).length > 0, (i, j)
            assert shapely.intersection(simplified[i], simplified[j]).area < 1e-9
    assert result.geojson_bytes < MAX_LEVEL_BYTES
    for geometry in simplified:
        assert_clockwise(geometry)
        coords = shapely.get_coordinates(geometry)
        assert np.array_equal(coords, np.round(coords, 4))


def test_gaps_and_overlaps_between_neighbours_are_cleaned():
    # Three boxes: the second overlaps the first by 0.0002°, the third leaves a 0.0001° gap.
    boxes = [shapely.box(0, 0, 1, 1), shapely.box(0.9998, 0, 2, 1), shapely.box(2.0001, 0, 3, 1)]
    result = simplify(boxes, "district")
    assert bool(shapely.coverage_is_valid(result.geometries))
    assert_tiles(result.geometries, shapely.box(0, 0, 3, 1), rel=1e-4)


def test_tolerance_grows_until_the_level_fits_its_budget():
    original = provinces().geometry.to_numpy()
    roomy = simplify(original, "province")
    tight = simplify(original, "province", max_bytes=60_000)
    assert tight.tolerance > roomy.tolerance
    assert tight.geojson_bytes <= 60_000
    assert bool(shapely.coverage_is_valid(tight.geometries))


# Parents


def test_parents_are_derived_by_spatial_join():
    parents = gpd.GeoDataFrame(
        {"code": ["01", "02"]}, geometry=[shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1)], crs=WGS84
    )
    children = gpd.GeoDataFrame(
        {"code": ["001", "002", "003", "004"]},
        geometry=[
            shapely.box(0.1, 0.1, 0.5, 0.5),  # inside 01
            shapely.box(1.2, 0.2, 1.9, 0.9),  # inside 02
            shapely.box(0.9, 0.0, 1.6, 1.0),  # mostly in 02
            shapely.box(5, 5, 6, 6),  # nowhere
        ],
        crs=WGS84,
    )
    assert derive_parents(children, parents) == ["01", "02", "02", None]
    # A coastline drawn wider than the parent's: the representative point may be at sea.
    wide = gpd.GeoDataFrame({"code": ["005"]}, geometry=[shapely.box(1.5, -3, 2.2, 0.5)], crs=WGS84)
    assert derive_parents(wide, parents) == ["02"]
    with pytest.raises(ValueError, match="share a CRS"):
        derive_parents(children.to_crs(32648), parents)


# Hoàng Sa and Trường Sa


def test_the_archipelagos_are_parts_of_da_nang_and_khanh_hoa():
    merged = add_archipelagos(provinces()).set_index("code")
    for archipelago, code in ((HOANG_SA, "48"), (TRUONG_SA, "56")):
        geometry = merged.geometry[code]
        assert geometry.geom_type == "MultiPolygon"
        for _name, lon, lat in archipelago.islands:
            assert geometry.contains(shapely.Point(lon, lat))
        others = merged.drop(index=code).geometry
        assert not others.intersects(archipelago.outline()).any()
    assert merged.geometry["48"].contains(shapely.Point(111.6, 16.5))  # Hoàng Sa ~16.5°N 111.6°E
    # The label of the province stays on the mainland, the archipelago gets its own.
    lon, lat = label_point(merged.geometry["48"])
    assert lon < 109
    # Twice is the same as once; an official file already holding the islands is left alone.
    again = add_archipelagos(merged.reset_index())
    assert_geodataframe_equal(again.set_index("code"), merged)


# Sample outlines


def test_sample_outlines_tile_each_parent_and_come_from_the_seed():
    outlines = province_outlines()
    units = default_units()
    first = sample_outlines(outlines, units, seed=7)
    assert_geodataframe_equal(first, sample_outlines(outlines, units, seed=7))
    other = sample_outlines(outlines, units, seed=8)
    assert not first.geometry.geom_equals(other.geometry).all()

    samples = {u.code: u for u in units if u.is_sample}
    assert set(first["code"]) == set(samples)
    assert all(first["parent_code"] == [samples[c].parent_code for c in first["code"]])
    assert not first.geometry.is_empty.any()
    assert first.is_valid.all()
    everything = {**outlines, **dict(zip(first["code"], first.geometry, strict=True))}
    for parent_code, children in first.groupby("parent_code"):
        assert_tiles(list(children.geometry), everything[parent_code], rel=1e-6)

    for level in ("district", "commune"):
        result = simplify(first[first["level"] == level].geometry.to_numpy(), level)
        assert bool(shapely.coverage_is_valid(result.geometries))
        assert result.geojson_bytes < MAX_LEVEL_BYTES
        assert_tiles(result.geometries, shapely.union_all(list(outlines.values())), rel=1e-4)

    # Hoàng Sa goes whole to one district of Đà Nẵng.
    districts_48 = first[(first["level"] == "district") & (first["parent_code"] == "48")]
    holding = districts_48[districts_48.intersects(HOANG_SA.outline())]
    assert len(holding) == 1
    held = shapely.intersection(holding.geometry.iloc[0], HOANG_SA.outline()).area
    assert held == pytest.approx(HOANG_SA.outline().area, rel=1e-3)


def test_a_two_level_sample_cuts_communes_from_provinces():
    outlines = province_outlines()
    units = default_units()
    district_parent = {u.code: u.parent_code for u in units if u.level == "district"}
    two_level = [
        dataclasses.replace(u, parent_code=district_parent[u.parent_code]) if u.level == "commune" else u
        for u in units
        if u.level != "district"
        and (u.parent_code in ("01", "48", None) or district_parent.get(u.parent_code or "") in ("01", "48"))
    ]
    result = sample_outlines(outlines, two_level)
    assert set(result["level"]) == {"commune"}
    assert set(result["parent_code"]) == {"01", "48"}
    for parent_code, children in result.groupby("parent_code"):
        assert_tiles(list(children.geometry), outlines[parent_code])
    names = sorted(result[result["parent_code"] == "01"]["name"])
    assert all("mẫu" in name for name in names)
