"""`ioc alerts` as it runs for real: real Kafka, real ingest, a real database and Redis, the
evaluator a child process, webhooks POSTed to an HTTP receiver in the test."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis
from psycopg.rows import dict_row

import store
from alerts import store as targets_store
from alerts.targets import Target
from ioc.settings import Settings
from refdata.model import ReferenceData
from tests.net import free_port
from tests.test_cli import ioc
from tests.test_ingest import REFDATA, count, prepare, produce, start_ingest, wait_for
from tests.test_ingest import stop as stop_ingest

FAST = {
    "IOC_ALERTS_INTERVAL_S": "1",
    "IOC_ALERTS_DEBOUNCE_S": "0.2",
    "IOC_ALERTS_PENDING_S": "0.5",
    "IOC_ALERTS_HYSTERESIS": "2",
    "IOC_ALERTS_RETRY_BASE_S": "0.2",
    "IOC_ALERTS_RETRY_MAX_S": "1",
    "IOC_ALERTS_WEBHOOK_TIMEOUT_S": "10",
    "IOC_ALERTS_STANDBY_S": "0.3",
}


# --- a webhook receiver ----------------------------------------------------------------------------


@dataclass
class Receiver:
    """Counts every POST (raw) and every idempotency key; ``accepting`` False answers 503;
    ``hold_first`` keeps the first accepted request unanswered until ``release`` is set."""

    url: str = ""
    raw: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # keys answered 503
    accepting: bool = True
    hold_first: bool = False
    holding: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)

    @property
    def keys(self) -> Counter[str]:
        return Counter(key for key, _ in self.raw)

    def bodies(self) -> dict[str, dict[str, Any]]:
        return dict(self.raw)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    got = Receiver()
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            if not got.accepting:
                got.refused.append(self.headers["Idempotency-Key"])
                self.send_response(503)
                self.end_headers()
                return
            with lock:
                got.raw.append((self.headers["Idempotency-Key"], body))
                hold = got.hold_first and not got.holding.is_set()
                if hold:
                    got.holding.set()
            if hold:
                got.release.wait(30)
            try:
                self.send_response(204)
                self.end_headers()
            except OSError:
                pass  # the sender died while we held its request

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    got.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield got
    got.release.set()
    server.shutdown()
    server.server_close()


# --- the system under test -------------------------------------------------------------------------


@pytest.fixture
def refdata() -> ReferenceData:
    """The reference data of the test's database (a module may override it)."""
    return REFDATA


@pytest.fixture
def alert_env(
    settings: Settings, timescale_url: str, topic: str, receiver: Receiver, refdata: ReferenceData
) -> dict[str, str]:
    prepare(timescale_url, refdata)
    return {
        **os.environ,
        "IOC_DATABASE_URL": timescale_url,
        "IOC_TOPIC": topic,
        **FAST,
        "IOC_ALERTS_WEBHOOKS": receiver.url,
    }


