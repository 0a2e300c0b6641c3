"""The simulator's online collapse, end to end: its events through Kafka and real ingest drive
the collapsed district's online-submission target into firing, and back to resolved when the
online channel recovers (scenario parameter ``hours``)."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest

from refdata.model import ReferenceData
from simulate.faults import Message
from simulate.stream import messages, prepare
from tests import test_alerts_engine as engine
from tests.test_alerts_engine import in_state, rows, save_targets, start_evaluator, target, transitions
from tests.test_ingest import produce, wait_for
from tests.test_simulate import REFDATA, TZ

# the engine tests' fixtures, on the simulator's small world (three sample districts)
receiver = engine.receiver
alert_env = engine.alert_env
ingest = engine.ingest
evaluators = engine.evaluators


@pytest.fixture
def refdata() -> ReferenceData:
    return REFDATA


SEED = 7
HISTORY_DAYS = 5.0
RATE = 0.03  # events per second over the whole small world: a few thousand events a day
MARGIN = 2  # IOC_ALERTS_HYSTERESIS, percentage points


def plan_collapse(now: datetime) -> tuple[str, list[Message], datetime, datetime]:
    """The collapsed district, the run's messages, and the collapse's start and end: chosen so
    that about a fifth of the district's applications come before it, a fifth during it, and the
    rest after it (enough for the recovery to lift the rolling rate back above the target)."""
    probe = prepare(
        REFDATA,
        seed=SEED,
        now=now,
        history_days=HISTORY_DAYS,
        rate=RATE,
        scenario="online-collapse:hours_ago=0",
        tz=TZ,
    )
    district, affected = probe.scenario.unit_code, probe.scenario.affected
    assert district is not None
    received = sorted(m.at for m in messages(probe) if m.event_type == "received" and _unit(m) in affected)
    start = datetime.fromtimestamp(received[len(received) // 5], TZ).replace(microsecond=0)
    end = datetime.fromtimestamp(received[2 * len(received) // 5], TZ).replace(microsecond=0)
    hours = (end - start).total_seconds() / 3600
    spec = f"online-collapse:unit={district},start={start.isoformat()},hours={hours},kept=0"
    plan = prepare(REFDATA, seed=SEED, now=now, history_days=HISTORY_DAYS, rate=RATE, scenario=spec, tz=TZ)
    assert plan.scenario.affected == affected
    return district, list(messages(plan)), start, end


def _unit(message: Message) -> str:
    return str(json.loads(message.value)["unit_code"])


def online_share(sent: list[Message], affected: frozenset[str]) -> tuple[Fraction, int]:
    """What online_submission_rate says of the district over what was sent (and its volume)."""
    bodies = [json.loads(m.value) for m in sent]
    channel = {b["application_id"]: b.get("channel") for b in bodies if b["event_type"] == "submitted"}
    received = [
        b["application_id"] for b in bodies if b["event_type"] == "received" and b["unit_code"] in affected
    ]
    online = sum(channel.get(app) == "online" for app in received)
    return Fraction(online, len(received)), len(received)


def test_online_collapse_fires_for_the_district_and_resolves_when_it_recovers(
    settings, alert_env, ingest, evaluators, receiver, tmp_path: Path
):
    url, topic = alert_env["IOC_DATABASE_URL"], alert_env["IOC_TOPIC"]
    now = datetime.now(TZ).replace(microsecond=0) - timedelta(minutes=1)
    district, sent, start, end = plan_collapse(now)
    affected = frozenset(u.code for u in REFDATA.units if u.code == district or u.parent_code == district)
    stages = [
        [m for m in sent if m.at < start.timestamp()],
        [m for m in sent if start.timestamp() <= m.at < end.timestamp()],
        [m for m in sent if m.at >= end.timestamp()],
    ]
    before, n_before = online_share(stages[0], affected)
    during, n_during = online_share(stages[0] + stages[1], affected)
    after, n_after = online_share(sent, affected)
    # a threshold the collapse breaches and the recovery clears by more than the margin
    low, high = during * 100, min(before * 100, after * 100 - MARGIN)
    assert high - low > 2, (before, during, after)
    threshold = Decimal(round(float(low + high) / 2, 1))
    name = f"Huyện {district} — tỷ lệ hồ sơ nộp trực tuyến"
    save_targets(url, target(name, unit=district, threshold=threshold, min_volume=20))

    produce(settings, topic, [m.value for m in stages[0]], [m.key for m in stages[0]])
    # no scheduled pass after the first: ingest's announcements alone drive the evaluations
    evaluator = start_evaluator({**alert_env, "IOC_ALERTS_INTERVAL_S": "600"}, tmp_path, evaluators)
    wait_for(lambda: in_state(url, name, "ok", volume=n_before, unit=district), 90, "ok before the collapse")

    produce(settings, topic, [m.value for m in stages[1]], [m.key for m in stages[1]])
    sent_at = time.monotonic()
    wait_for(lambda: in_state(url, name, "firing", unit=district), 60, "the collapse to fire")
    took = time.monotonic() - sent_at
    [episode] = rows(url, "SELECT * FROM alerts WHERE target_name = %(t)s", {"t": name})
    assert episode["fired_volume"] == n_during
    assert abs(episode["fired_value"] - Decimal(during.numerator) / during.denominator) < Decimal("1e-11")

    produce(settings, topic, [m.value for m in stages[2]], [m.key for m in stages[2]])
    wait_for(lambda: in_state(url, name, "resolved", volume=n_after, unit=district), 90, "the recovery")
    assert transitions(url, name) == [("ok", "pending"), ("pending", "firing"), ("firing", "resolved")]
    [episode] = rows(url, "SELECT * FROM alerts WHERE target_name = %(t)s", {"t": name})
    assert episode["resolved_reason"] == "recovered"
    wait_for(lambda: len(receiver.raw) == 2, 30, "the firing and resolved webhooks")
    assert [(b["kind"], b["unit_code"]) for _, b in receiver.raw] == [
        ("firing", district),
        ("resolved", district),
    ]
    assert took < 20, f"fired {took:.1f} s after the collapse's events were sent"
    evaluator.stop()
