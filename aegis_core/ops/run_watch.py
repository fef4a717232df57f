"""Watching runs against the clock: intraday slots that never ran, end-of-day runs over budget.

Pure decisions on plain data (slot starts, run states, times), so the sensors that apply them are
thin and the rules are testable on any clock.

- A slot is *missed* when, ``grace`` after its start, no run of it has started: either there is no
  run at all (the schedule did not fire) or its runs are still waiting (queued, never started).
  A failed or under-covered slot is reported by the run-failure and check alerts instead.
- The end-of-day run is *over budget* when it is still running ``budget`` after it started (the
  runbook: the old run took up to 45 minutes). It is reported, never stopped.
- A STARTED run's *worker* (the process executing it) is judged ``GONE`` only on proof: its pid
  checked where that pid means something (this host and pid namespace, or inside its container) and
  found not running, or its container gone or stopped. Whatever cannot be checked is ``UNKNOWN``
  and the run is left alone: a living run is never failed on a guess.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from aegis_core.base.gates import name_list
from aegis_core.calendar import NY, NyseCalendar, Session, nyse

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


# --- is a run's worker gone? ----------------------------------------------------------------------

# A run younger than this is left alone: it may be ending right now (its last events in flight).
WORKER_MIN_AGE_S = 2.0
# Docker's container states in which no process of the container runs any more.
STOPPED_CONTAINER_STATES = frozenset({"exited", "dead", "removing", "restarting"})


class Worker(enum.Enum):
    ALIVE = "alive"
    GONE = "gone"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class RunWorker:
    """Where the process executing a run lives, as the run recorded it when it started."""

    pid: int | None
    host: str | None = None
    container: str | None = None  # the Docker container's id, when it ran in one

    def describe(self) -> str:
        where = f" in container {self.container[:12]}" if self.container else ""
        on = f" on {self.host}" if self.host and not self.container else ""
        return f"pid {self.pid}{where}{on}"


@dataclass(frozen=True)
class WorkerVerdict:
    worker: Worker
    reason: str


def judge_worker_here(
    worker: RunWorker,
    *,
    age_s: float,
    here_host: str,
    here_container: str | None,
    storage_is_local: bool,
    alive: Callable[[int], bool],
) -> WorkerVerdict:
    """Judge a run's worker from where this process runs (the local instance's sensor).

    ``alive(pid)`` is asked only where the pid is this process's to check: the run's host is this
    one (recorded, or implied by storage that lives on one machine) and its pid namespace too (the
    same container, or none).
    """
    if 0 <= age_s < WORKER_MIN_AGE_S:  # (a start ahead of this clock is judged: clocks differ)
        return WorkerVerdict(Worker.UNKNOWN, f"started {age_s:.1f}s ago: it may be ending right now")
    if worker.pid is None:
        return WorkerVerdict(Worker.UNKNOWN, "no process recorded its start")
    if worker.container != here_container and (worker.container or worker.host is not None):
        where = f"container {worker.container[:12]}" if worker.container else "no container"
        return WorkerVerdict(Worker.UNKNOWN, f"its process runs in {where}, not here: not our pid to check")
    if worker.host is not None and worker.host != here_host:
        return WorkerVerdict(Worker.UNKNOWN, f"its process runs on {worker.host}, not on {here_host}")
    if worker.host is None and not storage_is_local:
        return WorkerVerdict(Worker.UNKNOWN, "no host recorded and the instance's storage is shared")
    if alive(worker.pid):
        return WorkerVerdict(Worker.ALIVE, f"{worker.describe()} is running")
    return WorkerVerdict(Worker.GONE, f"its process ({worker.describe()}) is gone")


def judge_worker_in_container(
    worker: RunWorker, *, container_state: str | None, process_alive: bool | None
) -> WorkerVerdict:
    """Judge a run's worker that recorded the Docker container it runs in (the production launcher).

    ``container_state`` is Docker's ``State.Status`` of that container, None when Docker has no such
    container; ``process_alive`` the answer of a check of the pid run inside the container (None when
    it was not asked, or could not answer).
    """
    if worker.container is None or worker.pid is None:
        return WorkerVerdict(Worker.UNKNOWN, "the run recorded no container and pid to check")
    name = worker.container[:12]
    if container_state is None:
        return WorkerVerdict(Worker.GONE, f"its container {name} no longer exists")
    if container_state in STOPPED_CONTAINER_STATES:
        return WorkerVerdict(Worker.GONE, f"its container {name} is {container_state}")
    if container_state != "running":
        return WorkerVerdict(Worker.UNKNOWN, f"its container {name} is {container_state}")
    if process_alive is None:
        return WorkerVerdict(Worker.UNKNOWN, f"pid {worker.pid} could not be checked inside container {name}")
    if not process_alive:
        return WorkerVerdict(Worker.GONE, f"its process (pid {worker.pid} in container {name}) is gone")
    return WorkerVerdict(Worker.ALIVE, f"pid {worker.pid} is running in container {name}")
