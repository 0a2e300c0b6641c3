"""``ioc alerts``: the evaluator, run until stopped.

Only one evaluator acts at a time. It holds a PostgreSQL session advisory lock on the very
connection it writes with: if that connection is lost the server releases the lock and the
process can no longer write (it goes back to standby and reconnects). Another evaluator waits
as a standby, trying the lock every ``standby_s``, and takes over when the active one dies.

The active one evaluates every target (``alerts.evaluate``) every ``interval_s`` (a full pass);
``debounce_s`` after ingest announces changes on Redis it evaluates what those units concern,
and when a pending breach is due to fire or a resolution's hold to end, that (target, unit)
(partial passes). A pass for changes waits three times as long as the last pass took, so the
engine evaluates at most a quarter of the time however busy ingest is. After each pass it announces
firing and resolved alerts on Redis (best effort) and delivers the webhooks due
(``alerts.webhooks``), and again when a retry is due.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Collection
from datetime import datetime, timedelta

import psycopg

import store
from alerts import webhooks
from alerts.announce import Announcer, Changes
from alerts.engine_store import Connection, try_lock
from alerts.evaluate import Change, Pass, evaluate
from alerts.metrics import AlertMetrics
from ioc.errors import IocError
from ioc.settings import Settings

log = logging.getLogger("ioc.alerts")
IDLE_FACTOR = 3  # a pass for changes waits this many times the last pass's duration: ≤ 25 % busy


class Engine:
    def __init__(self, settings: Settings, metrics: AlertMetrics | None = None) -> None:
        self.settings = settings
        self.alerts = settings.alerts
        self.passes = 0
        self.metrics = metrics or AlertMetrics()

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
                    self.metrics.role(active=False, database_up=False)
                finally:
                    conn.close()
        finally:
            announcer.close()
            changes.close()

    def _take_over(self, stop: threading.Event) -> Connection | None:
        """A connection holding the lock, once this process may act; None when stopped."""
        said_standby = said_unreachable = False
        conn: Connection | None = None
        while not stop.is_set():
            try:
                if conn is None:
                    conn = store.connect(self.settings.database_url, autocommit=True)
                if try_lock(conn):
                    log.info("active: this evaluator holds the lock and evaluates the targets")
                    self.metrics.role(active=True)
                    return conn
                self.metrics.role(active=False)
                if not said_standby:
                    log.info("standby: another evaluator is active; trying every %g s", self.alerts.standby_s)
                    said_standby = True
            except (psycopg.Error, OSError, IocError) as exc:
                self.metrics.role(active=False, database_up=False)
                if not said_unreachable:
                    log.warning("database unreachable (%s); trying every %g s", exc, self.alerts.standby_s)
                    said_unreachable = True
                if conn is not None:
                    conn.close()
                conn = None
            stop.wait(self.alerts.standby_s)
        if conn is not None:
            conn.close()
        return None

    def _act(self, conn: Connection, stop: threading.Event, announcer: Announcer, changes: Changes) -> None:
        full_at = time.monotonic()  # a full pass at once
        changed: set[str] = set()
        changed_at: float | None = None  # when the changes heard are to be evaluated
        rest_until = 0.0  # no pass for changes before this
        wakes: dict[tuple[str, str], datetime] = {}
        woken: float | None = None  # the earliest of ``wakes``, as a monotonic time
        retry_at: float | None = None
        while not stop.is_set():
            now = time.monotonic()
            partial_at = min(
                (t for t in (changed_at and max(changed_at, rest_until), woken and woken + 0.02) if t),
                default=None,
            )
            wake = min(t for t in (full_at, partial_at, retry_at) if t is not None)
            if now < wake:
                heard = changes.wait(wake - now)
                if heard is not None and not heard:  # a change naming no unit: evaluate everything
                    full_at = min(full_at, time.monotonic() + self.alerts.debounce_s)
                elif heard:
                    changed |= heard
                    changed_at = changed_at or time.monotonic() + self.alerts.debounce_s
                continue
            ran, done = False, None  # whether a pass ran; its outcome, None when it failed
            if now >= full_at:
                ran, done = True, self._evaluate(conn, announcer, None, ())
                full_at, changed, changed_at = time.monotonic() + self.alerts.interval_s, set(), None
            elif partial_at is not None and now >= partial_at:
                limit = datetime.now(self.settings.timezone) + timedelta(seconds=0.05)
                due = {key for key, at in wakes.items() if at <= limit}
                ran, done = True, self._evaluate(conn, announcer, frozenset(changed), due)
                changed, changed_at = set(), None
            if ran and done is None:  # failed (e.g. a target deleted meanwhile): a full pass soon
                full_at = min(full_at, time.monotonic() + min(self.alerts.interval_s, 5.0))
                woken = None  # the full pass will say when
            elif done is not None:
                wakes, woken = done.wakes, _monotonic(done.wake_at)
                rest_until = time.monotonic() + IDLE_FACTOR * done.elapsed_s
            delivered = webhooks.deliver_due(conn, self.alerts)
            self.metrics.refresh(conn, delivered=delivered, retry_attempts=self.alerts.retry_attempts)
            retry_at = _monotonic(webhooks.next_due(conn, self.alerts))

    def _evaluate(
        self,
        conn: Connection,
        announcer: Announcer,
        changed: frozenset[str] | None,
        due: Collection[tuple[str, str]],
    ) -> Pass | None:
        """One pass (full when ``changed`` is None); None when it failed and is to be retried."""
        tz = self.settings.timezone
        kind = "full" if changed is None else "partial"
        try:
            done = evaluate(conn, self.alerts, now=datetime.now(tz), tz=tz, changed=changed, due=due)
        except psycopg.OperationalError:
            self.metrics.failed(kind)
            raise
        except psycopg.Error as exc:  # e.g. a target deleted during the pass: the next one will do
            log.warning("evaluation failed (%s)", str(exc).strip())
            self.metrics.failed(kind)
            return None
        self.passes += 1
        self.metrics.evaluated(kind, readings=done.readings, seconds=done.elapsed_s, at=time.time())
        for change in done.changes:
            _log(change)
        kind = "full" if changed is None else f"{len(changed)} changed units, {len(due)} due"
        log.debug("pass %d (%s): %d readings in %.3f s", self.passes, kind, done.readings, done.elapsed_s)
        announcer.publish(c.notice for c in done.changes if c.notice is not None)
        return done


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