@pytest.fixture
def ingest(alert_env: dict[str, str], tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    log = tmp_path / "ingest.log"
    proc = start_ingest(alert_env, f"g-{uuid.uuid4().hex[:8]}", "--batch-wait", "0.1", log=log)
    yield proc
    stop_ingest(proc, log)


class Evaluator:
    """``ioc alerts`` in a child process, its log in a file."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.log = log
        with log.open("w") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "ioc", "alerts"], env=env, stdout=subprocess.DEVNULL, stderr=err
            )

    def text(self) -> str:
        return self.log.read_text()

    def wait_for(self, line: str, timeout: float = 60) -> None:
        wait_for(lambda: line in self.text() or self.proc.poll() is not None, timeout, line)
        assert line in self.text(), self.text()

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> str:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=60)
            assert self.proc.returncode == 0, self.text()
        return self.text()


@pytest.fixture
def evaluators(alert_env: dict[str, str], tmp_path: Path) -> Iterator[list[Evaluator]]:
    """Start one with ``evaluators.append(Evaluator(env, log))``; all are stopped after."""
    started: list[Evaluator] = []
    yield started
    for e in started:
        if e.proc.poll() is None:
            e.proc.send_signal(signal.SIGTERM)
            e.proc.wait(timeout=60)


def start_evaluator(
    env: dict[str, str], tmp_path: Path, started: list[Evaluator], name: str = "a"
) -> Evaluator:
    e = Evaluator(env, tmp_path / f"alerts-{name}-{len(started)}.log")
    started.append(e)
    return e


def save_targets(url: str, *targets: Target, replace: bool = False) -> None:
    with store.connect(url, autocommit=True) as conn:
        targets_store.save(conn, list(targets), replace=replace)


def target(name: str, **terms: Any) -> Target:
    base: dict[str, Any] = {
        "name": name,
        "kpi": "online_submission_rate",
        "unit": "00001",
        "level": None,
        "agency": None,
        "comparison": ">=",
        "threshold": Decimal(50),
        "window": "rolling_7_days",
        "min_volume": 0,
        "severity": "warning",
    }
    return Target(**{**base, **terms})


def rows(url: str, query: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    with psycopg.connect(url, row_factory=dict_row) as conn:
        return conn.execute(query, params).fetchall()  # type: ignore[arg-type]


def state(url: str, name: str, unit: str = "00001") -> dict[str, Any] | None:
    found = rows(
        url,
        "SELECT * FROM alert_states WHERE target_name = %(t)s AND unit_code = %(u)s",
        {"t": name, "u": unit},
    )
    return found[0] if found else None


def in_state(url: str, name: str, wanted: str, *, volume: int | None = None, unit: str = "00001") -> bool:
    found = state(url, name, unit)
    return found is not None and found["state"] == wanted and (volume is None or found["volume"] == volume)


def transitions(url: str, name: str) -> list[tuple[str, str]]:
    found = rows(
        url,
        "SELECT from_state, to_state FROM alert_transitions WHERE target_name = %(t)s ORDER BY id",
        {"t": name},
    )
    return [(r["from_state"], r["to_state"]) for r in found]


# --- events ----------------------------------------------------------------------------------------

_serial = iter(range(10**9))


def applications(settings: Settings, topic: str, *, online: int, in_person: int, unit: str = "00001") -> None:
    """Submit and receive that many applications in ``unit`` an hour ago, through Kafka."""
    at = datetime.now(UTC) - timedelta(hours=1)
    values = []
    for channel, n in (("online", online), ("in_person", in_person)):
        for _ in range(n):
            app = f"HS-{uuid.uuid4().hex[:6]}-{next(_serial)}"
            values += [
                json.dumps(ev).encode()
                for ev in (
                    _event("submitted", app, at, unit, channel=channel),
                    _event("received", app, at + timedelta(minutes=1), unit),
                )
            ]
    produce(settings, topic, values)


def _event(kind: str, app: str, at: datetime, unit: str, **extra: Any) -> dict[str, Any]:
    from tests.events import event_json  # noqa: PLC0415

    return event_json(kind, app, at, unit=unit, **extra)


# --- the tests -------------------------------------------------------------------------------------


def test_values_hovering_at_the_threshold_fire_one_alert_and_notify_once(
    settings, alert_env, ingest, evaluators, receiver, tmp_path
):
    url, topic = alert_env["IOC_DATABASE_URL"], alert_env["IOC_TOPIC"]
    name = f"hover {uuid.uuid4().hex[:6]}"
    save_targets(url, target(name))
    listener = redis.Redis.from_url(settings.redis_url).pubsub(ignore_subscribe_messages=True)
    listener.subscribe("ioc:alerts")
    applications(settings, topic, online=50, in_person=50)  # 50 %: met
    wait_for(lambda: count(url, "applications") == 100, 60, "the first applications")
    evaluator = start_evaluator(alert_env, tmp_path, evaluators)
    evaluator.wait_for("active")
    wait_for(lambda: in_state(url, name, "ok", volume=100), 60, "ok at 100")

    # (online, in person) added each time → received, the state expected (threshold 50 %, margin 2)
    steps = [
        ((0, 2), 102, "firing"),  # 49.0 %: breach, fires after 0.5 s
        ((2, 0), 104, "firing"),  # 50.0 %: met, within the margin: still firing
        ((0, 2), 106, "firing"),  # 49.1 %
        ((2, 0), 108, "firing"),  # 50.0 %
        ((0, 1), 109, "firing"),  # 49.5 %
        ((1, 0), 110, "firing"),  # 50.0 %
        ((10, 0), 120, "resolved"),  # 55.0 %: better by the margin
    ]
    for (online, in_person), received, expected in steps:
        applications(settings, topic, online=online, in_person=in_person)
        wait_for(
            lambda r=received, s=expected: in_state(url, name, s, volume=r), 60, f"{expected} at {received}"
        )

    assert transitions(url, name) == [("ok", "pending"), ("pending", "firing"), ("firing", "resolved")]
    episodes = rows(url, "SELECT * FROM alerts WHERE target_name = %(t)s", {"t": name})
    assert len(episodes) == 1
    episode = episodes[0]
    assert episode["fired_volume"] == 102
    assert episode["fired_value"] == (Decimal(50) / Decimal(102)).quantize(Decimal("1e-12"))
    assert (episode["resolved_reason"], episode["resolved_volume"]) == ("recovered", 120)
    wait_for(lambda: len(receiver.raw) == 2, 30, "two webhooks")
    bodies = [b for _, b in receiver.raw]
    assert [b["kind"] for b in bodies] == ["firing", "resolved"]
    assert bodies[0]["value"] == pytest.approx(100 * 50 / 102, abs=1e-3)
    assert bodies[0]["threshold"] == 50
    assert "Tỷ lệ hồ sơ nộp trực tuyến" in bodies[0]["message"]
    assert len(set(receiver.keys)) == 2
    heard = []
    for _ in range(50):
        message = listener.get_message(timeout=0.1)
        if message and json.loads(message["data"])["target"] == name:
            heard.append(json.loads(message["data"])["kind"])
    listener.close()
    assert heard == ["firing", "resolved"]
    log = evaluator.stop()
    assert f"{name} / 00001: pending → firing" in log


def test_low_volume_is_insufficient_and_resolves_a_firing_alert(
    settings, alert_env, ingest, evaluators, receiver, tmp_path
):
    url, topic = alert_env["IOC_DATABASE_URL"], alert_env["IOC_TOPIC"]
    thin, firing = f"thin {uuid.uuid4().hex[:6]}", f"firing {uuid.uuid4().hex[:6]}"
    save_targets(url, target(thin, min_volume=1000), target(firing, min_volume=10, unit="00002"))
    applications(settings, topic, online=2, in_person=28)  # 6.7 % online in 00001
    applications(settings, topic, online=1, in_person=19, unit="00002")  # 5 % in 00002
    start_evaluator(alert_env, tmp_path, evaluators).wait_for("active")
    wait_for(lambda: in_state(url, thin, "insufficient", volume=30), 60, "insufficient data")
    wait_for(lambda: in_state(url, firing, "firing", volume=20, unit="00002"), 60, "the other firing")
    assert rows(url, "SELECT * FROM alerts WHERE target_name = %(t)s", {"t": thin}) == []
    assert transitions(url, thin) == []  # insufficient from the start: nothing was judged

    save_targets(url, target(firing, min_volume=100, unit="00002"))  # now it is too thin to judge
    wait_for(lambda: in_state(url, firing, "insufficient", unit="00002"), 60, "the firing one insufficient")
    [episode] = rows(url, "SELECT * FROM alerts WHERE target_name = %(t)s", {"t": firing})
    assert (episode["state"], episode["resolved_reason"]) == ("resolved", "insufficient")
    assert transitions(url, firing) == [
        ("ok", "pending"),
        ("pending", "firing"),
        ("firing", "resolved"),
        ("resolved", "insufficient"),
    ]
    wait_for(lambda: len(receiver.raw) == 2, 30, "firing and resolved webhooks")
    assert [b["resolved_reason"] for _, b in receiver.raw] == [None, "insufficient"]


def test_a_deleted_target_resolves_its_alerts_and_the_cli_lists_and_acknowledges(
    settings, alert_env, ingest, evaluators, receiver, tmp_path
):
    url, topic = alert_env["IOC_DATABASE_URL"], alert_env["IOC_TOPIC"]
    kept, gone = f"kept {uuid.uuid4().hex[:6]}", f"gone {uuid.uuid4().hex[:6]}"
    save_targets(url, target(kept, threshold=Decimal(1)), target(gone, level="commune", unit=None))
    applications(settings, topic, online=3, in_person=7)
    applications(settings, topic, online=2, in_person=8, unit="00002")
    start_evaluator(alert_env, tmp_path, evaluators).wait_for("active")
    wait_for(lambda: in_state(url, gone, "firing", unit="00002"), 60, "every commune firing")
    wait_for(lambda: in_state(url, gone, "firing", unit="00001"), 60, "every commune firing")
    assert in_state(url, kept, "ok")

    save_targets(url, target(kept, threshold=Decimal(1)), replace=True)  # deletes `gone`
    wait_for(
        lambda: len(rows(url, "SELECT * FROM alerts WHERE resolved_reason = 'target_removed'")) == 2,
        60,
        "the episodes of the deleted target resolved",
    )
    assert state(url, gone) is None
    wait_for(lambda: len(receiver.raw) == 4, 30, "firing and resolved webhooks")
    assert Counter(b["kind"] for _, b in receiver.raw) == {"firing": 2, "resolved": 2}

    env = {**alert_env}
    history = ioc("alerts", "history", "--limit", "5", env=env)
    assert history.returncode == 0, history.stderr
    assert history.stdout.count("target_removed") == 2
    first = rows(url, "SELECT min(id) AS id FROM alerts")[0]["id"]
    acked = ioc("alerts", "ack", str(first), "--by", "Nguyễn Văn A", env=env)
    assert acked.returncode == 0, acked.stderr
    assert "acknowledged by Nguyễn Văn A" in ioc("alerts", "history", env=env).stdout
    again = ioc("alerts", "ack", str(first), "--by", "B", env=env)
    assert again.returncode == 1
    assert "already acknowledged by Nguyễn Văn A" in again.stderr
    missing = ioc("alerts", "ack", "999999", "--by", "B", env=env)
    assert "no alert 999999" in missing.stderr


def test_a_killed_evaluator_restarted_neither_loses_nor_repeats_a_webhook(
    settings, alert_env, ingest, evaluators, receiver, tmp_path
):
    url, topic = alert_env["IOC_DATABASE_URL"], alert_env["IOC_TOPIC"]
    second = f"{receiver.url}?second"
    env = {**alert_env, "IOC_ALERTS_WEBHOOKS": f"{receiver.url},{second}"}
    names = [f"k{i} {uuid.uuid4().hex[:6]}" for i in range(4)]
    save_targets(
        url, *(target(n, level="commune", unit=None, threshold=Decimal(90 + i)) for i, n in enumerate(names))
    )
    applications(settings, topic, online=3, in_person=7)
    applications(settings, topic, online=2, in_person=8, unit="00002")
    expected = len(names) * 2 * 2  # targets, communes, webhooks
    receiver.hold_first = True  # the first POST is taken, and its answer held until after the kill
    first = start_evaluator(env, tmp_path, evaluators)
    wait_for(receiver.holding.is_set, 60, "the first webhook")
    outbox = rows(url, "SELECT * FROM alert_notifications")
    assert len(outbox) == expected
    assert sum(r["delivered_at"] is None for r in outbox) == expected  # all due at the kill
    first.kill()
    receiver.release.set()

    again = start_evaluator(env, tmp_path, evaluators)
    wait_for(
        lambda: len(rows(url, "SELECT id FROM alert_notifications WHERE delivered_at IS NULL")) == 0,
        60,
        "every webhook delivered",
    )
    keys = receiver.keys
    stored = {r["idempotency_key"] for r in rows(url, "SELECT idempotency_key FROM alert_notifications")}
    assert set(keys) == stored  # none lost
    assert len(receiver.raw) == expected + 1  # the one in flight at the kill was sent again…
    [(repeated, times)] = [(k, n) for k, n in keys.items() if n > 1]
    assert times == 2  # …with the same key, so a receiver deduplicating by key saw it once
    assert {b["kind"] for _, b in receiver.raw} == {"firing"}
    assert len(rows(url, "SELECT * FROM alerts")) == len(names) * 2  # no episode opened twice
    assert "active" in again.text()
    assert repeated


def test_the_standby_takes_over_when_the_active_evaluator_dies(
    settings, alert_env, ingest, evaluators, receiver, tmp_path
):
    url, topic = alert_env["IOC_DATABASE_URL"], alert_env["IOC_TOPIC"]
    applications(settings, topic, online=3, in_person=7)
    first = start_evaluator(alert_env, tmp_path, evaluators, "first")
    first.wait_for("active")
    standby = start_evaluator(alert_env, tmp_path, evaluators, "standby")
    standby.wait_for("standby")
    name = f"before {uuid.uuid4().hex[:6]}"
    save_targets(url, target(name))
    wait_for(lambda: in_state(url, name, "firing"), 60, "the active one to fire")
    delivered = "SELECT 1 FROM alert_notifications WHERE delivered_at IS NOT NULL"
    wait_for(lambda: bool(rows(url, delivered)), 30, "its webhook")  # else the next one re-sends it
    assert "→" not in standby.text()  # the standby did nothing
    first.kill()
    standby.wait_for("active", 30)
    later = f"after {uuid.uuid4().hex[:6]}"
    save_targets(url, target(later, threshold=Decimal(40)))
    wait_for(lambda: in_state(url, later, "firing"), 60, "the new active one to fire")
    assert len(rows(url, "SELECT * FROM alerts")) == 2
    wait_for(lambda: len(receiver.raw) == 2, 30, "both webhooks")
    assert len(set(receiver.keys)) == 2
    standby.stop()


def test_without_redis_alerts_still_fire_and_webhooks_go_out(
    settings, alert_env, ingest, evaluators, receiver, tmp_path
):
    url, topic = alert_env["IOC_DATABASE_URL"], alert_env["IOC_TOPIC"]
    applications(settings, topic, online=1, in_person=9)
    wait_for(lambda: count(url, "applications") == 10, 60, "the applications")
    name = f"no redis {uuid.uuid4().hex[:6]}"
    save_targets(url, target(name))
    env = {**alert_env, "IOC_REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"}
    evaluator = start_evaluator(env, tmp_path, evaluators)
    wait_for(lambda: in_state(url, name, "firing"), 60, "firing without Redis")
    wait_for(lambda: len(receiver.raw) == 1, 30, "the webhook")
    assert receiver.raw[0][1]["target"] == name
    assert "Redis unreachable" in evaluator.stop()


def test_an_evaluator_that_loses_its_connection_stands_by_and_takes_over_again(
    settings, alert_env, ingest, evaluators, receiver, tmp_path
):
    url, topic = alert_env["IOC_DATABASE_URL"], alert_env["IOC_TOPIC"]
    applications(settings, topic, online=1, in_person=9)
    evaluator = start_evaluator(alert_env, tmp_path, evaluators)
    evaluator.wait_for("active")
    holders = """
        SELECT pg_terminate_backend(l.pid) AS ended
          FROM pg_locks l JOIN pg_database d ON d.oid = l.database
         WHERE l.locktype = 'advisory' AND d.datname = current_database()
    """
    assert [r["ended"] for r in rows(url, holders)] == [True]  # the lock was held, by one session
    evaluator.wait_for("lost the database connection")
    wait_for(lambda: evaluator.text().count("active:") == 2, 30, "the lock taken again")
    name = f"after reconnect {uuid.uuid4().hex[:6]}"
    save_targets(url, target(name))
    wait_for(lambda: in_state(url, name, "firing"), 60, "firing after the reconnection")
    evaluator.stop()


def test_a_failing_webhook_is_retried_with_backoff_and_given_up_after_the_attempts(
    settings, alert_env, ingest, evaluators, receiver, tmp_path
):
    url, topic = alert_env["IOC_DATABASE_URL"], alert_env["IOC_TOPIC"]
    applications(settings, topic, online=1, in_person=9)
    wait_for(lambda: count(url, "applications") == 10, 60, "the applications")
    dead = f"http://127.0.0.1:{free_port()}/nobody"
    env = {**alert_env, "IOC_ALERTS_WEBHOOKS": f"{receiver.url},{dead}", "IOC_ALERTS_RETRY_ATTEMPTS": "3"}
    receiver.accepting = False
    save_targets(url, target(f"retried {uuid.uuid4().hex[:6]}"))
    evaluator = start_evaluator(env, tmp_path, evaluators)
    wait_for(lambda: len(receiver.refused) >= 2, 60, "two refused attempts")
    receiver.accepting = True
    wait_for(lambda: len(receiver.raw) == 1, 60, "the retry that is taken")
    outbox = {r["destination"]: r for r in rows(url, "SELECT * FROM alert_notifications")}
    taken = outbox[receiver.url]
    assert taken["delivered_at"] is not None
    assert taken["attempts"] == len(receiver.refused) + 1
    assert len(set(receiver.refused)) == 1
    assert receiver.refused[0] == receiver.raw[0][0]  # every try with the same key
    wait_for(
        lambda: (
            rows(url, "SELECT attempts FROM alert_notifications WHERE destination = %(d)s", {"d": dead})[0][
                "attempts"
            ]
            == 3
        ),
        60,
        "the dead destination tried three times",
    )
    gone = rows(
        url,
        "SELECT attempts, last_error, delivered_at FROM alert_notifications WHERE destination = %(d)s",
        {"d": dead},
    )[0]
    assert gone["delivered_at"] is None
    assert "Connection refused" in gone["last_error"] or "URLError" in gone["last_error"]
    time.sleep(1.5)  # more than the longest backoff (1 s): a fourth try would have happened
    assert rows(url, "SELECT attempts FROM alert_notifications WHERE destination = %(d)s", {"d": dead}) == [
        {"attempts": 3}
    ]
    assert "given up after 3 attempts" in evaluator.stop()
