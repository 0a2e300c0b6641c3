"""Prometheus metrics of one ingest process, served on ``--metrics-port`` (0: none).

ioc_ingest_events_total{outcome}            stored | duplicate | dead_letter
ioc_ingest_batch_seconds                    histogram of batch transaction time
ioc_ingest_consumer_lag{topic,partition}    records behind the partition's end
ioc_ingest_last_event_timestamp_seconds     occurred_at of the newest stored event
ioc_ingest_database_up                      0 while ingest waits for PostgreSQL
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from ingest.sink import BatchResult


class IngestMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.events = Counter(
            "ioc_ingest_events", "Events read, by outcome.", ["outcome"], registry=self.registry
        )
        self.batch_seconds = Histogram(
            "ioc_ingest_batch_seconds",
            "Time to write and commit one batch.",
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=self.registry,
        )
        self.lag = Gauge(
            "ioc_ingest_consumer_lag",
            "Records behind the end.",
            ["topic", "partition"],
            registry=self.registry,
        )
        self.last_event = Gauge(
            "ioc_ingest_last_event_timestamp_seconds", "Newest stored event time.", registry=self.registry
        )
        self.database_up = Gauge(
            "ioc_ingest_database_up", "1 when PostgreSQL answers.", registry=self.registry
        )
        self.database_up.set(1)
        self._newest = 0.0

    def batch(self, result: BatchResult, seconds: float) -> None:
        self.events.labels("stored").inc(result.stored)
        self.events.labels("duplicate").inc(result.duplicates)
        self.events.labels("dead_letter").inc(result.dead_letters)
        self.batch_seconds.observe(seconds)
        if result.latest_event_at is not None:
            self._newest = max(self._newest, result.latest_event_at.timestamp())
            self.last_event.set(self._newest)

    def serve(self, port: int, host: str = "0.0.0.0") -> None:  # noqa: S104 - scraped from other hosts
        start_http_server(port, addr=host, registry=self.registry)
