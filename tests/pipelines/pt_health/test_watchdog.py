"""The watchdog: a window that ended without an evaluation is alerted once, by name."""

from __future__ import annotations

import json

from tests.pipelines.pt_health.conftest import WATCHDOG, WEBSERVER, Monitor
from tests.pt_health.statuses import FULL_DAY, ny


def test_a_missed_window_is_alerted_once_and_only_since_watching_began(monitor: Monitor) -> None:
    monitor.clock.now = ny(FULL_DAY, 11, 0)  # the watchdog starts here: 09:25…10:50 are not its business
    assert monitor.tick(WATCHDOG).skip_message == "no missed window since 2026-06-01 11:00 ET"
    monitor.clock.now = ny(FULL_DAY, 11, 2)
    assert monitor.run_window("2026-06-01T11:00").success
    # 11:10 is never evaluated; it counts as missed 8 minutes after its end (the runbook's grace).
    monitor.clock.now = ny(FULL_DAY, 11, 27, 59)
    assert monitor.tick(WATCHDOG).skip_message == "no missed window since 2026-06-01 11:00 ET"
    monitor.clock.now = ny(FULL_DAY, 11, 28)
    assert monitor.tick(WATCHDOG).skip_message == "alerted missed window(s): 2026-06-01T11:10"
    (message,) = monitor.slack.messages
    assert "2026-06-01T11:10 (11:10–11:20 ET): no run" in message["text"]
    assert "10:50" not in message["text"] and "2026-06-01T11:00" not in message["text"]

    monitor.clock.now = ny(FULL_DAY, 11, 29)
    assert monitor.tick(WATCHDOG).skip_message == "1 missed window(s), all already alerted"
    monitor.restart()  # new resources and sensor context; the cursor is the daemon's, so it survives
    assert monitor.tick(WATCHDOG).skip_message == "1 missed window(s), all already alerted"
    assert len(monitor.slack.messages) == 1
    assert json.loads(monitor.cursors[WATCHDOG])["alerted"] == ["pt_health:missed:2026-06-01T11:10"]


def test_a_failed_evaluation_run_is_named_and_linked(monitor: Monitor) -> None:
    monitor.clock.now = ny(FULL_DAY, 9, 20)
    monitor.tick(WATCHDOG)
    monitor.clock.now = ny(FULL_DAY, 9, 26)
    monitor.slack.fail_with = "channel_not_found"  # the evaluation's alert cannot be sent: the run fails
    failed = monitor.run_window("2026-06-01T09:20", stuck_exits=1)
    assert not failed.success
    monitor.slack.fail_with = None
    monitor.clock.now = ny(FULL_DAY, 9, 38)
    monitor.tick(WATCHDOG)
    (message,) = monitor.slack.messages
    assert f"2026-06-01T09:20 (09:20–09:30 ET): run {failed.run_id[:8]} FAILURE" in message["text"]
    assert f"{WEBSERVER}/runs/{failed.run_id}" in message["text"]


def test_gaps_of_the_previous_session_are_caught_the_next_morning(monitor: Monitor) -> None:
    monitor.clock.now = ny(FULL_DAY, 15, 30)
    assert monitor.run_window("2026-06-01T15:30").success
    monitor.tick(WATCHDOG)
    # The daemon is down from 15:35 until the next morning: 15:40 … 17:50 (the close buffer runs to
    # 18:00) were never evaluated.
    monitor.clock.now = ny(FULL_DAY.replace(day=2), 8, 0)
    missed = [f"2026-06-01T{h:02d}:{m:02d}" for h in (15, 16, 17) for m in range(0, 60, 10)][4:]
    assert monitor.tick(WATCHDOG).skip_message == "alerted missed window(s): " + ", ".join(missed)
    (message,) = monitor.slack.messages
    assert "14 window(s) ended without a health evaluation" in message["text"]
    assert "sessions=2026-06-01" in message["text"]


def test_an_unreadable_cursor_restarts_watching_instead_of_crashing(monitor: Monitor) -> None:
    monitor.cursors[WATCHDOG] = "not json"
    monitor.clock.now = ny(FULL_DAY, 12, 0)
    assert monitor.tick(WATCHDOG).skip_message == "no missed window since 2026-06-01 12:00 ET"
    assert json.loads(monitor.cursors[WATCHDOG])["since"] == "2026-06-01T12:00:00-04:00"


def test_a_missed_window_alert_slack_refuses_is_retried_next_tick_and_sent_once(monitor: Monitor) -> None:
    monitor.clock.now = ny(FULL_DAY, 11, 0)
    monitor.tick(WATCHDOG)
    monitor.clock.now = ny(FULL_DAY, 11, 18)  # 11:00 ended 8 minutes ago without an evaluation
    monitor.slack.fail_with = "channel_not_found"
    refused = monitor.tick(WATCHDOG).skip_message
    assert refused.startswith("missed window(s): 2026-06-01T11:00; alert not sent (Slack refused")
    assert "channel_not_found" in refused and "retrying on the next tick" in refused
    assert json.loads(monitor.cursors[WATCHDOG])["failed"] == {"pt_health:missed:2026-06-01T11:00": 1}
    monitor.slack.fail_with = None
    monitor.clock.now = ny(FULL_DAY, 11, 20)
    assert monitor.tick(WATCHDOG).skip_message == "alerted missed window(s): 2026-06-01T11:00"
    monitor.clock.now = ny(FULL_DAY, 11, 22)
    assert monitor.tick(WATCHDOG).skip_message == "1 missed window(s), all already alerted"
    assert len(monitor.slack.messages) == 1
    assert json.loads(monitor.cursors[WATCHDOG])["failed"] == {}
