"""The watchdog: a window that ended without an evaluation is alerted once, by name."""

from __future__ import annotations

import json

import pytest

from tests.pipelines.pt_health.conftest import WATCHDOG, WEBSERVER, Monitor
from tests.pt_health.statuses import FULL_DAY, ny


def test_a_missed_window_is_alerted_once_and_only_since_watching_began(monitor: Monitor) -> None:
    monitor.clock.now = ny(FULL_DAY, 11, 0)  # the watchdog starts here: 09:25…10:50 are not its business
    assert monitor.tick(WATCHDOG).skip_message == "no missed window since 2026-06-01 11:00 ET"
    monitor.clock.now = ny(FULL_DAY, 11, 2)
    assert monitor.run_window("2026-06-01T11:00").success
    # 11:10 is never evaluated; it counts as missed 5 minutes after its end.
    monitor.clock.now = ny(FULL_DAY, 11, 24)
    assert monitor.tick(WATCHDOG).skip_message == "no missed window since 2026-06-01 11:00 ET"
    monitor.clock.now = ny(FULL_DAY, 11, 25)
    assert monitor.tick(WATCHDOG).skip_message == "alerted missed window(s): 2026-06-01T11:10"
    (message,) = monitor.slack.messages
    assert "2026-06-01T11:10 (11:10–11:20 ET): no run" in message["text"]
    assert "10:50" not in message["text"] and "2026-06-01T11:00" not in message["text"]

    monitor.clock.now = ny(FULL_DAY, 11, 27)
    assert monitor.tick(WATCHDOG).skip_message == "1 missed window(s), all already alerted"
    monitor.restart()  # new resources and sensor context; the cursor is the daemon's, so it survives
    assert monitor.tick(WATCHDOG).skip_message == "1 missed window(s), all already alerted"
    assert len(monitor.slack.messages) == 1
    assert json.loads(monitor.cursors[WATCHDOG])["alerted"] == ["pt_health:missed:2026-06-01T11:10"]


def test_a_failed_evaluation_run_is_named_and_linked(
    monitor: Monitor, monkeypatch: pytest.MonkeyPatch
) -> None:
    monitor.clock.now = ny(FULL_DAY, 9, 0)
    monitor.tick(WATCHDOG)
    monitor.clock.now = ny(FULL_DAY, 9, 26)
    monkeypatch.setenv("AEGIS_PT_HEARTBEAT_STALE_SEC", "-1")  # a bad threshold: the run fails
    failed = monitor.run_window("2026-06-01T09:25")
    assert not failed.success
    monitor.clock.now = ny(FULL_DAY, 9, 36)
    monitor.tick(WATCHDOG)
    (message,) = monitor.slack.messages
    assert f"2026-06-01T09:25 (09:25–09:30 ET): run {failed.run_id[:8]} FAILURE" in message["text"]
    assert f"{WEBSERVER}/runs/{failed.run_id}" in message["text"]


def test_gaps_of_the_previous_session_are_caught_the_next_morning(monitor: Monitor) -> None:
    monitor.clock.now = ny(FULL_DAY, 15, 30)
    assert monitor.run_window("2026-06-01T15:30").success
    monitor.tick(WATCHDOG)
    # The daemon is down from 15:35 until the next morning: 15:40, 15:50 and 16:00 were never evaluated.
    monitor.clock.now = ny(FULL_DAY.replace(day=2), 8, 0)
    assert monitor.tick(WATCHDOG).skip_message == (
        "alerted missed window(s): 2026-06-01T15:40, 2026-06-01T15:50, 2026-06-01T16:00"
    )
    (message,) = monitor.slack.messages
    assert "3 window(s) ended without a health evaluation" in message["text"]
    assert "sessions=2026-06-01" in message["text"]


def test_an_unreadable_cursor_restarts_watching_instead_of_crashing(monitor: Monitor) -> None:
    monitor.cursors[WATCHDOG] = "not json"
    monitor.clock.now = ny(FULL_DAY, 12, 0)
    assert monitor.tick(WATCHDOG).skip_message == "no missed window since 2026-06-01 12:00 ET"
    assert json.loads(monitor.cursors[WATCHDOG])["since"] == "2026-06-01T12:00:00-04:00"
