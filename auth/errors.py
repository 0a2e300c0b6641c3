"""Errors of sign-in, users and kiosk links, each a complete one-line message for the CLI.

::

    IocError (ioc.errors)
     └── AuthError
          ├── BadUsername     a username outside the allowed characters or length
          ├── UserExists      a username already taken
          ├── UnknownUser     no user has this username
          ├── UnknownScope    a scope that is neither VN nor a unit of the reference data
          └── UnknownLink     no kiosk link has this id
"""

from __future__ import annotations

from ioc.errors import IocError


class AuthError(IocError):
    """Base class of this package's errors."""


class BadUsername(AuthError):
    """A username outside the allowed characters or length."""


class UserExists(AuthError):
    """A username already taken."""


class UnknownUser(AuthError):
    """No user has this username."""


class UnknownScope(AuthError):
    """A scope that is neither VN nor a unit of the reference data."""


class UnknownLink(AuthError):
    """No kiosk link has this id."""


def not_migrated() -> IocError:
    return IocError("the database has no users, kiosk or audit tables: run `ioc db migrate` first")
