"""One evaluation pass of the alert engine: read every target's KPI for every unit it covers,
step each (target, unit) through the state machine, and write the result in one transaction:
the states, a transition row per move (with the values that caused it), an ``alerts`` row
opened or closed per firing or resolved move, and, in the same transaction, one outbox row per
configured webhook for each of those (delivered after commit by ``alerts.webhooks``).

An episode still firing whose target is gone, or no longer covers its unit, resolves with
``target_removed``; the states of units a target no longer covers are dropped.

A full pass reads every (target, unit); a partial one (``changed``: the units ingest announced)
only those whose value may have moved, and those ``due`` (a pending breach to fire, a hold to
end); the others keep their state. Both resolve removed targets: that needs no KPI.

A (target, unit) never evaluated starts as the state its first observation gives, without a
transition when that is ``ok`` or ``insufficient`` (a new level target on thousands of quiet
units logs nothing); a first breach is logged ``ok`` → ``pending``.
"""

from __future__ import annotations

import time
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from fractions import Fraction
from typing import Any

from alerts import engine_store, machine, observe, payload
from alerts import store as targets_store
from alerts.machine import Observation, Policy, State, Transition
from alerts.targets import Target
from ioc.settings import AlertSettings
from kpi import queries
from refdata import db as refdata_db

Connection = engine_store.Connection


@dataclass(frozen=True)
class Change:
    """A move of one (target, unit); ``notice`` is set for firing and resolved moves."""

    target: str
    unit_code: str
    transition: Transition
    value: Fraction | int | None
    volume: int | None
    at: datetime
    notice: dict[str, Any] | None = None


@dataclass(frozen=True)
class Pass:
    readings: int
    changes: list[Change]
    wakes: dict[tuple[str, str], datetime]  # when a pending breach may fire, or a hold end
    elapsed_s: float

    @property
    def wake_at(self) -> datetime | None:
        return min(self.wakes.values(), default=None)


def policy(settings: AlertSettings) -> Policy:
    return Policy(
        pending=timedelta(seconds=settings.pending_s), resolve_hold=timedelta(seconds=settings.resolve_s)
    )


def evaluate(
    conn: Connection,
    settings: AlertSettings,
    *,
    now: datetime,
    tz: tzinfo,
    changed: Collection[str] | None = None,
    due: Collection[tuple[str, str]] = (),
) -> Pass:
    """Evaluate the targets at ``now`` and persist the outcome (``conn`` in autocommit): all of
    them, or (``changed`` given) those the changed units or ``due`` concern."""
    started = time.perf_counter()
    data = refdata_db.load(conn)
    catalog = queries.Catalog.of(data)
    targets = {t.name: t for t in targets_store.load(conn)}
    only = None if changed is None else observe.touched(changed, catalog.units)
    today = now.astimezone(tz).date()
    covered = {(t.name, u) for t in targets.values() for u in observe.covered(t, catalog.units, today)}
    readings = observe.read(conn, catalog, list(targets.values()), now=now, tz=tz, only=only, due=due)
    rules = {name: observe.rule(t, Fraction(settings.hysteresis)) for name, t in targets.items()}
    chosen = policy(settings)
    writer = _Writer(conn, settings.webhooks, {u.code: u.name for u in data.units}, now)
    rows: list[dict[str, Any]] = []
    with conn.transaction():
        current = engine_store.states(conn)
        open_alerts = engine_store.firing(conn)
        for reading in readings:
            key = (reading.target.name, reading.unit_code)
            obs, rule = reading.observation, rules[key[0]]
            state = current.get(key) or (State("firing", now) if key in open_alerts else None)
            if state is None:
                new, move = machine.start(obs, rule, chosen, now)
            else:
                new, move = machine.step(state, obs, rule, chosen, now)
            if move is not None:
                writer.record(reading.target, reading.unit_code, move, obs, open_alerts.get(key))
            rows.append(_state_row(key, new, obs, now))
            current[key] = new
        for key, alert_id in open_alerts.items():
            if key not in covered:
                writer.remove(key, alert_id, current.get(key))
        for key in current.keys() - covered:
            engine_store.drop_state(conn, *key)
            del current[key]
        engine_store.save_states(conn, rows)
    wakes = {key: w for key, state in current.items() if (w := machine.wake_at(state, chosen)) is not None}
    return Pass(len(readings), writer.changes, wakes, time.perf_counter() - started)


def _state_row(key: tuple[str, str], state: State, obs: Observation, now: datetime) -> dict[str, Any]:
    return {
        "target": key[0],
        "unit": key[1],
        "state": state.name,
        "since": state.since,
        "value": engine_store.number(obs.value),
        "volume": obs.volume,
        "at": now,
        "better_since": state.better_since,
    }


class _Writer:
    """Writes the moves of one pass, inside its transaction."""

    def __init__(
        self, conn: Connection, webhooks: tuple[str, ...], unit_names: dict[str, str], now: datetime
    ) -> None:
        self.conn, self.webhooks, self.unit_names, self.now = conn, webhooks, unit_names, now
        self.changes: list[Change] = []

    def record(
        self, target: Target, unit: str, move: Transition, obs: Observation, alert_id: int | None
    ) -> None:
        alert: dict[str, Any] | None = None
        values = {"at": self.now, "value": engine_store.number(obs.value), "volume": obs.volume}
        if move.to_state == "firing":
            alert = engine_store.open_alert(
                self.conn,
                {
                    **values,
                    "target": target.name,
                    "unit": unit,
                    "kpi": target.kpi,
                    "agency": target.agency,
                    "comparison": target.comparison,
                    "threshold": target.threshold,
                    "window": target.window,
                    "severity": target.severity,
                },
            )
        elif move.to_state == "resolved" and alert_id is not None:
            alert = engine_store.resolve_alert(self.conn, {**values, "id": alert_id, "reason": move.reason})
        self._write(target.name, unit, move, obs.value, obs.volume, target.threshold, alert)

    def remove(self, key: tuple[str, str], alert_id: int, state: State | None) -> None:
        """An open episode whose target is gone or no longer covers its unit."""
        _, move = machine.remove(state or State("firing", self.now), self.now)
        if move is None:  # the state says it is not firing: the episode is closed all the same
            move = Transition("firing", "resolved", "target_removed")
        values = {"at": self.now, "value": None, "volume": None}
        alert = engine_store.resolve_alert(self.conn, {**values, "id": alert_id, "reason": "target_removed"})
        if alert is not None:
            self._write(key[0], key[1], move, None, None, alert["threshold"], alert)

    def _write(  # noqa: PLR0917 - one transition's fields
        self,
        target: str,
        unit: str,
        move: Transition,
        value: Fraction | int | None,
        volume: int | None,
        threshold: object,
        alert: dict[str, Any] | None,
    ) -> None:
        engine_store.transition(
            self.conn,
            {
                "target": target,
                "unit": unit,
                "from_state": move.from_state,
                "to_state": move.to_state,
                "at": self.now,
                "value": engine_store.number(value),
                "volume": volume,
                "threshold": threshold,
                "alert_id": alert["id"] if alert else None,
            },
        )
        notice = None
        if alert is not None:
            kind = "firing" if move.to_state == "firing" else "resolved"
            notice = payload.build(
                kind,
                alert,
                unit_name=self.unit_names.get(unit, unit),
                value=value,
                volume=volume,
                at=self.now,
            )
            for url in self.webhooks:
                key = payload.idempotency_key(alert["id"], kind, url)
                engine_store.notify(
                    self.conn, alert["id"], kind=kind, destination=url, key=key, payload=notice
                )
        self.changes.append(Change(target, unit, move, value, volume, self.now, notice))
