"""Decision mapping and de-duplication against the previous output."""

from __future__ import annotations

import json

import pytest

from aegis_core.ops.pt_health import (
    Evaluation,
    Event,
    PreviousOutputError,
    Severity,
    Thresholds,
    decide,
    detect,
    new_events,
    parse_history,
    parse_status,
    session_on,
)
from tests.pt_health.statuses import FULL_DAY, ny, status_doc


def event(signature: str, severity: Severity = Severity.WARN) -> Event:
    return Event(signature, severity, "test", 1, signature)


@pytest.mark.parametrize(
    ("severities", "decision"),
    [
        ([], "observe"),
        ([Severity.WARN], "notify"),
        ([Severity.WARN, Severity.WARN], "notify"),
        ([Severity.CRITICAL], "escalate"),
        ([Severity.WARN, Severity.CRITICAL], "escalate"),
    ],
)
def test_decision_mapping(severities: list[Severity], decision: str) -> None:
    assert decide(event(f"s{i}", s) for i, s in enumerate(severities)) == decision


def run(previous: dict | None, minute: int, heartbeat_age: float, **patch: object) -> dict:
    now = ny(FULL_DAY, 11, minute)
    status = parse_status(status_doc(now, heartbeat_age, **patch))
    history = parse_history(previous["history"]) if previous else []
    output = detect(status, now, Thresholds(), session_on(now), history).output(previous)
    return json.loads(json.dumps(output))  # what a stored artefact looks like


def test_same_condition_twice_is_not_new() -> None:
    first = run(None, 0, 400, stuck_exits=1)
    assert [e["signature"] for e in first["new_events"]] == ["heartbeat_stale", "stuck_exits"]
    assert first["decision"] == "escalate"
    # Ten minutes later the heartbeat is older and more exits are stuck: same conditions, no new alert
    # for them; the heartbeat that has not recovered for 10 minutes is the one new event.
    second = run(first, 10, 1000, stuck_exits=3)
    assert [e["signature"] for e in second["events"]] == [
        "heartbeat_stale",
        "stuck_exits",
        "heartbeat_stale:no_recovery",
    ]
    assert [e["signature"] for e in second["new_events"]] == ["heartbeat_stale:no_recovery"]
    third = run(second, 20, 1600, stuck_exits=3)
    assert third["new_events"] == [] and third["decision"] == "escalate"


def test_a_new_signature_is_one_new_event() -> None:
    first = run(None, 0, 50, stuck_exits=1, pending_exits=1)
    assert [e["signature"] for e in first["new_events"]] == ["stuck_exits"]  # one pending exit: recorded
    second = run(first, 10, 50, stuck_exits=1, pending_exits=1)
    assert [e["signature"] for e in second["new_events"]] == ["pending_exits"]  # it persists
    assert second["new_events"][0]["severity"] == "warn"


def test_a_cleared_then_returning_condition_alerts_again() -> None:
    first = run(None, 0, 50, stuck_exits=1)
    cleared = run(first, 10, 50)
    assert (cleared["events"], cleared["new_events"], cleared["decision"]) == ([], [], "observe")
    again = run(cleared, 20, 50, stuck_exits=1)
    assert [e["signature"] for e in again["new_events"]] == ["stuck_exits"]


def test_output_shape() -> None:
    output = Evaluation.of([event("a", Severity.CRITICAL)]).output(None)
    assert list(output) == ["events", "new_events", "decision", "history"]
    timed = Evaluation.of([], at=ny(FULL_DAY, 11, 0)).output(None)
    assert timed["evaluated_at"] == {
        "utc": "2026-06-01T15:00:00+00:00",
        "et": "2026-06-01T11:00:00-04:00",
        "jst": "2026-06-02T00:00:00+09:00",
    }
    assert output["events"][0] == {
        "signature": "a",
        "severity": "critical",
        "signal": "test",
        "value": 1,
        "message": "a",
    }


@pytest.mark.parametrize("previous", [{}, {"events": "x"}, {"events": [{"severity": "warn"}]}, []])
def test_malformed_previous_output_is_refused(previous: object) -> None:
    with pytest.raises(PreviousOutputError):
        new_events(previous, [event("a")])  # type: ignore[arg-type]
