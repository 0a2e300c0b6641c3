"""Errors of the reference data.

IocError (ioc.errors)
└── RefdataError   reference files or tables that cannot be used, every problem listed
"""

from __future__ import annotations

from collections.abc import Sequence

from ioc.errors import IocError

MAX_SHOWN = 20


class RefdataError(IocError):
    """Reference data with problems; ``problems`` holds one ``file:line: what`` line each."""

    def __init__(self, summary: str, problems: Sequence[str] = ()) -> None:
        self.problems = tuple(problems)
        lines = [summary, *(f"  {p}" for p in self.problems[:MAX_SHOWN])]
        if len(self.problems) > MAX_SHOWN:
            lines.append(f"  … and {len(self.problems) - MAX_SHOWN} more")
        super().__init__("\n".join(lines))
