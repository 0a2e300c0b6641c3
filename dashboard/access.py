"""Who may change what from the dashboard: the one place that decides.

Until sign-in exists (the next issue), everyone who reaches the dashboard may edit targets.
Sign-in will read the request's session here (``flask.request``, available in every callback
and page builder) and answer for that person; pages then show the targets read-only, and the
callbacks that save or delete refuse.
"""

from __future__ import annotations


def may_edit_targets() -> bool:
    """Whether the current request may add, change or delete targets."""
    return True
