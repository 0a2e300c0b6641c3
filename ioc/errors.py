"""Errors the `ioc` command reports as one line, never as a traceback.

IocError
├── ConfigError        a setting is malformed
├── UnreachableError   a service named by a setting does not answer
└── stack.errors.StackError (local services could not be provisioned)
"""


class IocError(Exception):
    """Base class: the message is complete and shown to the user as it is."""


class ConfigError(IocError):
    """An IOC_* setting has a value the system cannot use."""


class UnreachableError(IocError):
    """A service named by a setting did not answer."""
