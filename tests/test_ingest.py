"""`ioc ingest` as it runs for real: a process reading real Kafka into a real database."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st
from kafka import KafkaProducer
from kafka.admin import NewTopic
from psycopg import sql

import store
from ioc.settings import Settings
from refdata import db as refdata_db
from refdata import files as refdata_files
from refdata.model import Agency, Procedure, ReferenceData, Unit
from simulate.faults import Faults
from simulate.produce import produce as simulate_produce
from stack import kafka_broker, postgres
from store import rollups
from store.migrate import DEFAULT_TIMEZONE
from tests.events import NOW, event_json
from tests.net import free_port
from tests.test_cli import ioc
from tests.test_sink import assert_invariants as assert_sink_invariants
from tests.test_sink import history

Connection = psycopg.Connection[tuple[object, ...]]

REFDATA = ReferenceData(
    units=(
        Unit("01", "Thành phố Hà Nội", "province", None, date(2025, 7, 1)),
        Unit("001", "Huyện mẫu 1 (Hà Nội)", "district", "01", date(2025, 7, 1), is_sample=True),
        Unit("00001", "Xã mẫu 1.1 (Hà Nội)", "commune", "001", date(2025, 7, 1), is_sample=True),
        Unit("00002", "Xã mẫu 1.2 (Hà Nội)", "commune", "001", date(2025, 7, 1), is_sample=True),
    ),
    agencies=(Agency("C00001.UBND", "UBND Xã mẫu 1.1", "commune_committee", "00001"),),
    procedures=(Procedure("1.001", "Đăng ký khai sinh", "Hộ tịch", "full", "commune", False, True, 1, True),),
)

POISON = {
    b"\xff\xfe not utf-8": "not UTF-8",
    b"{not json": "not JSON",
    b"[1, 2]": "expected a JSON object",
    json.dumps({**event_json("received", "HS-P", NOW), "due_at": "2026-11-30T17:00:00"}).encode(): "due_at",
    json.dumps(event_json("submitted", "HS-P", NOW, channel="web")).encode(): "channel",
    json.dumps(event_json("submitted", "HS-P", NOW, unit="99999")).encode(): "unknown code '99999'",
    json.dumps({**event_json("rated", "HS-P", NOW), "schema_version": 2}).encode(): "schema_version",
    json.dumps({**event_json("rated", "HS-P", NOW), "event_type": "approved"}).encode(): "event_type",
    json.dumps(event_json("rated", "HS-P", NOW + timedelta(days=3650))).encode(): "in the future",
    b"{" + b" " * 70_000 + b"}": "exceeds the limit",
}


def lifecycle(n: int) -> list[dict]:
    at = NOW - timedelta(days=n % 20 + 1)
    app = f"HS-{n}"
    unit = "00001" if n % 3 else "00002"
    return [
        event_json("submitted", app, at, unit=unit, channel="online" if n % 2 else "in_person"),
        event_json("received", app, at + timedelta(hours=1), unit=unit),
        event_json("resolved", app, at + timedelta(days=1), unit=unit),
    ]


def prepare(url: str, data: ReferenceData = REFDATA) -> None:
    """Migrate a test database and load its reference data (``save`` is one transaction)."""
    with store.connect(url, autocommit=True) as conn:
        store.migrate(conn)
        refdata_db.save(conn, data)


@pytest.fixture
def ingest_env(settings: Settings, timescale_url: str, topic: str) -> dict[str, str]:
    prepare(timescale_url)
    return {**os.environ, "IOC_DATABASE_URL": timescale_url, "IOC_TOPIC": topic}


def start_ingest(
    env: dict[str, str], group: str, *extra: str, log: Path | None = None
) -> subprocess.Popen[str]:
    """``ioc ingest`` in a child process, returned once it handles SIGTERM (so a test may stop it)."""
    argv = [sys.executable, "-m", "ioc", "ingest", "--group", group, *extra]
    if log is None:
        proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    else:
        with log.open("w") as err:  # the child keeps its own descriptor
            proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=err, text=True)
    wait_for(lambda: proc.poll() is not None or catches_sigterm(proc.pid), 60, "ingest to start")
    return proc


def catches_sigterm(pid: int) -> bool:
    """Whether the process has installed a SIGTERM handler (Linux: SigCgt in /proc/PID/status)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    caught = next(line.split()[1] for line in status.splitlines() if line.startswith("SigCgt:"))
    return bool(int(caught, 16) & (1 << (signal.SIGTERM - 1)))


