"""Errors of the geography.

IocError (ioc.errors)
└── GeoError              boundaries that cannot be used
    ├── GeoFileError      a boundary file that cannot be read as asked (format, fields, CRS)
    └── GeoDataError      boundaries or units that do not fit together (no outlines, no units)
"""

from __future__ import annotations

from ioc.errors import IocError


class GeoError(IocError):
    """Base class of the geography's errors; the message says what to do."""


class GeoFileError(GeoError):
    """A boundary file cannot be read as asked."""


class GeoDataError(GeoError):
    """Boundaries and units do not fit together."""
