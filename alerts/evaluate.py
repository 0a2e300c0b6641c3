"""One evaluation pass of the alert engine: read every target's KPI for every unit it covers,
step each (target, unit) through the state machine, and write the result in one transaction:
the states, a transition row per move (with the values that caused it), an ``alerts`` row
opened or closed per firing or resolved move, and, in the same transaction, one outbox row per
configured webhook for each of those (delivered after commit by ``alerts.webhooks``).

An episode still firing whose target is gone, or no longer covers its unit, resolves with
``target_removed``; the states of units a target no longer covers are dropped.
"""

from __future__ import annotations

import time
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
    wake_at: datetime | None  # when a pending breach may fire, or a hold end, with no new data
    elapsed_s: float


def policy(settings: AlertSettings) -> Policy:
    return Policy(
        pending=timedelta(seconds=settings.pending_s), resolve_hold=timedelta(seconds=settings.resolve_s)
    )


def evaluate(conn: Connection, settings: AlertSettings, *, now: datetime, tz: tzinfo) -> Pass:
    """Evaluate every target at ``now`` and persist the outcome (``conn`` in autocommit)."""
    started = time.perf_counter()
    data = refdata_db.load(conn)
    catalog = queries.Catalog.of(data)
    targets = {t.name: t for t in targets_store.load(conn)}
    readings = observe.read(conn, catalog, list(targets.values()), now=now, tz=tz)
    rules = {name: observe.rule(t, Fraction(settings.hysteresis)) for name, t in targets.items()}
    chosen = policy(settings)
    writer = _Writer(conn, settings.webhooks, {u.code: u.name for u in data.units}, now)
    rows: list[dict[str, Any]] = []
    wakes: list[datetime] = []
    with conn.transaction():
        current = engine_store.states(conn)
        open_alerts = engine_store.firing(conn)
        seen: set[tuple[str, str]] = set()
        for reading in readings:
            key = (reading.target.name, reading.unit_code)
            seen.add(key)
            state = current.get(key) or (State("firing", now) if key in open_alerts else machine.initial(now))
            obs = reading.observation
            new, move = machine.step(state, obs, rules[key[0]], chosen, now)
            if move is not None:
                writer.record(reading.target, reading.unit_code, move, obs, open_alerts.get(key))
            rows.append(_state_row(key, new, obs, now))
            wake = machine.wake_at(new, chosen)
            if wake is not None:
                wakes.append(wake)
        for key, alert_id in open_alerts.items():
            if key not in seen:
                writer.remove(key, alert_id, current.get(key))
        for key in current.keys() - seen:
            engine_store.drop_state(conn, *key)
        engine_store.save_states(conn, rows)
    return Pass(len(readings), writer.changes, min(wakes, default=None), time.perf_counter() - started)


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