def produce(settings: Settings, topic: str, values: list[bytes], keys: list[bytes] | None = None) -> None:
    producer = KafkaProducer(bootstrap_servers=list(settings.kafka_bootstrap), acks="all", linger_ms=20)
    for i, value in enumerate(values):
        producer.send(topic, key=keys[i] if keys else None, value=value)
    producer.flush(timeout=60)
    producer.close()


def wait_for(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.1)


def count(url: str, table: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))).fetchone()
    assert row is not None
    return int(row[0])


def assert_rollups_exact(url: str) -> None:
    with psycopg.connect(url) as conn:
        assert rollups.drifted(conn, DEFAULT_TIMEZONE) == []


def stop(proc: subprocess.Popen[str], log: Path | None = None) -> str:
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    err = log.read_text() if log else err
    assert proc.returncode == 0, err
    return err


def assert_exactly_once(url: str, applications: int) -> None:
    """Every lifecycle() event stored once; rollups count each application once."""
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*), count(DISTINCT event_id) FROM events").fetchone()
        totals = conn.execute("SELECT sum(received), sum(resolved) FROM rollup_daily").fetchone()
    assert row == (3 * applications, 3 * applications)
    assert totals == (applications, applications)
    assert count(url, "applications") == applications
    assert_rollups_exact(url)


def test_valid_events_once_and_every_poison_message_kept(settings, ingest_env, topic):
    url = ingest_env["IOC_DATABASE_URL"]
    events = [e for n in range(200) for e in lifecycle(n)]
    values = [json.dumps(e).encode() for e in events]
    values += values[:50]  # redelivered duplicates
    values += list(POISON)
    produce(settings, topic, values, keys=None)

    port = free_port()
    group = f"g-{uuid.uuid4().hex[:8]}"
    proc = start_ingest(ingest_env, group, "--batch-size", "97", "--metrics-port", str(port))
    wait_for(
        lambda: count(url, "events") == len(events) and count(url, "dead_letters") == len(POISON),
        60,
        "ingest",
    )

    def metrics() -> str:
        return urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()

    wait_for(lambda: 'ioc_ingest_events_total{outcome="dead_letter"} 10.0' in metrics(), 10, "the metrics")
    scraped = metrics()
    err = stop(proc)

    assert 'ioc_ingest_events_total{outcome="stored"} 600.0' in scraped
    assert 'ioc_ingest_events_total{outcome="duplicate"} 50.0' in scraped
    assert f'ioc_ingest_consumer_lag{{partition="0",topic="{topic}"}}' in scraped
    assert "ioc_ingest_database_up 1.0" in scraped

    assert "600 events stored, 50 duplicates ignored, 10 dead letters" in err
    assert count(url, "applications") == 200
    with psycopg.connect(url) as conn:
        reasons = dict(conn.execute("SELECT payload, reason FROM dead_letters").fetchall())
        totals = conn.execute(
            "SELECT sum(received), sum(received) FILTER (WHERE channel = 'online'), sum(resolved)"
            " FROM rollup_daily"
        ).fetchone()
    for payload, expected in POISON.items():
        assert expected in reasons[payload], (expected, reasons[payload])
    assert totals == (200, 100, 200)
    assert_rollups_exact(url)


def test_sigkill_mid_stream_then_restart_loses_and_doubles_nothing(settings, ingest_env, topic):
    url = ingest_env["IOC_DATABASE_URL"]
    events = [e for n in range(4000) for e in lifecycle(n)]
    produce(
        settings,
        topic,
        [json.dumps(e).encode() for e in events],
        keys=[e["application_id"].encode() for e in events],
    )
    group = f"g-{uuid.uuid4().hex[:8]}"

    first = start_ingest(ingest_env, group, "--batch-size", "500")
    wait_for(lambda: count(url, "events") > 0, 60, "the first batches")
    first.kill()  # SIGKILL: no clean-up, offsets of the batch in flight not committed
    first.communicate(timeout=30)
    stored_at_kill = count(url, "events")
    assert 0 < stored_at_kill < len(events), "kill landed mid-stream"

    second = start_ingest(ingest_env, group, "--batch-size", "500")
    wait_for(lambda: count(url, "events") == len(events), 120, "the restarted consumer")
    stop(second)
    assert_exactly_once(url, 4000)


def test_sigterm_during_a_database_outage_exits_cleanly_without_committing(
    settings, ingest_env, topic, tmp_path: Path
):
    env = {**ingest_env, "IOC_DATABASE_URL": "postgresql://ioc@127.0.0.1:1/nowhere"}
    produce(settings, topic, [json.dumps(e).encode() for e in lifecycle(1)])
    proc = start_ingest(env, f"g-{uuid.uuid4().hex[:8]}")
    time.sleep(4)
    err = stop(proc)
    assert "database unreachable, batch kept" in err
    assert "0 events stored" in err
    retries = err.count("database unreachable")
    assert 2 <= retries <= 6, f"backoff: {retries} retries in 4 s"


