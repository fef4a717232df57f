"""The watchdog's decisions (aegis_core.ops.watchdog): daemon heartbeats and expected schedule ticks."""

from __future__ import annotations

import datetime as dt

import pytest

from aegis_core.calendar import NY
from aegis_core.ops.watchdog import (
    EOD_SCHEDULE,
    INTRADAY_SCHEDULE,
    Policy,
    ScheduleObservation,
    daemon_alert,
    last_eod_tick,
    last_intraday_tick,
    tick_alerts,
    watchdog_alerts,
)

POLICY = Policy(heartbeat_max_age=dt.timedelta(minutes=3), tick_grace=dt.timedelta(minutes=10))
LONG_AGO = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


def ny(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=NY)


# --- expected ticks --------------------------------------------------------------------------------


def test_eod_is_expected_at_1715_on_sessions_only():
    assert last_eod_tick(ny(2026, 11, 20, 17, 15)) == ny(2026, 11, 20, 17, 15)
    assert last_eod_tick(ny(2026, 11, 20, 17, 14)) == ny(2026, 11, 19, 17, 15)
    # Thanksgiving (Thu 26th) is a holiday; Friday 27th an early close, still a session.
    assert last_eod_tick(ny(2026, 11, 26, 23, 0)) == ny(2026, 11, 25, 17, 15)
    assert last_eod_tick(ny(2026, 11, 29, 12, 0)) == ny(2026, 11, 27, 17, 15)  # Sunday


def test_intraday_is_expected_at_each_slot_of_market_hours():
    assert last_intraday_tick(ny(2026, 11, 20, 9, 34)) == ny(2026, 11, 19, 15, 50)
    assert last_intraday_tick(ny(2026, 11, 20, 9, 35)) == ny(2026, 11, 20, 9, 35)
    assert last_intraday_tick(ny(2026, 11, 20, 12, 7)) == ny(2026, 11, 20, 12, 5)
    assert last_intraday_tick(ny(2026, 11, 20, 20, 0)) == ny(2026, 11, 20, 15, 50)
    # The early close of the 27th (13:00): the last slot starts at 12:50.
    assert last_intraday_tick(ny(2026, 11, 27, 16, 0)) == ny(2026, 11, 27, 12, 50)


# --- the daemon ------------------------------------------------------------------------------------


def test_fresh_heartbeats_are_quiet_and_stale_ones_alert_once_per_outage():
    now = ny(2026, 11, 20, 12, 0)
    fresh = {"SCHEDULER": now - dt.timedelta(seconds=20), "SENSOR": now - dt.timedelta(seconds=5)}
    assert daemon_alert(now, LONG_AGO, fresh, POLICY) is None
    last = now - dt.timedelta(minutes=4)
    stale = {"SCHEDULER": last, "SENSOR": last - dt.timedelta(seconds=3)}
    alert = daemon_alert(now, LONG_AGO, stale, POLICY)
    assert alert is not None and alert.severity == "critical"
    assert "no heartbeat for 4m00s (limit 3m00s)" in alert.reason
    assert alert.fields["daemons"] == "SCHEDULER, SENSOR"
    # Later in the same outage: the same key (deduplicated); a new outage: a new key.
    later = daemon_alert(now + dt.timedelta(hours=1), LONG_AGO, stale, POLICY)
    assert later is not None and later.key == alert.key
    again = {"SCHEDULER": now + dt.timedelta(hours=2)}
    assert daemon_alert(now + dt.timedelta(hours=3), LONG_AGO, again, POLICY).key != alert.key


def test_no_heartbeat_at_all_alerts_only_after_the_daemon_had_time_to_write_one():
    start = ny(2026, 11, 20, 12, 0)
    assert daemon_alert(start + dt.timedelta(minutes=1), start, {}, POLICY) is None
    alert = daemon_alert(start + dt.timedelta(minutes=5), start, {}, POLICY)
    assert alert is not None and alert.key == "watchdog:daemon:never"
    assert "no daemon heartbeat at all" in alert.reason


# --- schedule ticks --------------------------------------------------------------------------------


def test_a_missing_eod_tick_alerts_after_the_grace_and_a_present_one_does_not():
    since = ny(2026, 11, 20, 9, 0)
    ticked = {EOD_SCHEDULE: ScheduleObservation(False, ny(2026, 11, 20, 17, 15, 2))}
    missing = {EOD_SCHEDULE: ScheduleObservation(False, ny(2026, 11, 19, 17, 15, 1))}
    only_eod = {EOD_SCHEDULE: last_eod_tick}
    assert tick_alerts(ny(2026, 11, 20, 17, 24), since, missing, POLICY, only_eod) == []  # within grace
    assert tick_alerts(ny(2026, 11, 20, 17, 26), since, ticked, POLICY, only_eod) == []
    (alert,) = tick_alerts(ny(2026, 11, 20, 17, 26), since, missing, POLICY, only_eod)
    assert alert.key == "watchdog:tick:ldas_eod_schedule:2026-11-20T17:15:00-05:00"
    assert alert.fields == {
        "schedule": EOD_SCHEDULE,
        "due": "2026-11-20 17:15 ET",
        "last tick": "2026-11-19 17:15 ET",
    }
    never = tick_alerts(ny(2026, 11, 20, 17, 26), since, {}, POLICY, only_eod)
    assert [a.fields["last tick"] for a in never] == ["never"]


def test_intraday_ticks_are_expected_in_market_hours_only():
    since = ny(2026, 11, 20, 9, 0)
    last = {INTRADAY_SCHEDULE: ScheduleObservation(False, ny(2026, 11, 20, 10, 5, 1))}
    only = {INTRADAY_SCHEDULE: last_intraday_tick}
    (alert,) = tick_alerts(ny(2026, 11, 20, 10, 31), since, last, POLICY, only)  # the 10:20 slot is missing
    assert alert.fields["due"] == "2026-11-20 10:20 ET"
    # Saturday: the last slot expected is Friday's 15:50, which ticked.
    done = {INTRADAY_SCHEDULE: ScheduleObservation(False, ny(2026, 11, 20, 15, 50, 3))}
    assert tick_alerts(ny(2026, 11, 21, 11, 0), since, done, POLICY, only) == []


def test_ticks_due_before_the_watchdog_started_and_stopped_schedules_are_not_expected():
    now = ny(2026, 11, 20, 17, 40)
    missing: dict[str, ScheduleObservation] = {}
    only_eod = {EOD_SCHEDULE: last_eod_tick}
    assert tick_alerts(now, ny(2026, 11, 20, 17, 20), missing, POLICY, only_eod) == []
    stopped = {EOD_SCHEDULE: ScheduleObservation(True, None)}
    assert tick_alerts(now, ny(2026, 11, 20, 9, 0), stopped, POLICY, only_eod) == []


@pytest.mark.parametrize("minutes_down", [2, 5])
def test_everything_at_once(minutes_down):
    now = ny(2026, 11, 20, 17, 30)
    beats = {"SCHEDULER": now - dt.timedelta(minutes=minutes_down)}
    ticks = {
        EOD_SCHEDULE: ScheduleObservation(False, ny(2026, 11, 19, 17, 15)),
        INTRADAY_SCHEDULE: ScheduleObservation(False, ny(2026, 11, 20, 15, 50)),
    }
    alerts = watchdog_alerts(now, ny(2026, 11, 20, 9, 0), beats, ticks, POLICY)
    titles = [a.title for a in alerts]
    expected = ["Schedule tick missing: ldas_eod_schedule"]
    assert titles == (["Dagster daemon is down"] if minutes_down > 3 else []) + expected
