"""``import_file``: a boundary file of one level into the store, with a report of what was refused.

Read, repair and reproject (``geo.read``); keep the features whose codes the unit list holds at
this level and reject the others; merge Hoàng Sa and Trường Sa into their provinces
(``geo.islands``); take parents from the file or derive them by spatial join against the stored
level above (``geo.parents``); simplify the level as a coverage (``geo.simplify``); save.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import geopandas as gpd

from geo import store
from geo.errors import GeoDataError
from geo.features import UnitInfo, unit_geometries
from geo.islands import add_archipelagos
from geo.levels import MAX_LEVEL_BYTES, SPECS, Level
from geo.parents import derive_parents
from geo.read import WGS84, read
from geo.simplify import simplify
from refdata import db as refdata_db
from refdata.model import Unit

Connection = store.Connection


@dataclass
class ImportReport:
    """What an import kept, changed and refused."""

    path: Path
    level: Level
    source_crs: str = ""
    saved: int = 0
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (code, why)
    repaired: list[str] = field(default_factory=list)
    merged: list[str] = field(default_factory=list)
    parents_derived: bool = False
    parent_mismatches: list[tuple[str, str | None, str | None]] = field(default_factory=list)
    without_geometry: list[str] = field(default_factory=list)  # units of the level the file lacks
    tolerance: float = 0.0
    geojson_bytes: int = 0

    def lines(self) -> list[str]:
        """The report for people, one line each."""
        out = [
            f"{self.path}: {self.saved} {self.level} geometries saved (from {self.source_crs}; "
            f"tolerance {self.tolerance:g}°, {self.geojson_bytes / 1000:.0f} kB as GeoJSON)"
        ]
        if self.repaired:
            out.append(f"repaired invalid geometry: {', '.join(self.repaired)}")
        if self.merged:
            out.append(f"merged features sharing a code: {', '.join(self.merged)}")
        if self.parents_derived:
            out.append("parents derived by spatial join")
        out.extend(
            f"parent of {code}: {found or 'none'} here, {listed or 'none'} in the unit list"
            for code, found, listed in self.parent_mismatches
        )
        if self.rejected:
            out.append(f"rejected {len(self.rejected)} feature(s):")
            out.extend(f"  {code}: {why}" for code, why in self.rejected)
        if self.without_geometry:
            missing = self.without_geometry
            shown = ", ".join(missing[:20]) + (f" and {len(missing) - 20} more" if len(missing) > 20 else "")
            out.append(f"{len(missing)} {self.level}(s) of the unit list have no geometry: {shown}")
        return out


def import_file(
    conn: Connection,
    path: Path,
    level: Level,
    *,
    code_field: str,
    name_field: str,
    parent_field: str | None = None,
    crs: str | None = None,
    layer: str | None = None,
    valid_from: date | None = None,
    valid_to: date | None = None,
    source: str | None = None,
    attribution: str = "",
    max_bytes: int = MAX_LEVEL_BYTES,
    strict: bool = False,
) -> ImportReport:
    """Import the ``level`` boundaries of ``path`` (see the module docstring).

    Parameters
    ----------
    valid_from, valid_to
        The period the geometry describes; default: each unit's own validity in the unit list.
    strict
        Save nothing when any feature is rejected.

    Returns
    -------
    ImportReport
        Also when features were rejected: they are listed, the others saved (unless ``strict``).
    """
    read_result = read(
        path,
        code_field=code_field,
        name_field=name_field,
        parent_field=parent_field,
        code_digits=SPECS[level].code_digits,
        crs=crs,
        layer=layer,
    )
    units = {u.code: u for u in refdata_db.load(conn).units}
    if not units:
        msg = "the unit list is empty: load it first with `ioc refdata load`"
        raise GeoDataError(msg)
    report = ImportReport(path=path, level=level, source_crs=read_result.source_crs)
    report.repaired, report.merged = read_result.repaired, read_result.merged
    report.rejected.extend(read_result.dropped)

    frame = read_result.frame
    keep = []
    for code in frame["code"]:
        unit = units.get(code)
        if unit is None:
            report.rejected.append((code, "not in the unit list"))
        elif unit.level != level:
            report.rejected.append((code, f"a {unit.level} in the unit list, not a {level}"))
        keep.append(unit is not None and unit.level == level)
    frame = frame[keep].reset_index(drop=True)
    if strict and report.rejected:
        msg = "\n".join(["nothing saved (--strict):", *report.lines()[1:]])
        raise GeoDataError(msg)
    if frame.empty:
        msg = "\n".join([f"{path}: no feature to save", *report.lines()[1:]])
        raise GeoDataError(msg)
    if level == "province":
        frame = add_archipelagos(frame)
    else:
        _set_parents(conn, frame, level, units, report, from_file=parent_field is not None)

    result = simplify(frame.geometry.to_numpy(), level, max_bytes=max_bytes)
    report.tolerance, report.geojson_bytes = result.tolerance, result.geojson_bytes
    infos = [
        UnitInfo(
            code=code,
            name=name or units[code].name,
            parent_code=parent,
            valid_from=valid_from or units[code].valid_from,
            valid_to=valid_to if valid_from or valid_to else units[code].valid_to,
        )
        for code, name, parent in zip(frame["code"], frame["name"], frame["parent_code"], strict=True)
    ]
    rows = unit_geometries(
        infos, list(result.geometries), level, source=source or path.name, attribution=attribution
    )
    report.saved = store.save(conn, rows)
    found = set(frame["code"])
    report.without_geometry = sorted(
        c for c, u in units.items() if u.level == level and u.valid_to is None and c not in found
    )
    return report


def _set_parents(
    conn: Connection,
    frame: gpd.GeoDataFrame,
    level: Level,
    units: dict[str, Unit],
    report: ImportReport,
    *,
    from_file: bool,
) -> None:
    """Fill ``parent_code``: from the file, else by spatial join, else from the unit list."""
    if not from_file:
        for parent_level in SPECS[level].parent_levels:
            stored = store.outlines(conn, parent_level)
            if stored:
                parents = gpd.GeoDataFrame(
                    {"code": list(stored), "geometry": list(stored.values())}, crs=WGS84
                )
                frame["parent_code"] = derive_parents(frame, parents)
                report.parents_derived = True
                break
    parent_codes = []
    for code, found in zip(frame["code"], frame["parent_code"], strict=True):
        listed = units[code].parent_code
        if found != listed and (from_file or report.parents_derived):
            report.parent_mismatches.append((code, found, listed))
        parent_codes.append(found or listed)
    frame["parent_code"] = parent_codes
    missing = [code for code, parent in zip(frame["code"], parent_codes, strict=True) if parent is None]
    if missing:
        msg = (
            f"no parent found for {', '.join(missing)}: name a --parent-field or import the level above first"
        )
        raise GeoDataError(msg)
