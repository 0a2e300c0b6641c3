"""Delivering the outbox (``alert_notifications``): each due row is POSTed as JSON with its
``Idempotency-Key`` header and marked delivered once the receiver answered 2xx.

A failure (no answer within the timeout, a refused connection, any other status) counts an
attempt, keeps the error and waits before the next one: ``retry_base_s`` doubled per attempt,
at most ``retry_max_s``; after ``retry_attempts`` (0: never) the row is given up: it stays,
undelivered, with its last error (raising the setting tries it again). A crash between a POST
and its marking sends it again with the same key, so a receiver that deduplicates by key sees
each notification once.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from datetime import datetime

from alerts import engine_store
from ioc.settings import AlertSettings

Connection = engine_store.Connection
log = logging.getLogger("ioc.alerts")


def post(url: str, key: str, body: object, timeout_s: float) -> str | None:
    """POST ``body`` to ``url``; None when the receiver took it (2xx), else what went wrong."""
    request = urllib.request.Request(  # noqa: S310 - http(s) URLs only (settings check them)
        url,
        data=json.dumps(body, ensure_ascii=False).encode(),
        headers={"Content-Type": "application/json; charset=utf-8", "Idempotency-Key": key},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:  # noqa: S310
            status = int(response.status)
    except urllib.error.HTTPError as exc:
        return f"HTTP {exc.code}"
    except (OSError, ValueError) as exc:
        return f"{type(exc).__name__}: {exc}"
    return None if 200 <= status < 300 else f"HTTP {status}"


def backoff(attempts: int, settings: AlertSettings) -> float:
    """Seconds before the next try after ``attempts`` failed ones."""
    return float(min(settings.retry_max_s, settings.retry_base_s * 2 ** min(attempts - 1, 60)))


def deliver_due(conn: Connection, settings: AlertSettings, *, limit: int = 50) -> int:
    """Send the due rows (at most ``limit``); returns how many were delivered."""
    sent = 0
    for row in engine_store.due(conn, attempts=settings.retry_attempts, limit=limit):
        error = post(row.destination, row.idempotency_key, row.payload, settings.webhook_timeout_s)
        if error is None:
            engine_store.delivered(conn, row.id)
            sent += 1
            continue
        attempts = row.attempts + 1
        give_up = settings.retry_attempts > 0 and attempts >= settings.retry_attempts
        wait = backoff(attempts, settings)
        engine_store.failed(conn, row.id, error, wait_s=wait)
        if give_up:
            log.error("webhook %s given up after %d attempts: %s", row.idempotency_key, attempts, error)
        else:
            log.warning("webhook %s failed (%s); retry in %.0f s", row.idempotency_key, error, wait)
    return sent


def next_due(conn: Connection, settings: AlertSettings) -> datetime | None:
    """When the next row not given up is due."""
    return engine_store.next_due(conn, attempts=settings.retry_attempts)
