"""Errors of the dashboard, each shown to the user as a clear message instead of a Dash error.

::

    IocError (ioc.errors)
     └── DashboardError
          ├── DatabaseDown      the database cannot be reached now
          │    └── DatabaseFailed   it answered a query with an error (e.g. not migrated)
          └── UnknownUnit       a unit code (from the URL or a setting) that the unit list lacks
"""

from __future__ import annotations

from ioc.errors import IocError


class DashboardError(IocError):
    """Something a page cannot show; the message is for the log, the page shows its own text."""


class DatabaseDown(DashboardError):
    """The database cannot be reached now."""


class DatabaseFailed(DatabaseDown):
    """The database answered a query with an error (a schema not migrated, a bug): logged."""


class UnknownUnit(DashboardError):
    """A unit code that the unit list lacks."""

    def __init__(self, code: str) -> None:
        super().__init__(f"unknown unit code {code!r}")
        self.code = code
