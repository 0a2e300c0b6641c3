"""``ioc alerts``: the evaluator, run until stopped.

Only one evaluator acts at a time. It holds a PostgreSQL session advisory lock on the very
connection it writes with: if that connection is lost the server releases the lock and the
process can no longer write (it goes back to standby and reconnects). Another evaluator waits
as a standby, trying the lock every ``standby_s``, and takes over when the active one dies.

The active one evaluates every target (``alerts.evaluate``) every ``interval_s``, ``debounce_s``
after ingest announces changes on Redis, and when a pending breach is due to fire or a
resolution's hold to end; after each pass it announces firing and resolved alerts on Redis
(best effort) and delivers the webhooks due (``alerts.webhooks``), and again when a retry is due.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timedelta

import psycopg

import store
from alerts import webhooks
from alerts.announce import Announcer, Changes
from alerts.engine_store import Connection, try_lock
from alerts.evaluate import Change, evaluate
from ioc.settings import Settings

log = logging.getLogger("ioc.alerts")


class Engine:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.alerts = settings.alerts
        self.passes = 0

    def run(self, stop: threading.Event) -> None:
        """Stand by or act until ``stop`` is set."""
        announcer = Announcer(self.settings.redis_url)
        changes = Changes(self.settings.redis_url)
        try:
            while not stop.is_set():
                conn = self._take_over(stop)
                if conn is None:
                    return
                try:
                    self._act(conn, stop, announcer, changes)
                except psycopg.OperationalError as exc:
                    log.warning("lost the database connection (%s); standing by", str(exc).strip())
                finally:
                    conn.close()
        finally:
            announcer.close()
            changes.close()

    def _take_over(self, stop: threading.Event) -> Connection | None:
        """A connection holding the lock, once this process may act; None when stopped."""
        said_standby = False
        while not stop.is_set():
            conn: Connection | None = None
            try:
                conn = store.connect(self.settings.database_url, autocommit=True)
                if try_lock(conn):
                    log.info("active: this evaluator holds the lock and evaluates the targets")
                    return conn
                if not said_standby:
                    log.info("standby: another evaluator is active; trying every %g s", self.alerts.standby_s)
                    said_standby = True
            except (psycopg.Error, OSError) as exc:
                log.warning("database unreachable (%s); trying again in %g s", exc, self.alerts.standby_s)
            if conn is not None:
                conn.close()
            stop.wait(self.alerts.standby_s)
        return None

    def _act(self, conn: Connection, stop: threading.Event, announcer: Announcer, changes: Changes) -> None:
        due = time.monotonic()  # evaluate at once
        retry_at: float | None = None
        while not stop.is_set():
            while not stop.is_set():
                now = time.monotonic()
                wake = min(due, retry_at) if retry_at is not None else due
                if now >= wake:
                    break
                if changes.wait(wake - now):
                    due = min(due, time.monotonic() + self.alerts.debounce_s)
            if stop.is_set():
                return
            if time.monotonic() >= due:
                due = self._evaluate(conn, announcer)
            webhooks.deliver_due(conn, self.alerts)
            retry_at = _monotonic(webhooks.next_due(conn))

    def _evaluate(self, conn: Connection, announcer: Announcer) -> float:
        """One pass; returns the monotonic time of the next one."""
        interval = self.alerts.interval_s
        try:
            tz = self.settings.timezone
            done = evaluate(conn, self.alerts, now=datetime.now(tz), tz=tz)
        except psycopg.OperationalError:
            raise
        except psycopg.Error as exc:  # e.g. a target deleted during the pass: try again soon
            log.warning("evaluation failed (%s); again in %g s", str(exc).strip(), min(interval, 5.0))
            return time.monotonic() + min(interval, 5.0)
        self.passes += 1
        for change in done.changes:
            _log(change)
        log.debug("pass %d: %d readings in %.3f s", self.passes, done.readings, done.elapsed_s)
        announcer.publish(c.notice for c in done.changes if c.notice is not None)
        following = time.monotonic() + interval
        woken = _monotonic(done.wake_at)
        return following if woken is None else min(following, max(woken, time.monotonic()) + 0.01)


def _monotonic(at: datetime | None) -> float | None:
    """A wall-clock time as a monotonic one."""
    if at is None:
        return None
    left = (at - datetime.now(at.tzinfo)) / timedelta(seconds=1)
    return time.monotonic() + max(0.0, left)


def _log(change: Change) -> None:
    move = change.transition
    reason = f" ({move.reason})" if move.reason else ""
    log.info(
        "%s / %s: %s → %s%s, value %s, volume %s",
        change.target,
        change.unit_code,
        move.from_state,
        move.to_state,
        reason,
        "none" if change.value is None else f"{float(change.value):.4g}",
        change.volume,
    )
