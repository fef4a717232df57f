"""Health events, the observe/notify/escalate decision, and de-duplication against the last run.

The output of one evaluation is ``{"events": [...], "new_events": [...], "decision": "..."}``: the
original detector's shape plus the decision, the evaluation time in UTC, New York and Tokyo time
(``evaluated_at``: the runbook's operators read ET and JST) and the bounded ``history`` of
observations the next evaluation needs (see ``history``). An alert goes out only for
``new_events``, i.e. events whose signature was not in the previous output, so a known condition
does not re-page every run.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from aegis_core.ops.pt_health.history import Observation

EVIDENCE_ZONES = {"utc": dt.UTC, "et": ZoneInfo("America/New_York"), "jst": ZoneInfo("Asia/Tokyo")}


class Severity(StrEnum):
    WARN = "warn"
    CRITICAL = "critical"


class Decision(StrEnum):
    OBSERVE = "observe"  # keep the runtime running, keep watching
    NOTIFY = "notify"  # tell a person; no action on the runtime implied
    ESCALATE = "escalate"  # a concrete safety signal: a person must decide whether to stop the runtime


@dataclass(frozen=True)
class Event:
    """One unhealthy (or unknown) golden signal.

    ``signature`` names the condition, never its changing values (ages, counts), so the same
    condition seen twice dedups; ``value`` carries what was observed.
    """

    signature: str
    severity: Severity
    signal: str
    value: Any
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "signature": self.signature,
            "severity": str(self.severity),
            "signal": self.signal,
            "value": self.value,
            "message": self.message,
        }


def evidence_times(moment: dt.datetime) -> dict[str, str]:
    """``moment`` in UTC, New York (ET) and Tokyo (JST) time, ISO 8601 with offsets."""
    return {name: moment.astimezone(zone).isoformat() for name, zone in EVIDENCE_ZONES.items()}


@dataclass(frozen=True)
class Evaluation:
    events: tuple[Event, ...]
    decision: Decision
    # The observations the temporal rules saw, oldest first, this evaluation's own last (if any).
    history: tuple[Observation, ...] = ()
    at: dt.datetime | None = None

    @classmethod
    def of(
        cls, events: Iterable[Event], history: Iterable[Observation] = (), at: dt.datetime | None = None
    ) -> Evaluation:
        events = tuple(events)
        return cls(events, decide(events), tuple(history), at)

    def output(self, previous: Mapping[str, Any] | None) -> dict[str, Any]:
        """The detector output, with ``new_events`` relative to ``previous`` (None on a first run)."""
        out: dict[str, Any] = {
            "events": [e.to_dict() for e in self.events],
            "new_events": [e.to_dict() for e in new_events(previous, self.events)],
            "decision": str(self.decision),
        }
        if self.at is not None:
            out["evaluated_at"] = evidence_times(self.at)
        out["history"] = [o.to_dict() for o in self.history]
        return out


class PreviousOutputError(ValueError):
    pass


def decide(events: Iterable[Event]) -> Decision:
    """Any critical event escalates; otherwise any warning notifies; no event means observe."""
    severities = {e.severity for e in events}
    if Severity.CRITICAL in severities:
        return Decision.ESCALATE
    if Severity.WARN in severities:
        return Decision.NOTIFY
    return Decision.OBSERVE


def previous_signatures(previous: Mapping[str, Any] | None) -> set[str]:
    """Signatures in a previous output; ``PreviousOutputError`` if it is not a detector output."""
    if previous is None:
        return set()
    events = previous.get("events") if isinstance(previous, Mapping) else None
    if not isinstance(events, list):
        raise PreviousOutputError("previous output has no 'events' list")
    out = set()
    for i, event in enumerate(events):
        signature = event.get("signature") if isinstance(event, Mapping) else None
        if not isinstance(signature, str):
            raise PreviousOutputError(f"previous output events[{i}] has no string 'signature'")
        out.add(signature)
    return out


def new_events(previous: Mapping[str, Any] | None, events: Sequence[Event]) -> list[Event]:
    """Events whose signature was not in ``previous`` (all of them on a first run)."""
    known = previous_signatures(previous)
    return [e for e in events if e.signature not in known]
