"""Errors of the simulator.

IocError (ioc.errors)
└── SimulateError   a run that cannot go on: bad scenario for the data, nothing to simulate
    └── SendError   Kafka did not accept some messages
"""

from __future__ import annotations

from ioc.errors import IocError


class SimulateError(IocError):
    """The simulation cannot run as asked."""


class SendError(SimulateError):
    """Kafka did not accept some messages."""
