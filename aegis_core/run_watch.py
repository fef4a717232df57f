"""Watching runs against the clock: intraday slots that never ran, end-of-day runs over budget.

Pure decisions on plain data (slot starts, run states, times), so the sensors that apply them are
thin and the rules are testable on any clock.

- A slot is *missed* when, ``grace`` after its start, no run of it has started: either there is no
  run at all (the schedule did not fire) or its runs are still waiting (queued, never started).
  A failed or under-covered slot is reported by the run-failure and check alerts instead.
- The end-of-day run is *over budget* when it is still running ``budget`` after it started (the
  runbook: the old run took up to 45 minutes). It is reported, never stopped.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from aegis_core.calendar import NY, NyseCalendar, Session, nyse
from aegis_core.gates import name_list

# Alerts must reach the operator within five minutes of the slot; the sensor ticks every minute.
SLOT_GRACE = dt.timedelta(minutes=3)
EOD_BUDGET = dt.timedelta(minutes=45)


@dataclass(frozen=True)
class SlotRun:
    """One run of a slot as the instance records it."""

    run_id: str
    status: str  # Dagster's run status name: QUEUED, STARTED, SUCCESS, FAILURE, …
    started: bool  # the run has a start time (it left the queue)


@dataclass(frozen=True)
class MissedSlot:
    slot: dt.datetime
    runs: tuple[SlotRun, ...]

    @property
    def key(self) -> str:
        return f"{self.slot.astimezone(NY):%Y-%m-%d-%H:%M}"

    @property
    def reason(self) -> str:
        if not self.runs:
            return "no run was requested (the schedule did not fire)"
        waiting = ", ".join(f"run {r.run_id[:8]} {r.status}" for r in self.runs)
        return f"its run never started ({waiting})"


def watched_sessions(now: dt.datetime, calendar: NyseCalendar | None = None) -> list[Session]:
    """Today's session (if any) and the one before, so slots late in a day are still caught."""
    calendar = calendar or nyse()
    today = now.astimezone(NY).date()
    sessions = [calendar.previous_session(today)]
    if (session := calendar.session(today)) is not None:
        sessions.append(session)
    return sessions


def due_slots(
    now: dt.datetime,
    since: dt.datetime,
    grace: dt.timedelta = SLOT_GRACE,
    calendar: NyseCalendar | None = None,
) -> list[dt.datetime]:
    """Slots whose grace ended by ``now``, and after ``since`` (when watching began)."""
    if now.tzinfo is None or since.tzinfo is None:
        raise ValueError("due_slots: now and since must be aware datetimes")
    return [
        slot
        for session in watched_sessions(now, calendar)
        for slot in session.slots
        if since < slot + grace <= now
    ]


def missed_slots(due: Sequence[dt.datetime], runs: Mapping[str, Sequence[SlotRun]]) -> list[MissedSlot]:
    """The due slots none of whose runs (``slot key -> runs``) has started."""
    out = []
    for slot in due:
        key = f"{slot.astimezone(NY):%Y-%m-%d-%H:%M}"
        tried = tuple(runs.get(key, ()))
        if not any(r.started for r in tried):
            out.append(MissedSlot(slot, tried))
    return out


def missed_summary(missed: MissedSlot, universe: Sequence[str], grace: dt.timedelta = SLOT_GRACE) -> str:
    """One line for an alert: the slot, why, and the symbols left without a snapshot."""
    minutes = grace.total_seconds() / 60
    return (
        f"slot {missed.slot.astimezone(NY):%Y-%m-%d %H:%M} ET: {missed.reason} {minutes:g} min after its "
        f"start; no snapshot for {len(universe)} symbol(s): {name_list(list(universe))}"
    )


def over_budget(started: dt.datetime, now: dt.datetime, budget: dt.timedelta = EOD_BUDGET) -> bool:
    """Whether a run that started at ``started`` and is still running at ``now`` is over its budget."""
    if started.tzinfo is None or now.tzinfo is None:
        raise ValueError("over_budget: started and now must be aware datetimes")
    return now - started >= budget
