"""Prometheus metrics of one ``ioc alerts`` process, served on ``--metrics-port`` (0: none).

ioc_alerts_evaluations_total{kind,outcome}         passes: kind full | partial, outcome ok | failed
ioc_alerts_evaluation_seconds{kind}                histogram of a pass's duration
ioc_alerts_targets_evaluated_total                 (target, unit) pairs read by the passes
ioc_alerts_last_evaluation_timestamp_seconds{kind} when the last pass of that kind ended
ioc_alerts_states{state}                           (target, unit) pairs per state: ok, pending,
                                                   firing, resolved, insufficient (the active one)
ioc_alerts_webhooks_delivered_total                webhooks this process delivered
ioc_alerts_notifications{state}                    webhook rows: delivered, pending, given_up
ioc_alerts_webhook_failed_attempts                 failed POSTs over every row
ioc_alerts_active                                  1 for the evaluator holding the lock, 0 standby
ioc_alerts_database_up                             0 while PostgreSQL does not answer

The states and notifications are read from the store by the active evaluator after each pass, so
they are the system's, not this process's; a standby reports only ``active`` and ``database_up``.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from alerts.engine_store import Connection

STATES = ("ok", "pending", "firing", "resolved", "insufficient")
NOTIFICATION_STATES = ("delivered", "pending", "given_up")


class AlertMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.evaluations = Counter(
            "ioc_alerts_evaluations",
            "Evaluation passes, by kind and outcome.",
            ["kind", "outcome"],
            registry=r,
        )
        self.seconds = Histogram(
            "ioc_alerts_evaluation_seconds",
            "Duration of one evaluation pass.",
            ["kind"],
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
            registry=r,
        )
        self.readings = Counter("ioc_alerts_targets_evaluated", "(target, unit) pairs evaluated.", registry=r)
        self.last = Gauge(
            "ioc_alerts_last_evaluation_timestamp_seconds",
            "When the last pass of this kind ended.",
            ["kind"],
            registry=r,
        )
        self.states = Gauge("ioc_alerts_states", "(target, unit) pairs per state.", ["state"], registry=r)
        self.delivered = Counter(
            "ioc_alerts_webhooks_delivered", "Webhooks this process delivered.", registry=r
        )
        self.notifications = Gauge(
            "ioc_alerts_notifications", "Webhook notifications, by state.", ["state"], registry=r
        )
        self.failed_attempts = Gauge(
            "ioc_alerts_webhook_failed_attempts", "Failed webhook POSTs over every notification.", registry=r
        )
        self.active = Gauge("ioc_alerts_active", "1 when this evaluator is the active one.", registry=r)
        self.database_up = Gauge("ioc_alerts_database_up", "1 when PostgreSQL answers.", registry=r)
        for kind in ("full", "partial"):
            for outcome in ("ok", "failed"):
                self.evaluations.labels(kind, outcome)
        self.delivered.inc(0)

    def role(self, *, active: bool, database_up: bool = True) -> None:
        self.active.set(1 if active else 0)
        self.database_up.set(1 if database_up else 0)

    def evaluated(self, kind: str, *, readings: int, seconds: float, at: float) -> None:
        self.evaluations.labels(kind, "ok").inc()
        self.seconds.labels(kind).observe(seconds)
        self.readings.inc(readings)
        self.last.labels(kind).set(at)

    def failed(self, kind: str) -> None:
        self.evaluations.labels(kind, "failed").inc()

    def refresh(self, conn: Connection, *, delivered: int, retry_attempts: int) -> None:
        """Count this process's deliveries and read the states and the notifications' outcomes."""
        self.delivered.inc(delivered)
        counts = dict.fromkeys(STATES, 0)
        for state, n in conn.execute("SELECT state, count(*) FROM alert_states GROUP BY state"):
            counts[str(state)] = int(str(n))
        for state, n in counts.items():
            self.states.labels(state).set(n)
        row = conn.execute(
            """
            SELECT count(*) FILTER (WHERE delivered_at IS NOT NULL),
                   count(*) FILTER (WHERE delivered_at IS NULL AND (%(max)s = 0 OR attempts < %(max)s)),
                   count(*) FILTER (WHERE delivered_at IS NULL AND %(max)s > 0 AND attempts >= %(max)s),
                   coalesce(sum(attempts - (delivered_at IS NOT NULL)::int), 0)
            FROM alert_notifications
            """,
            {"max": retry_attempts},
        ).fetchone()
        if row is not None:
            for state, n in zip(NOTIFICATION_STATES, row[:3], strict=True):
                self.notifications.labels(state).set(int(str(n)))
            self.failed_attempts.set(int(str(row[3])))

    def serve(self, port: int, host: str = "0.0.0.0") -> None:  # noqa: S104 - scraped from other hosts
        start_http_server(port, addr=host, registry=self.registry)
