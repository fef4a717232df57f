import logging

import pytest

from aegis_core.alerts import Alert, AlertError, LogSender, SlackSender
from aegis_core.base.alert_ledger import AlertLedger, deliver
from tests.fakes.slack import FakeSlack

TOKEN = "xoxb-test-0123456789-secret"


def alert(key="check:ldas/gex_summary:gex_sanity:2026-11-20"):
    return Alert(
        key=key,
        title="Check failed: gex_sanity",
        severity="critical",
        reason="SPY: abs_gex < |net_gex|",
        fields={"asset": "ldas/gex_summary", "partition": "2026-11-20"},
        link="http://127.0.0.1:3000/runs/abc",
    )


def test_slack_receives_the_alert_once_with_link():
    with FakeSlack() as slack:
        sender = SlackSender(TOKEN, "#alerts", base_url=slack.base_url)
        ledger = AlertLedger()
        sent = deliver([alert(), alert()], sender, ledger).sent
        sent += deliver([alert()], sender, AlertLedger.loads(ledger.dumps())).sent
        assert len(sent) == 1 and len(slack.messages) == 1
        msg = slack.messages[0]
        assert msg["channel"] == "#alerts" and "abs_gex" in msg["text"] and "/runs/abc" in msg["text"]
        assert slack.auth_headers == [f"Bearer {TOKEN}"]
        assert TOKEN not in repr(sender)


def test_slack_error_is_reported_without_the_token():
    with FakeSlack() as slack:
        slack.fail_with = "channel_not_found"
        with pytest.raises(AlertError, match="channel_not_found") as err:
            SlackSender(TOKEN, "#nope", base_url=slack.base_url).send(alert())
        assert TOKEN not in str(err.value)


def test_unconfigured_slack_logs(caplog):
    with caplog.at_level(logging.WARNING, logger="aegis.alerts"):
        LogSender().send(alert())
    assert "Check failed: gex_sanity" in caplog.text


def test_ledger_is_bounded():
    ledger = AlertLedger(limit=2)
    for k in "abc":
        ledger.mark_sent(k)
    assert "a" not in ledger and "c" in ledger
