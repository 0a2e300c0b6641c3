"""Geography in the database: the table of migration 0005 on TimescaleDB and plain PostgreSQL,
the default geography, ``import_file`` with its report, and the ``ioc geo`` command."""

from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path

import geopandas as gpd
import psycopg
import pytest
import shapely

import store
from geo import store as geo_store
from geo.errors import GeoDataError
from geo.features import UnitInfo, unit_geometries
from geo.imports import import_file
from geo.islands import HOANG_SA, TRUONG_SA
from geo.levels import MAX_LEVEL_BYTES
from geo.load import PROVINCES_2025, default_dir, load_default, load_sample
from refdata import db as refdata_db
from refdata import files
from tests.test_cli import ioc

Connection = psycopg.Connection[tuple[object, ...]]
TODAY = date(2026, 3, 2)
START = date(2025, 7, 1)


def with_default_units(conn: Connection) -> None:
    refdata_db.save(conn, files.read_dir(files.default_dir()), today=TODAY)


@pytest.fixture
def geography(timescale_url: str):
    """A migrated database holding the default units and the default geography."""
    with store.connect(timescale_url, autocommit=True) as conn:
        store.migrate(conn)
        with_default_units(conn)
        report = load_default(conn)
        yield conn, report


def clockwise(geometry: dict) -> bool:
    shape = shapely.geometry.shape(geometry)
    return all(not p.exterior.is_ccw and all(r.is_ccw for r in p.interiors) for p in shapely.get_parts(shape))


def test_geometries_round_trip_on_both_servers(migrated: Connection):
    rows = unit_geometries(
        [
            UnitInfo("01", "Thành phố Hà Nội", None, START),
            UnitInfo("001", "Huyện mẫu 1 (Hà Nội)", "01", START),
            UnitInfo("90001", "Xã mẫu 1.1 (Hà Nội)", "001", START),
            UnitInfo("02", "Tỉnh Hà Giang", None, date(2008, 8, 1), START),
        ],
        [
            shapely.box(105, 20, 106, 21),
            shapely.box(105, 20, 105.5, 21),
            shapely.box(105, 20, 105.2, 21),
            shapely.box(104, 22, 105, 23),
        ],
        "province",
        source="test",
    )
    rows = [
        rows[0],
        dataclasses.replace(rows[1], level="district"),
        dataclasses.replace(rows[2], level="commune"),
        rows[3],
    ]
    assert geo_store.save(migrated, rows) == 4
    assert geo_store.save(migrated, rows) == 4  # an upsert: saving again changes nothing

    provinces = geo_store.feature_collection(migrated, "province", on=TODAY)
    assert [f["id"] for f in provinces["features"]] == ["01"]
    feature = provinces["features"][0]
    assert feature["properties"]["name"] == "Thành phố Hà Nội"
    assert feature["geometry"]["type"] == "Polygon"
    assert shapely.geometry.shape(feature["geometry"]).equals(shapely.box(105, 20, 106, 21))
    before = geo_store.feature_collection(migrated, "province", on=date(2020, 1, 1))
    assert [f["id"] for f in before["features"]] == ["02"]
    # Under an ancestor: its children, and their children.
    assert [f["id"] for f in geo_store.feature_collection(migrated, "commune", "01", TODAY)["features"]] == [
        "90001"
    ]
    assert [f["id"] for f in geo_store.feature_collection(migrated, "commune", "001", TODAY)["features"]] == [
        "90001"
    ]
    assert geo_store.feature_collection(migrated, "commune", "02", TODAY)["features"] == []
    with pytest.raises(psycopg.errors.CheckViolation):
        migrated.execute(
            "INSERT INTO unit_geometry (code, valid_from, level, name, geometry, label_lon, label_lat,"
            " source) VALUES ('003', '2025-07-01', 'district', 'x', '{\"type\": \"Point\"}', 0, 0, 's')"
        )


def test_the_default_geography(geography):
    conn, report = geography
    assert [(lv.level, lv.saved) for lv in report.levels] == [
        ("province", 34),
        ("province", 63),
        ("district", 224),
        ("commune", 1252),
    ]
    assert report.rejected == []
    sizes = {}
    for level, count in (("province", 34), ("district", 224), ("commune", 1252)):
        collection = geo_store.feature_collection(conn, level, on=TODAY)
        assert len(collection["features"]) == count
        sizes[level] = len(geo_store.feature_collection_json(conn, level, on=TODAY))
        assert sizes[level] < MAX_LEVEL_BYTES
        assert all(clockwise(f["geometry"]) for f in collection["features"])
        assert all(f["properties"]["is_sample"] == (level != "province") for f in collection["features"])
    assert len(geo_store.feature_collection(conn, "province", on=date(2020, 1, 1))["features"]) == 63

    provinces = {f["id"]: f for f in geo_store.feature_collection(conn, "province", on=TODAY)["features"]}
    for archipelago in (HOANG_SA, TRUONG_SA):
        feature = provinces[archipelago.province_code]
        shape = shapely.geometry.shape(feature["geometry"])
        assert shape.intersection(archipelago.outline()).area == pytest.approx(
            archipelago.outline().area, rel=1e-3
        )
        assert feature["properties"]["labels"] == [
            {"text": archipelago.label, "lon": archipelago.label_lon, "lat": archipelago.label_lat}
        ]
    assert "Hoàng Sa (Đà Nẵng)" in provinces["48"]["properties"]["labels"][0]["text"]

    hanoi = geo_store.feature_collection(conn, "commune", "01", TODAY)["features"]
    assert len(hanoi) == sum(
        1
        for u in files.read_dir(files.default_dir()).units
        if u.name.endswith("(Hà Nội)") and u.level == "commune"
    )
    assert geo_store.attributions(conn, TODAY) == ["Made with Natural Earth"]
    summary = {s.level: s for s in geo_store.summary(conn, TODAY)}
    assert summary["province"].history == 63
    assert summary["commune"].samples == 1252

    # The same seed draws the same outlines again.
    before = geo_store.feature_collection_json(conn, "commune", on=TODAY)
    load_sample(conn)
    assert geo_store.feature_collection_json(conn, "commune", on=TODAY) == before


