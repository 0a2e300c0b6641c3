"""Errors of the local stack."""

from ioc.errors import IocError


class StackError(IocError):
    """A local service could not be installed, started or stopped."""
