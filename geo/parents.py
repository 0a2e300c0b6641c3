"""Deriving each unit's parent from the boundaries, by spatial join."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely


def derive_parents(children: gpd.GeoDataFrame, parents: gpd.GeoDataFrame) -> list[str | None]:
    """The code of the parent holding each child.

    A child belongs to the parent that contains a point inside it (its representative point,
    always within the child); a child whose point lies in no parent (a coastline drawn
    differently at the two levels) goes to the parent it overlaps most.

    Parameters
    ----------
    children, parents
        Frames with columns ``code`` and ``geometry`` in the same CRS.

    Returns
    -------
    list
        The parent code of each child, in ``children``'s order; None for one overlapping no parent.
    """
    for what, frame in (("children", children), ("parents", parents)):
        if not isinstance(frame, gpd.GeoDataFrame) or "code" not in frame.columns:
            msg = f"'{what}' should be a GeoDataFrame with a 'code' column, got {type(frame).__name__}"
            raise TypeError(msg)
    if children.crs != parents.crs:
        msg = (
            f"'children' and 'parents' should share a CRS, got {children.crs} and {parents.crs}; "
            "use to_crs() on one of them"
        )
        raise ValueError(msg)
    result: list[str | None] = [None] * len(children)
    if children.empty or parents.empty:
        return result
    points = gpd.GeoDataFrame(geometry=children.geometry.representative_point().to_numpy(), crs=children.crs)
    target = gpd.GeoDataFrame(
        {"parent": [str(c) for c in parents["code"]]}, geometry=parents.geometry.to_numpy(), crs=parents.crs
    )
    joined = gpd.sjoin(points, target, how="inner", predicate="within")
    for position, parent in zip(joined.index, joined["parent"], strict=True):
        if result[position] is None:
            result[position] = str(parent)

    parent_codes = [str(c) for c in parents["code"]]
    parent_shapes = parents.geometry.to_numpy()
    for position, child in enumerate(children.geometry.to_numpy()):
        if result[position] is None:
            overlap = shapely.area(shapely.intersection(parent_shapes, child))
            if overlap.max() > 0:
                result[position] = parent_codes[int(np.argmax(overlap))]
    return result
