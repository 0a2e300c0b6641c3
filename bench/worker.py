"""One benchmarked ingest process: the real ``Ingestor``, with every batch's timing kept.

``python -m bench.worker --group G --report FILE [--profile TXT]`` consumes ``IOC_TOPIC`` into
``IOC_DATABASE_URL`` until SIGTERM, then writes FILE: each batch's end time, commit
latency and counts, and the process's peak resident memory.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import signal
import threading
import time
from pathlib import Path
from typing import Any

from ingest.consumer import IngestOptions, Ingestor
from ingest.metrics import IngestMetrics
from ingest.sink import BatchResult
from ioc.settings import Settings


class RecordingMetrics(IngestMetrics):
    """The ingest metrics, plus each batch's (end time, seconds, events) for percentiles."""

    def __init__(self) -> None:
        super().__init__()
        self.batches: list[tuple[float, float, int]] = []

    def batch(self, result: BatchResult, seconds: float) -> None:
        super().batch(result, seconds)
        self.batches.append((time.time(), seconds, result.stored + result.duplicates + result.dead_letters))


class ProfiledIngestor(Ingestor):
    """The ingest with cProfile on both its threads: the main one (Kafka, decoding) and the
    writer (the database), each reported on its own."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.main = cProfile.Profile()
        self.writer = cProfile.Profile()

    def _write(self, *args: Any, **kwargs: Any) -> BatchResult | None:
        result: BatchResult | None = self.writer.runcall(super()._write, *args, **kwargs)
        return result

    def report(self, lines: int = 40) -> str:
        text = io.StringIO()
        for name, profiler in (("main thread", self.main), ("writer thread", self.writer)):
            text.write(f"==== {name}\n")
            pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(lines)
        return text.getvalue()


def peak_rss_mb() -> float:
    """Peak resident set size of this process since it started (Linux: VmHWM, in kB).

    Not ``getrusage``: its maximum also counts the parent's image a child was forked from.
    """
    status = Path("/proc/self/status").read_text()
    kilobytes = next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:"))
    return int(kilobytes) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--group", required=True)
    parser.add_argument("--batch-size", type=int, default=IngestOptions.batch_size)
    parser.add_argument("--report", type=Path, required=True)
    parser.add_argument("--profile", type=Path, help="Write where the time went (cProfile) here.")
    args = parser.parse_args()
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    metrics = RecordingMetrics()
    options = IngestOptions(group_id=args.group, batch_size=args.batch_size)
    if args.profile is None:
        Ingestor(Settings.from_env(), options, metrics).run(stop)
    else:
        ingestor = ProfiledIngestor(Settings.from_env(), options, metrics)
        ingestor.main.runcall(ingestor.run, stop)
        args.profile.write_text(ingestor.report())
    report = {"batches": metrics.batches, "peak_rss_mb": round(peak_rss_mb(), 1)}
    args.report.write_text(json.dumps(report))


if __name__ == "__main__":
    main()