def keyed(applications: int) -> tuple[list[bytes], list[bytes]]:
    events = [e for n in range(applications) for e in lifecycle(n)]
    return [json.dumps(e).encode() for e in events], [e["application_id"].encode() for e in events]


def test_two_consumers_share_partitions_and_the_survivor_takes_over(settings, ingest_env, topic, tmp_path):
    url = ingest_env["IOC_DATABASE_URL"]
    values, keys = keyed(5000)
    group = f"g-{uuid.uuid4().hex[:8]}"
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    a = start_ingest(ingest_env, group, "--batch-size", "200", log=logs[0])
    b = start_ingest(ingest_env, group, "--batch-size", "200", log=logs[1])
    wait_for(
        lambda: all("partitions assigned: ['test" in log.read_text() for log in logs), 60, "both to share"
    )
    produce(settings, topic, values, keys)
    wait_for(lambda: count(url, "events") > 0, 60, "the first batches")
    a.kill()
    a.communicate(timeout=30)
    takeover = f"partitions assigned: ['{topic}/0', '{topic}/1', '{topic}/2']"
    wait_for(lambda: takeover in logs[1].read_text(), 60, "the survivor to take every partition")
    wait_for(lambda: count(url, "events") == len(values), 120, "the survivor")
    stop(b, logs[1])
    assert_exactly_once(url, 5000)


def test_a_member_joining_mid_stream_loses_nothing(settings, ingest_env, topic, tmp_path):
    """An eager rebalance revokes every partition and may give some back with their positions
    kept: records read before it must still be written (a gap found by the benchmark)."""
    url = ingest_env["IOC_DATABASE_URL"]
    values, keys = keyed(20_000)
    produce(settings, topic, values, keys)
    group = f"g-{uuid.uuid4().hex[:8]}"
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    a = start_ingest(ingest_env, group, "--batch-size", "200", log=logs[0])
    wait_for(lambda: count(url, "events") > 3000, 60, "the first member under way")
    b = start_ingest(ingest_env, group, "--batch-size", "200", log=logs[1])
    wait_for(lambda: "partitions assigned: ['test" in logs[1].read_text(), 60, "the second member")
    wait_for(lambda: count(url, "events") == len(values), 180, "every event")
    stop(a, logs[0])
    stop(b, logs[1])
    assert_exactly_once(url, 20_000)


def test_postgres_restart_under_load(settings, plain_stack, make_database, topic, tmp_path):
    url = make_database(postgres.url(plain_stack))
    prepare(url)
    env = {**os.environ, "IOC_DATABASE_URL": url, "IOC_TOPIC": topic}
    values, keys = keyed(4000)
    produce(settings, topic, values, keys)
    log = tmp_path / "ingest.log"
    proc = start_ingest(env, f"g-{uuid.uuid4().hex[:8]}", "--batch-size", "300", log=log)
    wait_for(lambda: count(url, "events") > 0, 60, "the first batches")
    postgres.down(plain_stack)
    time.sleep(2)
    postgres.up(plain_stack, log=lambda _: None)
    wait_for(lambda: count(url, "events") == len(values), 120, "ingest to resume")
    err = stop(proc, log)
    assert "database unreachable, batch kept" in err
    assert "database reachable again" in err
    assert_exactly_once(url, 4000)