def districts_file(conn: Connection, path: Path) -> None:
    """Districts of Hà Nội as a user's file would hold them, plus two that do not belong."""
    collection = geo_store.feature_collection(conn, "district", "01", TODAY)
    frame = gpd.GeoDataFrame.from_features(collection["features"], crs="EPSG:4326")
    frame["ma_huyen"] = [int(f["id"]) for f in collection["features"]]  # numbers, as in many files
    frame["ten"] = frame["name"]
    extra = gpd.GeoDataFrame(
        {"ma_huyen": [999, 90001], "ten": ["Không có", "Xã mẫu 1.1 (Hà Nội)"]},
        geometry=[shapely.box(105.7, 20.9, 105.8, 21.0), shapely.box(105.6, 20.9, 105.7, 21.0)],
        crs="EPSG:4326",
    )
    gpd.GeoDataFrame(
        {"ma_huyen": [*frame["ma_huyen"], *extra["ma_huyen"]], "ten": [*frame["ten"], *extra["ten"]]},
        geometry=[*frame.geometry, *extra.geometry],
        crs="EPSG:4326",
    ).to_crs(32648).to_file(path)


def test_import_rejects_unknown_codes_and_derives_parents(timescale_url: str, tmp_path: Path):
    with store.connect(timescale_url, autocommit=True) as conn:
        store.migrate(conn)
        with_default_units(conn)
        provinces = import_file(
            conn,
            default_dir() / PROVINCES_2025,
            "province",
            code_field="code",
            name_field="name",
            attribution="Made with Natural Earth",
        )
        assert provinces.saved == 34
        assert provinces.rejected == []
        da_nang = geo_store.outlines(conn, "province")["48"]
        assert da_nang.contains(shapely.Point(111.6, 16.53))
        load_sample(conn)
        path = tmp_path / "huyen.shp"
        districts_file(conn, path)
        conn.execute("DELETE FROM unit_geometry WHERE level = 'district'")

        with pytest.raises(GeoDataError, match=r"nothing saved \(--strict\)"):
            import_file(conn, path, "district", code_field="ma_huyen", name_field="ten", strict=True)
        assert geo_store.feature_collection(conn, "district", on=TODAY)["features"] == []

        report = import_file(conn, path, "district", code_field="ma_huyen", name_field="ten")
        hanoi = [
            u
            for u in files.read_dir(files.default_dir()).units
            if u.level == "district" and u.parent_code == "01"
        ]
        assert report.saved == len(hanoi)
        assert report.source_crs == "EPSG:32648"
        assert sorted(report.rejected) == [
            ("90001", "a commune in the unit list, not a district"),
            ("999", "not in the unit list"),
        ]
        assert report.parents_derived
        assert report.parent_mismatches == []
        assert "rejected" in "\n".join(report.lines())
        features = geo_store.feature_collection(conn, "district", on=TODAY)["features"]
        assert {f["id"] for f in features} == {u.code for u in hanoi}
        assert {f["properties"]["parent_code"] for f in features} == {"01"}


def test_the_ioc_geo_command(timescale_url: str, tmp_path: Path):
    env = {"IOC_DATABASE_URL": timescale_url}
    assert ioc("db", "migrate", env=env).returncode == 0
    empty = ioc("geo", "show", env=env)
    assert empty.returncode == 0, empty.stderr
    assert "no geometry stored" in empty.stdout

    bad = ioc(
        "geo",
        "import",
        str(tmp_path / "x.txt"),
        "--level",
        "ward",
        "--code-field",
        "c",
        "--name-field",
        "n",
        env=env,
    )
    assert bad.returncode == 1
    assert bad.stderr.strip().splitlines() == [
        "ioc: error: level should be one of province, district, commune, got 'ward'"
    ]
    missing = ioc(
        "geo",
        "import",
        str(tmp_path / "x.txt"),
        "--level",
        "province",
        "--code-field",
        "c",
        "--name-field",
        "n",
        env=env,
    )
    assert missing.returncode == 1
    assert "expected one of GeoJSON (.geojson)" in missing.stderr

    assert ioc("refdata", "load", env=env).returncode == 0
    loaded = ioc("geo", "load-default", env=env)
    assert loaded.returncode == 0, loaded.stderr
    assert "commune (sample)" in loaded.stdout
    assert "attribution: Made with Natural Earth" in loaded.stdout
    shown = ioc("geo", "show", env=env)
    assert "province     34 in force" in shown.stdout
