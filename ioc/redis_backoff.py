"""Redis is best effort everywhere it is used (KPI caches, change and alert announcements): after
a failure a part leaves it alone for ``RETRY_AFTER_S`` (no 250 ms timeout on every request while
it is down) and says so in its log at most once every ``WARN_EVERY_S``."""

from __future__ import annotations

import logging
import time

RETRY_AFTER_S = 5.0
WARN_EVERY_S = 60.0


class Backoff:
    """When to try Redis again, for one part; ``what`` ends the warning ("Redis unreachable, …")."""

    def __init__(self, log: logging.Logger, what: str) -> None:
        self._log = log
        self._what = what
        self._down_until = 0.0
        self._warned_at = -WARN_EVERY_S

    def up(self) -> bool:
        """Whether to try Redis now."""
        return time.monotonic() >= self._down_until

    def failed(self, exc: Exception, what: str | None = None) -> None:
        now = time.monotonic()
        self._down_until = now + RETRY_AFTER_S
        if now - self._warned_at >= WARN_EVERY_S:
            self._warned_at = now
            self._log.warning("Redis unreachable, %s: %s", what or self._what, exc)


def as_bytes(reply: bytes | str) -> bytes:
    """A Redis reply as bytes, whether or not the client decodes responses."""
    return reply if isinstance(reply, bytes) else reply.encode()
