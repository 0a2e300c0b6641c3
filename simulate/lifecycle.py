"""One application's whole life, planned at filing: compact (time, code) steps.

An application is planned in full when it is filed (times may lie in the future); its
events are built as dicts only when they are emitted, so open applications cost little
memory (about 500 bytes each; a run at R events/s holds some 86,000 x R of them, as an
application lives about 6 days on average). Steps are codes in causal order, so sorting
by (time, code) keeps cause before effect; times are then made strictly increasing
within the application.
"""

from __future__ import annotations

from array import array
from random import Random
from typing import Any, TypeVar

from simulate import rates
from simulate.scenarios import Scenario
from simulate.workdays import DAY, WorkCalendar
from simulate.world import Route, UnitProfile

T = TypeVar("T")

# Step codes, in causal order; the event each becomes is in STEP_EVENTS.
SUBMITTED, RECEIVED, DIGITIZED_APPLICATION, PAID_ONLINE, PAID_OFFLINE = range(5)
SUPPLEMENT_REQUESTED, SUPPLEMENT_RECEIVED, WITHDRAWN = range(5, 8)
NOT_ACCEPTED, APPROVED, APPROVED_E_RESULT, REFUSED, STOPPED = range(8, 13)
DIGITIZED_RESULT, RETURNED_ONLINE, RETURNED_IN_PERSON, RETURNED_POSTAL = range(13, 17)
RATED_1 = 17  # RATED_1 + score - 1

STEP_EVENTS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("submitted", {}),
    ("received", {}),
    ("digitized", {"target": "application"}),
    ("paid", {"online": True}),
    ("paid", {"online": False}),
    ("supplement_requested", {}),
    ("supplement_received", {}),
    ("withdrawn", {}),
    ("resolved", {"result": "not_accepted", "e_result": False}),
    ("resolved", {"result": "approved", "e_result": False}),
    ("resolved", {"result": "approved", "e_result": True}),
    ("resolved", {"result": "refused", "e_result": False}),
    ("resolved", {"result": "stopped", "e_result": False}),
    ("digitized", {"target": "result"}),
    ("result_returned", {"channel": "online"}),
    ("result_returned", {"channel": "in_person"}),
    ("result_returned", {"channel": "postal"}),
    *(("rated", {"score": score}) for score in range(1, 6)),
)
_RETURNED = {"online": RETURNED_ONLINE, "in_person": RETURNED_IN_PERSON, "postal": RETURNED_POSTAL}


class Application:
    """An application as filed, and its planned steps."""

    __slots__ = (
        "agency_code",
        "application_id",
        "channel",
        "codes",
        "due_at",
        "fee_vnd",
        "online_level",
        "procedure_code",
        "reused_data",
        "times",
        "unit_code",
        "vneid_authenticated",
    )

    def __init__(self, application_id: str, unit_code: str, route: Route, channel: str) -> None:
        self.application_id = application_id
        self.unit_code = unit_code
        self.procedure_code = route.procedure.code
        self.agency_code = route.agency_code
        self.online_level = route.procedure.online_level
        self.fee_vnd = route.fee_vnd
        self.channel = channel
        self.vneid_authenticated = False
        self.reused_data = False
        self.due_at = 0
        self.times = array("q")  # epoch seconds, strictly increasing
        self.codes = b""  # step codes, one byte each


def plan(
    rng: Random,
    calendar: WorkCalendar,
    profile: UnitProfile,
    route: Route,
    *,
    application_id: str,
    channel: str,
    filed_at: int,
    scenario: Scenario,
) -> Application:
    """Plan the life of one application filed at ``filed_at`` (epoch seconds)."""
    app = Application(application_id, profile.unit.code, route, channel)
    life = _Life(rng, calendar, profile, route, app)
    life.run(filed_at, scenario)
    life.steps.sort()
    previous = 0
    for at, _ in life.steps:
        previous = max(at, previous + 1)
        app.times.append(previous)
    app.codes = bytes(code for _, code in life.steps)
    return app


