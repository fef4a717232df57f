"""The one alert-once ledger and its rule for a failed send, against the fake Slack over HTTP."""

import pytest

from aegis_core.alerts import Alert, SlackSender
from aegis_core.base.alert_ledger import AlertLedger, deliver
from tests.fakes.slack import FakeSlack


def alert(key: str) -> Alert:
    return Alert(key, f"Problem {key}", "critical", "it broke", {"what": key})


@pytest.fixture
def slack():
    with FakeSlack() as fake:
        yield fake


def sender(slack: FakeSlack) -> SlackSender:
    return SlackSender("xoxb-ledger-test", "#alerts", base_url=slack.base_url)


def test_a_failed_send_is_not_recorded_and_the_next_tick_sends_it(slack: FakeSlack) -> None:
    ledger = AlertLedger()
    slack.fail_with = "ratelimited"
    first = deliver([alert("a"), alert("b")], sender(slack), ledger)
    assert first.sent == [] and [a.key for a, _ in first.failed] == ["a"]
    assert [a.key for a in first.not_tried] == ["b"] and not first.complete
    assert "a" not in ledger and ledger.failed_sends("a") == 1
    assert first.notes()[0].startswith("alert not sent (Slack refused the alert 'a': ratelimited)")

    slack.fail_with = None
    again = AlertLedger.loads(ledger.dumps())  # the cursor round trip of a sensor tick
    second = deliver([alert("a"), alert("b")], sender(slack), again)
    assert [a.key for a in second.sent] == ["a", "b"] and second.complete
    assert "a" in again and again.failed_sends("a") == 0
    assert [m["text"].split(":")[0] for m in slack.messages] == [
        "[CRITICAL] Problem a",
        "[CRITICAL] Problem b",
    ]
    assert deliver([alert("a"), alert("b")], sender(slack), again).sent == []
    assert len(slack.messages) == 2


def test_retries_of_a_refused_alert_are_bounded_then_it_is_given_up(slack: FakeSlack) -> None:
    ledger = AlertLedger(max_failed_sends=3)
    slack.fail_with = "invalid_blocks"
    outcomes = [deliver([alert("poison")], sender(slack), ledger) for _ in range(3)]
    assert [len(o.failed) for o in outcomes] == [1, 1, 0]
    assert [a.key for a, _ in outcomes[2].given_up] == ["poison"] and outcomes[2].complete
    assert "given up after repeated failed sends" in outcomes[2].notes()[0]
    # Settled: never tried again, and it does not hold back the alerts behind it.
    slack.fail_with = None
    later = deliver([alert("poison"), alert("next")], sender(slack), ledger)
    assert [a.key for a in later.sent] == ["next"]
    assert [m["text"].split(":")[0] for m in slack.messages] == ["[CRITICAL] Problem next"]


def test_one_alert_may_stand_for_several_keys(slack: FakeSlack) -> None:
    ledger = AlertLedger()
    both = deliver([alert("w1..w2")], sender(slack), ledger, keys_of=lambda _: ["w1", "w2"])
    assert len(both.sent) == 1 and "w1" in ledger and "w2" in ledger and "w1..w2" not in ledger
    assert deliver([alert("w2")], sender(slack), ledger).sent == []


def test_forget_lets_a_resolved_problem_alert_again_and_the_ledger_is_bounded(slack: FakeSlack) -> None:
    ledger = AlertLedger(limit=2)
    deliver([alert("a"), alert("b"), alert("c")], sender(slack), ledger)
    assert list(ledger) == ["b", "c"]
    ledger.forget(["c"])
    assert [a.key for a in deliver([alert("c")], sender(slack), ledger).sent] == ["c"]


def test_a_cursor_from_before_failure_counting_still_loads() -> None:
    ledger = AlertLedger.from_doc({"alerted": ["x", "y"], "last_issued_at": "1"})
    assert "x" in ledger and ledger.to_doc() == {"alerted": ["x", "y"], "failed": {}}
    with pytest.raises(TypeError, match="alert ledger"):
        AlertLedger.from_doc({"alerted": "x"})
