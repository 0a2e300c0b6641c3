"""The alert state machine (DESIGN.md §7), pure: a state, an observation, now and a policy give
the next state and the transition, if any. No database, no clock: the engine brings both.

States of one (target, unit):

- ``ok``: the value meets the target (or nothing was observed yet);
- ``pending``: the value breaches the target, not yet for ``Policy.pending``;
- ``firing``: it has breached for at least ``pending``: an alert episode is open;
- ``resolved``: a firing alert ended; it behaves as ``ok`` until the next breach;
- ``insufficient``: the volume (the KPI's denominator, or the count itself) is below the
  target's minimum, or the KPI has no value: not judged either way.

Hysteresis: a firing alert resolves only once the value is better than the threshold by
``Rule.margin`` (``value >= threshold + margin`` for ``>=``, ``value <= threshold - margin``
for ``<=``), and has stayed so for ``Policy.resolve_hold``; a value between the threshold and
the margin keeps it firing. A breach shorter than ``pending`` never fires.

A firing alert whose volume drops below the minimum resolves (reason ``insufficient``): nobody
can say it still breaches, and an alert that cannot be judged should not stay open unattended.
The next observation then moves the resolved state to ``insufficient``. A firing alert whose
target is deleted (or no longer covers its unit) resolves with ``target_removed`` (``remove``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from fractions import Fraction
from typing import Literal

StateName = Literal["ok", "pending", "firing", "resolved", "insufficient"]
Reason = Literal["recovered", "insufficient", "target_removed"]
Comparison = Literal[">=", "<="]


@dataclass(frozen=True)
class State:
    name: StateName
    since: datetime  # when it entered this state
    better_since: datetime | None = None  # firing only: since when the value has cleared the margin


@dataclass(frozen=True)
class Observation:
    value: Fraction | int | None  # the KPI's own scale: a fraction for ratios
    volume: int


@dataclass(frozen=True)
class Rule:
    """A target in the KPI's own scale (a ratio's threshold of 50 % is 1/2)."""

    comparison: Comparison
    threshold: Fraction
    margin: Fraction  # hysteresis, same scale
    min_volume: int


@dataclass(frozen=True)
class Policy:
    pending: timedelta  # a breach must last this long before it fires
    resolve_hold: timedelta = timedelta(0)  # a firing alert must stay better this long to resolve


@dataclass(frozen=True)
class Transition:
    from_state: StateName
    to_state: StateName
    reason: Reason | None = None  # for a move to resolved


def judge(obs: Observation, rule: Rule) -> Literal["insufficient", "breach", "met", "clear"]:
    """``clear``: met and better than the threshold by the margin; ``met``: met, within it."""
    if obs.value is None or obs.volume < rule.min_volume:
        return "insufficient"
    value = Fraction(obs.value)
    if rule.comparison == ">=":
        if value < rule.threshold:
            return "breach"
        return "clear" if value >= rule.threshold + rule.margin else "met"
    if value > rule.threshold:
        return "breach"
    return "clear" if value <= rule.threshold - rule.margin else "met"


def initial(now: datetime) -> State:
    """The state of a (target, unit) never evaluated."""
    return State("ok", now)


def step(  # noqa: PLR0911 - one return per rule of the table above
    state: State, obs: Observation, rule: Rule, policy: Policy, now: datetime
) -> tuple[State, Transition | None]:
    """The state after observing ``obs`` at ``now``, and the transition made (None: stayed)."""
    verdict = judge(obs, rule)
    current = state.name
    if current == "firing":
        if verdict == "insufficient":
            return _move(state, "resolved", now, "insufficient")
        if verdict != "clear":
            return (replace(state, better_since=None) if state.better_since else state), None
        better_since = state.better_since or now
        if now - better_since >= policy.resolve_hold:
            return _move(state, "resolved", now, "recovered")
        return replace(state, better_since=better_since), None
    if verdict == "insufficient":
        return (state, None) if current == "insufficient" else _move(state, "insufficient", now)
    if verdict == "breach":
        if current == "pending":
            return (_move(state, "firing", now)) if now - state.since >= policy.pending else (state, None)
        return _move(state, "firing" if policy.pending <= timedelta(0) else "pending", now)
    # met or clear, not firing
    if current in ("pending", "insufficient"):
        return _move(state, "ok", now)
    return state, None


def start(obs: Observation, rule: Rule, policy: Policy, now: datetime) -> tuple[State, Transition | None]:
    """The first observation of a (target, unit): as from ``ok``, but entering ``insufficient``
    is no transition (nothing was judged before)."""
    new, move = step(initial(now), obs, rule, policy, now)
    return (new, None) if new.name == "insufficient" else (new, move)


def remove(state: State, now: datetime) -> tuple[State, Transition | None]:
    """The target is gone (or no longer covers the unit): a firing alert resolves."""
    if state.name == "firing":
        return _move(state, "resolved", now, "target_removed")
    return state, None


def wake_at(state: State, policy: Policy) -> datetime | None:
    """When the state may change with no new data: a pending breach firing, a hold ending."""
    if state.name == "pending":
        return state.since + policy.pending
    if state.name == "firing" and state.better_since is not None:
        return state.better_since + policy.resolve_hold
    return None


def _move(
    state: State, to: StateName, now: datetime, reason: Reason | None = None
) -> tuple[State, Transition]:
    return State(to, now), Transition(state.name, to, reason)