class _Life:
    """The draws that plan one application, step by step."""

    def __init__(
        self, rng: Random, calendar: WorkCalendar, profile: UnitProfile, route: Route, app: Application
    ) -> None:
        self.rng = rng
        self.calendar = calendar
        self.profile = profile
        self.route = route
        self.app = app
        self.online = app.channel == "online"
        self.steps: list[tuple[int, int]] = []

    def run(self, filed_at: int, scenario: Scenario) -> None:
        rng, app, profile = self.rng, self.app, self.profile
        app.vneid_authenticated = rng.random() < (
            profile.vneid_online if self.online else profile.vneid_counter
        )
        app.reused_data = rng.random() < profile.reused
        self.steps.append((filed_at, SUBMITTED))
        received = self.received_at(filed_at)
        if rng.random() < rates.NOT_ACCEPTED[app.channel]:
            refused = scenario.resolution(app.unit_code, self.online, received)
            if refused is not None:
                self.steps.append((self.calendar.office_at_or_after(refused), NOT_ACCEPTED))
            return
        self.steps.append((received, RECEIVED))
        app.due_at = self.calendar.due_at(received, self.route.procedure.max_days)
        resolved, waited, requests = self.supplements(received, self.planned_resolution(received))
        early = self.intake_steps(received)
        if rng.random() < rates.WITHDRAWN:
            withdrawn = received + int((resolved - received) * rng.uniform(0.05, 0.9)) + 1
            self.steps = [s for s in self.steps + early if s[0] < withdrawn]
            self.steps.append((withdrawn, WITHDRAWN))
            return
        self.steps += [(min(at, resolved - 1), code) for at, code in early]
        final = scenario.resolution(app.unit_code, self.online, resolved)
        if final is None:  # never resolved
            return
        if final != resolved:
            final = self.calendar.office_at_or_after(final)
        late = requests > 1 or final > app.due_at + waited  # DOMAIN.md §3, rule 3
        digitized = any(code == DIGITIZED_APPLICATION for _, code in early)
        self.decision(final, late=late, digitized=digitized)

    def received_at(self, filed_at: int) -> int:
        rng, calendar = self.rng, self.calendar
        if self.app.channel == "in_person":
            return filed_at + rng.randint(*rates.COUNTER_RECEIVE_S)
        if self.app.channel == "postal":
            day = calendar.add_working_days(
                calendar.day_of(filed_at), rng.randint(*rates.POSTAL_RECEIVE_DAYS)
            )
            return calendar.office_time(day, rng.random())
        wanted = filed_at + int(rng.expovariate(1.0 / rates.ONLINE_RECEIVE_MEAN_S))
        received = calendar.office_at_or_after(wanted)
        if received != wanted:  # waited for the office to open: the morning's queue
            received = calendar.office_at_or_after(received + rng.randint(0, 2 * 3600))
        return received

    def planned_resolution(self, received: int) -> int:
        """When the decision would come without supplements: on time, or late for some."""
        rng, calendar, due = self.rng, self.calendar, self.app.due_at
        if rng.random() < self.profile.late:
            day = calendar.add_working_days(calendar.day_of(due), rng.randint(*rates.LATE_BY_WORKING_DAYS))
            return calendar.office_time(day, rng.random())
        max_days = self.route.procedure.max_days
        days = round(rng.triangular(0.0, max_days, self.route.speed * max_days)) if max_days else 0
        day = (
            calendar.add_working_days(calendar.day_of(received), days) if days else calendar.day_of(received)
        )
        resolved = calendar.office_time(day, rng.random())
        if resolved <= received:
            resolved = calendar.office_at_or_after(received + rng.randint(600, 3 * 3600))
        if resolved > due > received + 60:
            resolved = due - rng.randint(60, min(3600, due - received - 1))
        return resolved

    def supplements(self, received: int, resolved: int) -> tuple[int, int, int]:
        """Add supplement requests; return the resolution pushed back by the waits, the
        total wait and the number of requests."""
        rng, calendar = self.rng, self.calendar
        draw = rng.random()
        requests = (
            2 if draw < rates.TWO_SUPPLEMENTS else int(draw < rates.TWO_SUPPLEMENTS + rates.ONE_SUPPLEMENT)
        )
        cursor, waited = received, 0
        for _ in range(requests):
            asked = calendar.office_at_or_after(cursor + int((resolved - cursor) * rng.uniform(0.1, 0.6)) + 1)
            back = asked + int(rng.uniform(*rates.SUPPLEMENT_WAIT_DAYS) * DAY)
            if not self.online:
                back = calendar.office_at_or_after(back)
            self.steps += [(asked, SUPPLEMENT_REQUESTED), (back, SUPPLEMENT_RECEIVED)]
            resolved = calendar.office_at_or_after(max(resolved, asked) + (back - asked))
            waited += back - asked
            cursor = back
        return resolved, waited, requests

    def intake_steps(self, received: int) -> list[tuple[int, int]]:
        """Digitization of the file and payment of the fee, soon after receipt."""
        rng, profile, online = self.rng, self.profile, self.online
        steps = []
        if rng.random() < (rates.DIGITIZED_ONLINE if online else profile.digitized_counter):
            delay = rng.randint(30, 600) if online else rng.randint(300, 4 * 3600)
            steps.append((self.calendar.office_at_or_after(received + delay), DIGITIZED_APPLICATION))
        if self.route.fee_vnd:
            paid_online = rng.random() < (
                profile.pay_online_if_online if online else profile.pay_online_if_counter
            )
            delay = rng.randint(60, 2 * 3600) if online else rng.randint(60, 1200)
            steps.append((received + delay, PAID_ONLINE if paid_online else PAID_OFFLINE))
        return steps

    def decision(self, resolved: int, *, late: bool, digitized: bool) -> None:
        """The decision, the digitized result, the result's return and the rating."""
        rng, calendar, profile, online = self.rng, self.calendar, self.profile, self.online
        document = self.route.procedure.result_is_document
        draw = rng.random()
        if draw < rates.STOPPED:
            self.steps.append((resolved, STOPPED))
            return
        approved = draw >= rates.STOPPED + rates.REFUSED
        if not approved:
            self.steps.append((resolved, REFUSED))
        else:
            e_result = document and rng.random() < (
                profile.e_result_online if online else profile.e_result_counter
            )
            self.steps.append((resolved, APPROVED_E_RESULT if e_result else APPROVED))
            if document and digitized and rng.random() < rates.DIGITIZED_RESULT:
                at = calendar.office_at_or_after(resolved + rng.randint(600, 6 * 3600))
                self.steps.append((at, DIGITIZED_RESULT))
        last = resolved
        if rng.random() >= rates.NOT_COLLECTED:
            last = self.returned(resolved)
        if rng.random() < (rates.RATED_ONLINE if online else rates.RATED_COUNTER):
            score = _choose(rng, rates.SCORES_LATE if late or not approved else rates.SCORES_ON_TIME)
            self.steps.append((last + rng.randint(300, 2 * DAY), RATED_1 + score - 1))

    def returned(self, resolved: int) -> int:
        """Hand the result back; return when."""
        rng, calendar = self.rng, self.calendar
        if not self.online:
            key = "counter"
        else:
            key = "online_full" if self.app.online_level == "full" else "online_partial"
        channel = _choose(rng, rates.RETURN_CHANNEL[key])
        if channel == "online":
            at = resolved + rng.randint(60, 3600)
        else:
            wait = rng.randint(1, 2) if channel == "postal" else min(int(rng.expovariate(0.6)), 10)
            day = (
                calendar.add_working_days(calendar.day_of(resolved), wait)
                if wait
                else calendar.day_of(resolved)
            )
            at = max(calendar.office_time(day, rng.random()), resolved + 60)
        self.steps.append((at, _RETURNED[channel]))
        return at


def _choose(rng: Random, weighted: tuple[tuple[T, float], ...]) -> T:
    draw = rng.random() * sum(w for _, w in weighted)
    for value, weight in weighted:
        draw -= weight
        if draw < 0:
            return value
    return weighted[-1][0]
