"""Random generators fixed by a seed: reproducible simulation, never secrets."""

from __future__ import annotations

from random import Random


def seeded(*parts: object) -> Random:
    """A generator fixed by ``parts`` (joined as text), the same on every run and machine."""
    return Random(":".join(str(p) for p in parts))  # noqa: S311 - simulation, not cryptography
