"""The event stream: applications filed half-hour by half-hour, their events in time order.

Each local half-hour draws its own arrivals from a random generator seeded by the seed
and the half-hour, so a seed gives the same applications for the same hours whatever
window is asked for, and runs are reproducible. Arrivals per half-hour are Poisson with
a mean from the volume and the shape of the day (``shape``), separately for counter
and online filings; units and procedures are drawn by their weights (``world``).

Every application is planned whole when filed; a heap holds the next step of every
open application, and a step is emitted once no later arrival can precede it. The
stream is therefore in time order (ties broken by filing order), and events of one
application are strictly increasing in time. It is infinite unless ``end`` is given.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Iterator
from datetime import datetime
from random import Random
from typing import Any, NamedTuple

from simulate import rates, shape
from simulate.lifecycle import STEP_EVENTS, SUBMITTED, Application, plan
from simulate.scenarios import Scenario
from simulate.seeds import seeded
from simulate.world import Intake, World

SCHEMA_VERSION = 1


class SimEvent(NamedTuple):
    """One event: when it happens (epoch seconds), and its JSON object (DESIGN.md §2)."""

    at: int
    payload: dict[str, Any]


def generate(
    world: World,
    *,
    seed: int,
    start: datetime,
    end: datetime | None,
    applications_per_day: float,
    scenario: Scenario | None = None,
) -> Iterator[SimEvent]:
    """Events of the applications filed in ``[start, end)``, in time order.

    ``applications_per_day`` is the mean over an ordinary week (weekdays get more,
    Sundays few). Events of those applications after ``end`` are included: cut the
    stream where you need. With ``end`` None the stream never ends.
    """
    _aware(start, "start")
    if end is not None:
        _aware(end, "end")
    scenario = scenario or Scenario()
    calendar = world.calendar
    total = world.counter_total + world.online_total
    counter_week, online_week = shape.week_totals()
    per_week = applications_per_day * 7.0
    counter_scale = per_week * world.counter_total / total / counter_week if total else 0.0
    online_scale = per_week * world.online_total / total / online_week if total else 0.0
    first, last = int(start.timestamp()), None if end is None else int(end.timestamp())
    heap: list[tuple[int, int, int, Application]] = []
    sequence = 0
    day = calendar.day_of(first)
    slot = (first - calendar.midnight(day)) // shape.SLOT_SECONDS
    while last is None or calendar.at(day, slot * shape.SLOT_SECONDS) < last:
        counter_w, online_w = shape.day_weights(calendar, day)
        for index in range(slot, shape.SLOTS_PER_DAY):
            slot_start = calendar.at(day, index * shape.SLOT_SECONDS)
            if last is not None and slot_start >= last:
                break
            rng = seeded(seed, slot_start)
            arrivals = _arrivals(
                world,
                scenario,
                rng,
                slot_start=slot_start,
                counter_mean=counter_scale * counter_w[index],
                online_mean=online_scale * online_w[index],
            )
            stamp = datetime.fromtimestamp(slot_start, calendar.tz).strftime("%y%m%d-%H%M")
            for number, (t, intake, online) in enumerate(arrivals):
                if t < first or (last is not None and t >= last):
                    continue
                app_id = f"HS{seed}-{stamp}-{number:04d}"
                app = _plan(rng, world, scenario, intake, online=online, t=t, application_id=app_id)
                heapq.heappush(heap, (app.times[0], sequence, 0, app))
                sequence += 1
            yield from _due(heap, slot_start + shape.SLOT_SECONDS, calendar.iso)
        day, slot = day + 1, 0
    yield from _due(heap, None, calendar.iso)


def event_payload(app: Application, step: int, iso: Callable[[int], str]) -> dict[str, Any]:
    """The JSON object of step ``step`` of ``app``; ``iso`` formats epoch seconds."""
    code = app.codes[step]
    event_type, extra = STEP_EVENTS[code]
    payload: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "event_id": f"{app.application_id}-{step:02d}",
        "event_type": event_type,
        "occurred_at": iso(app.times[step]),
        "application_id": app.application_id,
        "procedure_code": app.procedure_code,
        "agency_code": app.agency_code,
        "unit_code": app.unit_code,
    }
    if code == SUBMITTED:
        payload["channel"] = app.channel
        payload["online_level"] = app.online_level
        payload["vneid_authenticated"] = app.vneid_authenticated
        payload["reused_data"] = app.reused_data
    elif event_type == "received":
        payload["due_at"] = iso(app.due_at)
    elif event_type == "paid":
        payload["amount_vnd"] = app.fee_vnd
    payload.update(extra)
    return payload


def _due(
    heap: list[tuple[int, int, int, Application]], before: int | None, iso: Callable[[int], str]
) -> Iterator[SimEvent]:
    """Pop and emit every step earlier than ``before`` (all with None)."""
    while heap and (before is None or heap[0][0] < before):
        t, sequence, step, app = heap[0]
        if step + 1 < len(app.times):
            heapq.heapreplace(heap, (app.times[step + 1], sequence, step + 1, app))
        else:
            heapq.heappop(heap)
        yield SimEvent(t, event_payload(app, step, iso))


def _arrivals(
    world: World,
    scenario: Scenario,
    rng: Random,
    *,
    slot_start: int,
    counter_mean: float,
    online_mean: float,
) -> list[tuple[int, Intake, bool]]:
    """This half-hour's filings: (time, unit, online?), in time order."""
    found = []
    for _ in range(_poisson(rng, counter_mean)):
        found.append((slot_start + rng.randrange(shape.SLOT_SECONDS), world.counter_intake(rng), False))
    for _ in range(_poisson(rng, online_mean)):
        t, intake = slot_start + rng.randrange(shape.SLOT_SECONDS), world.online_intake(rng)
        if scenario.keeps_online(intake.profile.unit.code, t, rng):
            found.append((t, intake, True))
    found.sort(key=lambda arrival: arrival[0])
    return found


def _plan(
    rng: Random,
    world: World,
    scenario: Scenario,
    intake: Intake,
    *,
    online: bool,
    t: int,
    application_id: str,
) -> Application:
    if online:
        route, channel = intake.online_route(rng), "online"
    else:
        route = intake.counter_route(rng)
        channel = "postal" if rng.random() < rates.POSTAL_SHARE else "in_person"
    return plan(
        rng,
        world.calendar,
        intake.profile,
        route,
        application_id=application_id,
        channel=channel,
        filed_at=t,
        scenario=scenario,
    )


def _poisson(rng: Random, mean: float) -> int:
    """A Poisson draw: exact for small means, normal approximation above 30."""
    if mean <= 0:
        return 0
    if mean > 30:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, product, count = math.exp(-mean), rng.random(), 0
    while product > limit:
        product *= rng.random()
        count += 1
    return count


def _aware(moment: datetime, name: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        msg = f"{name} must be a timezone-aware datetime, got {moment.isoformat()}"
        raise ValueError(msg)
