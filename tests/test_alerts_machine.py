"""The alert state machine, pure: every state against every verdict, and properties over any
sequence of observations (pending duration, hysteresis, minimum volume, no flapping)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from alerts.machine import (
    Observation,
    Policy,
    Rule,
    State,
    Transition,
    initial,
    judge,
    remove,
    start,
    step,
    wake_at,
)

T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
AT_LEAST_HALF = Rule(">=", Fraction(1, 2), Fraction(2, 100), min_volume=10)
AT_MOST_50 = Rule("<=", Fraction(50), Fraction(2), min_volume=0)
MINUTE = Policy(pending=timedelta(minutes=1))

BREACH = Observation(Fraction(49, 100), 100)
MET = Observation(Fraction(51, 100), 100)  # meets the target, within the margin
CLEAR = Observation(Fraction(52, 100), 100)  # better by the margin
THIN = Observation(Fraction(10, 100), 5)  # below the minimum volume
NONE = Observation(None, 0)  # no data


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_verdicts_on_both_sides_and_at_the_edges():
    assert judge(Observation(Fraction(1, 2), 10), AT_LEAST_HALF) == "met"  # the threshold meets it
    assert judge(Observation(Fraction(52, 100), 10), AT_LEAST_HALF) == "clear"  # margin reached
    assert judge(Observation(Fraction(1, 2), 9), AT_LEAST_HALF) == "insufficient"
    assert judge(NONE, Rule(">=", Fraction(0), Fraction(0), 0)) == "insufficient"
    assert judge(Observation(50, 50), AT_MOST_50) == "met"
    assert judge(Observation(51, 51), AT_MOST_50) == "breach"
    assert judge(Observation(48, 48), AT_MOST_50) == "clear"
    assert judge(Observation(49, 49), AT_MOST_50) == "met"


# Every state against every kind of observation, before and after the pending duration.
TABLE = [
    # state, observation, seconds since the state began, expected state, transition or None
    ("ok", BREACH, 0, "pending", ("ok", "pending", None)),
    ("ok", MET, 0, "ok", None),
    ("ok", CLEAR, 0, "ok", None),
    ("ok", THIN, 0, "insufficient", ("ok", "insufficient", None)),
    ("ok", NONE, 0, "insufficient", ("ok", "insufficient", None)),
    ("pending", BREACH, 59, "pending", None),
    ("pending", BREACH, 60, "firing", ("pending", "firing", None)),
    ("pending", MET, 30, "ok", ("pending", "ok", None)),
    ("pending", CLEAR, 30, "ok", ("pending", "ok", None)),
    ("pending", THIN, 90, "insufficient", ("pending", "insufficient", None)),
    ("firing", BREACH, 600, "firing", None),
    ("firing", MET, 600, "firing", None),  # within the margin: still firing
    ("firing", CLEAR, 1, "resolved", ("firing", "resolved", "recovered")),
    ("firing", THIN, 5, "resolved", ("firing", "resolved", "insufficient")),
    ("firing", NONE, 5, "resolved", ("firing", "resolved", "insufficient")),
    ("resolved", BREACH, 0, "pending", ("resolved", "pending", None)),
    ("resolved", MET, 0, "resolved", None),
    ("resolved", CLEAR, 0, "resolved", None),
    ("resolved", THIN, 0, "insufficient", ("resolved", "insufficient", None)),
    ("insufficient", BREACH, 0, "pending", ("insufficient", "pending", None)),
    ("insufficient", MET, 0, "ok", ("insufficient", "ok", None)),
    ("insufficient", CLEAR, 0, "ok", ("insufficient", "ok", None)),
    ("insufficient", THIN, 0, "insufficient", None),
]


@pytest.mark.parametrize(("name", "obs", "elapsed", "expected", "move"), TABLE)
def test_each_state_and_observation(name, obs, elapsed, expected, move):
    state = State(name, T0)
    new, transition = step(state, obs, AT_LEAST_HALF, MINUTE, at(elapsed))
    assert new.name == expected
    if move is None:
        assert transition is None
        assert new.since == T0
    else:
        assert transition == Transition(*move)
        assert new.since == at(elapsed)


def test_without_a_pending_duration_a_breach_fires_at_once():
    new, move = step(initial(T0), BREACH, AT_LEAST_HALF, Policy(pending=timedelta(0)), T0)
    assert (new.name, move) == ("firing", Transition("ok", "firing"))


def test_a_resolution_may_have_to_hold():
    policy = Policy(pending=timedelta(0), resolve_hold=timedelta(seconds=30))
    firing = State("firing", T0)
    held, move = step(firing, CLEAR, AT_LEAST_HALF, policy, at(10))
    assert (held.name, held.better_since, move) == ("firing", at(10), None)
    assert wake_at(held, policy) == at(40)
    relapsed, move = step(held, MET, AT_LEAST_HALF, policy, at(20))  # not clear: the hold starts again
    assert (relapsed.better_since, move) == (None, None)
    again, _ = step(relapsed, CLEAR, AT_LEAST_HALF, policy, at(25))
    still, move = step(again, CLEAR, AT_LEAST_HALF, policy, at(54))
    assert (still.name, move) == ("firing", None)
    done, move = step(still, CLEAR, AT_LEAST_HALF, policy, at(55))
    assert (done.name, move) == ("resolved", Transition("firing", "resolved", "recovered"))


def test_the_first_observation_starts_quietly_unless_it_breaches():
    assert start(THIN, AT_LEAST_HALF, MINUTE, T0) == (State("insufficient", T0), None)
    assert start(MET, AT_LEAST_HALF, MINUTE, T0) == (State("ok", T0), None)
    assert start(BREACH, AT_LEAST_HALF, MINUTE, T0) == (State("pending", T0), Transition("ok", "pending"))


def test_a_removed_target_resolves_only_a_firing_alert():
    assert remove(State("firing", T0), at(1)) == (
        State("resolved", at(1)),
        Transition("firing", "resolved", "target_removed"),
    )
    for name in ("ok", "pending", "resolved", "insufficient"):
        assert remove(State(name, T0), at(1)) == (State(name, T0), None)


def test_wake_at_says_when_a_pending_breach_fires():
    assert wake_at(State("pending", T0), MINUTE) == at(60)
    assert wake_at(State("ok", T0), MINUTE) is None
    assert wake_at(State("firing", T0), MINUTE) is None


# --- properties over sequences ------------------------------------------------------------------

observations = st.builds(
    Observation,
    st.one_of(st.none(), st.fractions(min_value=0, max_value=1, max_denominator=200)),
    st.integers(min_value=0, max_value=40),
)
sequences = st.lists(st.tuples(observations, st.integers(min_value=0, max_value=90)), max_size=60)
policies = st.builds(
    Policy,
    st.integers(min_value=0, max_value=120).map(lambda s: timedelta(seconds=s)),
    st.integers(min_value=0, max_value=120).map(lambda s: timedelta(seconds=s)),
)
rules = st.builds(
    Rule,
    st.sampled_from([">=", "<="]),
    st.fractions(min_value=0, max_value=1, max_denominator=100),
    st.fractions(min_value=0, max_value=Fraction(1, 10), max_denominator=100),
    st.integers(min_value=0, max_value=20),
)


def run(seq, rule, policy):
    """Every (time, observation, state after, transition) of a sequence from the initial state."""
    state, now, found = initial(T0), T0, []
    for obs, gap in seq:
        now += timedelta(seconds=gap)
        before = state
        state, move = step(state, obs, rule, policy, now)
        found.append((now, obs, before, state, move))
    return found


@hyp_settings(max_examples=400, deadline=None)
@given(sequences, rules, policies)
def test_every_sequence_keeps_the_rules(seq, rule, policy):
    steps = run(seq, rule, policy)
    for i, (now, obs, before, after, move) in enumerate(steps):
        verdict = judge(obs, rule)
        # a state changes exactly when a transition is reported, from the state it was in
        if move is not None:
            assert move.from_state == before.name
            assert move.to_state == after.name
            assert after.since == now
        else:
            assert (after.name, after.since) == (before.name, before.since)
        if after.name == "firing" and before.name != "firing":
            # fired: a breach now, unbroken since the pending state began at least `pending` ago
            assert verdict == "breach"
            if policy.pending > timedelta(0):
                assert before.name == "pending"
                assert now - before.since >= policy.pending
                began = before.since
                assert all(
                    judge(o, rule) == "breach" and s.name in ("pending", "firing")
                    for t, o, _, s, _ in steps[: i + 1]
                    if t >= began
                )
        if move is not None and move.to_state == "resolved":
            if move.reason == "recovered":
                assert verdict == "clear"
                assert before.better_since is not None or policy.resolve_hold == timedelta(0)
                assert now - (before.better_since or now) >= policy.resolve_hold
            else:
                assert move.reason == "insufficient"
                assert verdict == "insufficient"
        if verdict == "insufficient":
            assert after.name in ("insufficient", "resolved")
        if after.name == "pending":
            assert verdict == "breach"


@hyp_settings(max_examples=300, deadline=None)
@given(
    st.lists(st.fractions(min_value=-1, max_value=Fraction(199, 10_000), max_denominator=10_000), min_size=1),
    st.integers(min_value=1, max_value=30),
)
def test_values_hovering_at_the_threshold_fire_once(offsets, gap):
    """Once firing, values anywhere below threshold + margin (here 2 points) never resolve it."""
    rule = Rule(">=", Fraction(1, 2), Fraction(2, 100), 0)
    policy = Policy(pending=timedelta(0))
    values = [Observation(Fraction(1, 2) - Fraction(1, 100), 100)] + [
        Observation(max(Fraction(0), Fraction(1, 2) + o), 100) for o in offsets
    ]
    moves = [m for *_, m in run([(v, gap) for v in values], rule, policy) if m is not None]
    assert moves == [Transition("ok", "firing")]
