"""What each level of the hierarchy asks of its map: code length, parents, simplification.

Tolerances are in degrees (EPSG:4326): 0.001° is about 110 m on the ground in Vietnam. A level
starts at its ``tolerance``; ``geo.simplify`` doubles it until the level's GeoJSON is under
``MAX_LEVEL_BYTES``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

Level = Literal["province", "district", "commune"]
LEVELS: tuple[Level, ...] = get_args(Level)
MAX_LEVEL_BYTES = 1_000_000


@dataclass(frozen=True)
class LevelSpec:
    """How one level's boundaries are coded and generalised."""

    code_digits: int
    parent_levels: tuple[Level, ...]  # nearest first
    tolerance: float  # coverage simplification, degrees (about the side of removed triangles)
    gap_width: float  # gaps between neighbours narrower than this are closed, degrees
    decimals: int  # coordinates are rounded to this many decimals


SPECS: dict[Level, LevelSpec] = {
    "province": LevelSpec(2, (), tolerance=0.004, gap_width=0.001, decimals=4),
    "district": LevelSpec(3, ("province",), tolerance=0.002, gap_width=0.0005, decimals=4),
    "commune": LevelSpec(5, ("district", "province"), tolerance=0.001, gap_width=0.0002, decimals=5),
}


def check_level(level: str) -> Level:
    """``level`` as a Level, or ValueError naming the levels."""
    for known in LEVELS:
        if level == known:
            return known
    msg = f"level should be one of {', '.join(LEVELS)}, got {level!r}"
    raise ValueError(msg)
