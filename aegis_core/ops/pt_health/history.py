"""The detector's memory: a bounded history of evaluations and the runbook's temporal rules.

Each evaluation leaves an ``Observation``: when it ran and which raw conditions it saw (a condition
is not yet an event: "a pending exit" is a condition, "a pending exit that persists" is the event).
The next evaluation gets the previous observations back (from the last materialization, or from the
CLI's ``--previous`` / ``--history`` files) and applies the rules below to them plus its own.

Runbook words → rule (counts are ``Thresholds`` fields, variables AEGIS_PT_*) → event:

- "pending_exits>0 persists" (notify): pending_exits > 0 in PERSIST_EVALUATIONS evaluations in a
  row → ``pending_exits`` (warn).
- "pending-order buildup that does not clear" (escalate): pending orders ≥ PENDING_ORDER_WARN in
  PERSIST_EVALUATIONS evaluations in a row → ``pending_orders:not_clearing`` (critical).
- "stale heartbeat plus no self-recovery" (escalate): the heartbeat is stale now and has been for
  at least NO_RECOVERY_MINUTES, by the stale evaluations in a row or by the heartbeat's own age →
  ``heartbeat_stale:no_recovery`` (critical).
- "repeated reconnect/session conflict" (escalate): IBKR 1100/1101/1102, or "Existing session
  detected", in REPEATED_K of the last REPEATED_M evaluations → ``ibkr_reconnect:repeated`` /
  ``session_conflict:repeated`` (critical).
- "task restart loop" (notify): a pending runtime task in REPEATED_K of the last REPEATED_M
  evaluations → ``task_restart_loop`` (warn).
- "market_data_10197_recent sustained above the threshold" (notify): 10197 ≥
  MARKET_DATA_10197_WARN past the open grace in SUSTAINED_K of the last SUSTAINED_M evaluations →
  ``market_data_10197`` (warn).
- "fatal/severe log burst" (notify): fatal + severe lines ≥ LOG_BURST_LINES in one evaluation, or
  such lines in REPEATED_K of the last REPEATED_M → ``log_burst`` (warn).
- The normal path (observe only): a single entry order carrying TWS code 202 (cancelled on its
  timeout, to be repriced) is quiet whatever its age, unless the same order is still pending
  PERSIST_EVALUATIONS evaluations in a row → then ``pending_order_stale`` (warn).

One occurrence of any of these is only a condition: it is recorded, it does not alert. Observations
older than HISTORY_MINUTES are forgotten, so yesterday's last evaluation never makes today's first
one "persist". An evaluation that could not read the status (dashboard unreachable) leaves no
observation: it neither continues nor breaks a streak.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aegis_core.base.bounds import RangeError, check_moment
from aegis_core.ops.pt_health.events import Event, Severity
from aegis_core.ops.pt_health.thresholds import Thresholds

WARN, CRITICAL = Severity.WARN, Severity.CRITICAL

# Raw condition names (what an observation records).
HEARTBEAT_STALE = "heartbeat_stale"
PENDING_EXITS = "pending_exits"
PENDING_BUILDUP = "pending_buildup"
SESSION_CONFLICT = "session_conflict"
RECONNECT = "ibkr_reconnect"
TASK_PENDING = "task_pending"
MD_10197_ABOVE = "market_data_10197_above"
LOG_LINES = "log_fatal_or_severe"
CANCEL_202 = "cancel_202:"  # + order id: a single entry order on the 202 cancel/reprice path


class HistoryError(ValueError):
    """A recorded observation that cannot be read; the message names the entry."""


@dataclass(frozen=True, order=True)
class Observation:
    at: dt.datetime  # aware, UTC
    conditions: frozenset[str] = frozenset()

    def to_dict(self) -> dict[str, Any]:
        return {"at": self.at.astimezone(dt.UTC).isoformat(), "conditions": sorted(self.conditions)}

    @classmethod
    def from_dict(cls, data: Any, where: str = "observation") -> Observation:
        if not isinstance(data, Mapping):
            raise HistoryError(f"{where} is not an object")
        at, conditions = data.get("at"), data.get("conditions")
        try:
            moment = dt.datetime.fromisoformat(at) if isinstance(at, str) else None
        except ValueError:
            moment = None
        if moment is None or moment.tzinfo is None:
            raise HistoryError(f"{where}.at must be an ISO 8601 time with an offset, got {at!r}")
        try:  # year 1 or 9999 would overflow the rules' arithmetic
            check_moment(moment, f"{where}.at")
        except RangeError as exc:
            raise HistoryError(str(exc)) from None
        if not isinstance(conditions, list) or not all(isinstance(c, str) for c in conditions):
            raise HistoryError(f"{where}.conditions must be a list of strings")
        return cls(moment.astimezone(dt.UTC), frozenset(conditions))


def parse_history(entries: Any, where: str = "history") -> list[Observation]:
    """Observations from their JSON form (a list of ``{"at", "conditions"}``)."""
    if not isinstance(entries, list):
        raise HistoryError(f"{where} must be a list of observations")
    return [Observation.from_dict(e, f"{where}[{i}]") for i, e in enumerate(entries)]


def bounded(observations: Iterable[Observation], now: dt.datetime, t: Thresholds) -> list[Observation]:
    """Oldest first, one per time, none after ``now`` or older than HISTORY_MINUTES, at most the limit."""
    horizon = now - dt.timedelta(minutes=t.history_minutes)
    unique = {o.at: o for o in observations if horizon <= o.at <= now}
    return sorted(unique.values())[-t.history_limit :]


def _streak(history: Sequence[Observation], condition: str) -> list[Observation]:
    """The observations, latest backwards, that all carry ``condition`` without a break."""
    run: list[Observation] = []
    for observation in reversed(history):
        if condition not in observation.conditions:
            break
        run.append(observation)
    return run


def _k_of_m(history: Sequence[Observation], condition: str, m: int) -> int:
    return sum(condition in o.conditions for o in history[-m:])


def temporal_events(
    history: Sequence[Observation], t: Thresholds, heartbeat_age: float | None = None
) -> list[Event]:
    """The runbook's rules over ``history`` (oldest first, the current evaluation last)."""
    if not history:
        return []
    now = history[-1].at
    events: list[Event] = []
    persist = t.persist_evaluations

    if len(_streak(history, PENDING_EXITS)) >= persist:
        events.append(
            Event(
                "pending_exits",
                WARN,
                "exit_safety",
                persist,
                f"pending_exits>0 persists: seen in the last {persist} evaluations in a row",
            )
        )
    if len(_streak(history, PENDING_BUILDUP)) >= persist:
        events.append(
            Event(
                "pending_orders:not_clearing",
                CRITICAL,
                "pending_orders",
                persist,
                f"pending-order buildup (≥ {t.pending_order_warn}) does not clear: "
                f"seen in the last {persist} evaluations in a row",
            )
        )
    stale_run = _streak(history, HEARTBEAT_STALE)
    if stale_run:
        stale_for = (now - stale_run[-1].at).total_seconds()
        if heartbeat_age is not None:
            stale_for = max(stale_for, heartbeat_age - t.heartbeat_stale_sec)
        if stale_for >= t.no_recovery_minutes * 60:
            events.append(
                Event(
                    "heartbeat_stale:no_recovery",
                    CRITICAL,
                    "heartbeat",
                    round(stale_for),
                    f"heartbeat stale for {stale_for / 60:.0f} min with no self-recovery "
                    f"(escalate after {t.no_recovery_minutes} min)",
                )
            )
    for condition, signature, label in (
        (RECONNECT, "ibkr_reconnect:repeated", "IBKR reconnect (1100/1101/1102)"),
        (SESSION_CONFLICT, "session_conflict:repeated", "session conflict (Existing session detected)"),
    ):
        seen = _k_of_m(history, condition, t.repeated_m)
        if seen >= t.repeated_k:
            events.append(
                Event(
                    signature,
                    CRITICAL,
                    "severe_signals",
                    seen,
                    f"repeated {label}: in {seen} of the last {min(len(history), t.repeated_m)} evaluations",
                )
            )
    restarts = _k_of_m(history, TASK_PENDING, t.repeated_m)
    if restarts >= t.repeated_k:
        events.append(
            Event(
                "task_restart_loop",
                WARN,
                "runtime",
                restarts,
                f"task restart loop: a pending (replacement) runtime task in {restarts} of the last "
                f"{min(len(history), t.repeated_m)} evaluations",
            )
        )
    above = _k_of_m(history, MD_10197_ABOVE, t.sustained_m)
    if above >= t.sustained_k:
        events.append(
            Event(
                "market_data_10197",
                WARN,
                "market_data",
                above,
                f"market_data_10197_recent sustained at or above {t.market_data_10197_warn}: in {above} of "
                f"the last {min(len(history), t.sustained_m)} evaluations",
            )
        )
    return events


def log_burst_event(lines: int, history: Sequence[Observation], t: Thresholds) -> Event | None:
    """A burst: LOG_BURST_LINES fatal/severe lines now, or such lines in REPEATED_K of REPEATED_M."""
    seen = _k_of_m(history, LOG_LINES, t.repeated_m)
    if lines >= t.log_burst_lines or seen >= t.repeated_k:
        return Event(
            "log_burst",
            WARN,
            "severe_signals",
            lines,
            f"fatal/severe log burst: {lines} line(s) now (burst at {t.log_burst_lines}), "
            f"present in {seen} of the last {min(len(history), t.repeated_m)} evaluations",
        )
    return None


def cancel_202_not_clearing(history: Sequence[Observation], order_id: str, t: Thresholds) -> bool:
    """True when the same 202 order has been pending PERSIST_EVALUATIONS evaluations in a row."""
    return len(_streak(history, CANCEL_202 + order_id)) >= t.persist_evaluations