def test_kafka_restart_under_load(settings, local_stack, ingest_env, topic, tmp_path):
    url = ingest_env["IOC_DATABASE_URL"]
    values, keys = keyed(3000)
    produce(settings, topic, values[: len(values) // 2], keys[: len(values) // 2])
    log = tmp_path / "ingest.log"
    proc = start_ingest(ingest_env, f"g-{uuid.uuid4().hex[:8]}", "--batch-size", "300", log=log)
    wait_for(lambda: count(url, "events") > 0, 60, "the first batches")
    kafka_broker.down(local_stack)
    time.sleep(2)
    kafka_broker.up(local_stack, log=lambda _: None)
    produce(settings, topic, values[len(values) // 2 :], keys[len(values) // 2 :])
    wait_for(lambda: count(url, "events") == len(values), 120, "ingest after the broker's restart")
    stop(proc, log)
    assert_exactly_once(url, 3000)


def test_dead_letters_are_listed_and_a_fixed_one_replayed(settings, ingest_env, topic, tmp_path):
    url = ingest_env["IOC_DATABASE_URL"]
    wrong_unit = event_json("submitted", "HS-fix", NOW - timedelta(hours=1), unit="99999")
    produce(settings, topic, [json.dumps(wrong_unit).encode(), b"{broken"])
    log = tmp_path / "ingest.log"
    proc = start_ingest(ingest_env, f"g-{uuid.uuid4().hex[:8]}", log=log)
    try:
        wait_for(lambda: count(url, "dead_letters") == 2, 60, "the dead letters")
        listed = ioc("deadletters", "list", "--reason", "unknown code", env=ingest_env)
        assert listed.returncode == 0, listed.stderr
        assert "reason: unit_code: unknown code '99999'" in listed.stdout
        assert "not JSON" not in listed.stdout
        with psycopg.connect(url) as conn:
            ids = dict(conn.execute("SELECT reason LIKE 'not JSON%%', id FROM dead_letters").fetchall())

        again = ioc("deadletters", "replay", str(ids[True]), env=ingest_env)
        assert again.returncode == 1
        assert "would be rejected again: not JSON" in again.stderr

        fixed = tmp_path / "fixed.json"
        fixed.write_text(json.dumps({**wrong_unit, "unit_code": "00001"}))
        replayed = ioc("deadletters", "replay", str(ids[False]), "--payload", str(fixed), env=ingest_env)
        assert replayed.returncode == 0, replayed.stderr
        assert f"sent again as {topic}/" in replayed.stdout
        wait_for(lambda: count(url, "events") == 1, 60, "the replayed event")
    finally:
        stop(proc, log)
    pending = ioc("deadletters", "list", "--pending", env=ingest_env)
    assert "unknown code" not in pending.stdout
    assert "not JSON" in pending.stdout
    assert count(url, "dead_letters") == 2  # nothing is deleted


def test_simulated_traffic_with_faults_is_stored_exactly_once(settings, timescale_url, topic):
    data = refdata_files.read_dir(refdata_files.default_dir())
    prepare(timescale_url, data)
    summary = simulate_produce(
        data,
        bootstrap=settings.kafka_bootstrap,
        topic=topic,
        tz=settings.timezone,
        seed=11,
        history_days=0.5,
        faults=Faults.parse("duplicates=0.03,reorder=0.05,late=0.01,malformed=0.01"),
        now=datetime.now(settings.timezone) - timedelta(hours=1),
    ).as_dict()
    env = {**os.environ, "IOC_DATABASE_URL": timescale_url, "IOC_TOPIC": topic}
    valid, malformed = sum(summary["events"].values()), sum(summary["malformed"].values())
    assert summary["duplicates"] > 0
    assert malformed > 0
    proc = start_ingest(env, f"g-{uuid.uuid4().hex[:8]}")
    wait_for(
        lambda: count(timescale_url, "events") == valid and count(timescale_url, "dead_letters") == malformed,
        90,
        "the simulated traffic",
    )
    stop(proc)
    assert count(timescale_url, "applications") == summary["applications"]
    assert_rollups_exact(timescale_url)


@hyp_settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    seed=st.integers(0, 10_000),
    duplicate_share=st.floats(0, 0.3),
    kill_at=st.floats(0.05, 0.95),
    batch_size=st.integers(20, 300),
)
def test_any_history_survives_shuffling_duplication_and_a_killed_consumer(
    settings, kafka_admin, make_database, seed, duplicate_share, kill_at, batch_size
):
    topic = f"test.{uuid.uuid4().hex[:12]}"
    kafka_admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)])
    url = make_database(settings.database_url)
    prepare(url)
    bodies = history(300, seed)
    rnd = random.Random(seed)
    delivered = bodies + rnd.sample(bodies, int(len(bodies) * duplicate_share))
    rnd.shuffle(delivered)
    produce(
        settings,
        topic,
        [json.dumps(b).encode() for b in delivered],
        [b["application_id"].encode() for b in delivered],
    )
    env = {**os.environ, "IOC_DATABASE_URL": url, "IOC_TOPIC": topic}
    group = f"g-{uuid.uuid4().hex[:8]}"
    args = ("--batch-size", str(batch_size), "--session-timeout", "6")
    try:
        first = start_ingest(env, group, *args)
        wait_for(lambda: count(url, "events") >= int(len(bodies) * kill_at), 60, "the kill point")
        first.kill()
        first.communicate(timeout=30)
        second = start_ingest(env, group, *args)
        wait_for(lambda: count(url, "events") == len(bodies), 90, "the restarted consumer")
        stop(second)
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT count(DISTINCT event_id) FROM events").fetchone() == (len(bodies),)
            assert_sink_invariants(conn, len(bodies))
    finally:
        kafka_admin.delete_topics([topic])
