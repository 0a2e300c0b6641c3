"""A whole run, still without Kafka: the world, the scenario, the volume, the messages.

The volume is given as a rate in events per second, the mean over an ordinary week
(office hours see two to three times as many, nights a few per cent); it becomes
applications per day through the mean number of events per application, measured on a
sample week of the same world. History and live mode share the volume, so the curves
on the wall do not jump where history ends.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from itertools import takewhile

from refdata.model import ReferenceData
from simulate.faults import NO_FAULTS, Faults, Message, inject
from simulate.generate import generate
from simulate.scenarios import Scenario, resolve
from simulate.workdays import WorkCalendar
from simulate.world import World, build_world

DEFAULT_RATE = 1.0  # events per second, weekly mean: about 86,000 events a day
_SAMPLE_WEEK = datetime.fromisoformat("2024-03-04T00:00:00+07:00")  # a Monday, no holiday
_SAMPLE_PER_DAY = 150.0


@dataclass(frozen=True)
class Plan:
    """What a run generates: from ``start`` (``now`` - history) on, at a volume."""

    world: World
    scenario: Scenario
    seed: int
    start: datetime
    now: datetime
    rate: float  # events per second, weekly mean
    events_per_application: float
    applications_per_day: float


def prepare(
    refdata: ReferenceData,
    *,
    seed: int,
    now: datetime,
    history_days: float = 0.0,
    rate: float = DEFAULT_RATE,
    scenario: str = "normal",
    tz: tzinfo,
) -> Plan:
    """Build the world of ``refdata`` for ``seed`` and resolve ``scenario`` relative to ``now``."""
    if now.tzinfo is None or now.utcoffset() is None:
        msg = f"now must be a timezone-aware datetime, got {now.isoformat()}"
        raise ValueError(msg)
    if history_days < 0 or rate <= 0:
        msg = f"history_days must be ≥ 0 and rate > 0, got {history_days} and {rate}"
        raise ValueError(msg)
    calendar = WorkCalendar(tz, refdata.holidays)
    world = build_world(refdata, seed=seed, calendar=calendar, as_of=now.astimezone(tz).date())
    per_application = events_per_application(world, seed=seed)
    return Plan(
        world=world,
        scenario=resolve(scenario, world, seed=seed, now=now),
        seed=seed,
        start=now - timedelta(days=history_days),
        now=now,
        rate=rate,
        events_per_application=per_application,
        applications_per_day=rate * 86_400 / per_application,
    )


def messages(plan: Plan, *, faults: Faults = NO_FAULTS, live: bool = False) -> Iterator[Message]:
    """The run's messages in sending order: history up to ``plan.now``, then (live) on forever.

    Without ``live`` the stream ends at ``plan.now``: events still to come are not sent
    (those applications stay open), but faults held back are all sent at the end.
    """
    events = generate(
        plan.world,
        seed=plan.seed,
        start=plan.start,
        end=None,
        applications_per_day=plan.applications_per_day,
        scenario=plan.scenario,
    )
    if not live:
        cutoff = int(plan.now.timestamp())
        events = takewhile(lambda event: event.at <= cutoff, events)
    return inject(events, faults, seed=plan.seed)


def events_per_application(world: World, *, seed: int) -> float:
    """The mean number of events per application in ``world``, over a sample week."""
    events = applications = 0
    for event in generate(
        world,
        seed=seed,
        start=_SAMPLE_WEEK,
        end=_SAMPLE_WEEK + timedelta(days=7),
        applications_per_day=_SAMPLE_PER_DAY,
    ):
        events += 1
        applications += event.payload["event_type"] == "submitted"
    return events / applications if applications else 1.0
