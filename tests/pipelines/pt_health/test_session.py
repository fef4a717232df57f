"""A simulated session: a fixed clock walked minute by minute, the sensors ticked as the daemon would."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import pytest

from aegis_assets.ops.pt_health import WINDOW_TAG
from aegis_core.calendar import nyse
from aegis_core.ops.pt_health import session_windows
from tests.pipelines.pt_health.conftest import SENSOR, WATCHDOG, Monitor
from tests.pt_health.statuses import EARLY_CLOSE, FULL_DAY, HOLIDAY, SATURDAY, ny


def walk(start: dt.datetime, end: dt.datetime, step: dt.timedelta = dt.timedelta(minutes=1)):
    t = start
    while t < end:
        yield t
        t += step


@pytest.mark.parametrize(
    ("day", "dropped_index", "span"),
    [(FULL_DAY, 5, "09:00–18:00"), (EARLY_CLOSE, -1, "09:00–15:00")],
    ids=["full-day", "early-close"],
)
def test_one_evaluation_per_window_and_a_dropped_window_is_reported(
    monitor: Monitor, day: dt.date, dropped_index: int, span: str
) -> None:
    session = nyse().session(day)
    assert session is not None
    windows = session_windows(session, monitor.defs.resources["dashboard"].policy())
    dropped = windows[dropped_index].key  # the run the old scheduler would have silently dropped
    requested, skips = [], []
    # The runbook's span: 13:00–21:59 UTC in daylight-saving time, i.e. 09:00 to close + 2 h New York.
    assert windows[0].start == ny(day, 9, 0) and windows[-1].end == session.close + dt.timedelta(hours=2)
    # Ticks every 3 minutes (the daemon ticks every minute or so): never aligned with every window start.
    ticks = walk(ny(day, 8, 30), session.close + dt.timedelta(minutes=150), dt.timedelta(minutes=3))
    for i, now in enumerate(ticks):
        monitor.clock.now = now
        data = monitor.tick(SENSOR)
        if data.run_requests:
            (request,) = data.run_requests
            assert request.tags[WINDOW_TAG] == request.run_key
            requested.append(request.run_key)
            if request.run_key != dropped:
                assert monitor.run_window(request.run_key).success
        else:
            skips.append((now, data.skip_message))
        if i % 2 == 0:
            monitor.tick(WATCHDOG)

    # Exactly one request per window, in order; every other tick skips with its reason.
    assert requested == [w.key for w in windows]
    before = [m for t, m in skips if t < windows[0].start]
    after = [m for t, m in skips if t >= windows[-1].end]
    assert len(before) == 10 and len(after) == 10  # 08:30…08:57 and close+120…close+147
    assert all(f"outside the monitored span {span} ET of the {day} session" in m for m in before + after)
    inside = [m for t, m in skips if windows[0].start <= t < windows[-1].end]
    assert inside and all("already requested" in m for m in inside)

    # One recorded evaluation per window, except the dropped one.
    evaluations = monitor.materializations()
    assert [m["window"] for m in evaluations] == [w.key for w in windows if w.key != dropped]
    assert {m["decision"] for m in evaluations} == {"observe"}

    # The healthy day sends nothing; the dropped window is reported once, by name.
    assert len(monitor.slack.messages) == 1
    (text,) = monitor.slack_texts()
    assert "evaluation missed" in text and dropped in text and "no run" in text
    assert sum(dropped in t for t in monitor.slack_texts()) == 1


@pytest.mark.parametrize("day", [HOLIDAY, SATURDAY], ids=["juneteenth", "saturday"])
def test_closed_days_only_skip(monitor: Monitor, day: dt.date) -> None:
    for now in walk(ny(day, 8, 0), ny(day, 17, 0), dt.timedelta(minutes=45)):
        monitor.clock.now = now
        data = monitor.tick(SENSOR)
        assert data.run_requests == []
        assert data.skip_message == f"{day} is not an NYSE session (weekend or holiday)"
        assert monitor.tick(WATCHDOG).run_requests == []
    assert monitor.slack.messages == []


def test_disabled_monitor_skips_and_is_stopped_by_default(
    instance: dg.DagsterInstance, dashboard, slack
) -> None:
    monitor = Monitor(instance, dashboard, slack, enabled=False)
    monitor.clock.now = ny(FULL_DAY, 10, 0)
    for name in (SENSOR, WATCHDOG):
        assert monitor.defs.resolve_sensor_def(name).default_status == dg.DefaultSensorStatus.STOPPED
        assert "disabled" in monitor.tick(name).skip_message
    enabled = Monitor(instance, dashboard, slack)
    for name in (SENSOR, WATCHDOG):
        assert enabled.defs.resolve_sensor_def(name).default_status == dg.DefaultSensorStatus.RUNNING


def test_a_restarted_sensor_does_not_request_the_window_again(monitor: Monitor) -> None:
    monitor.clock.now = ny(FULL_DAY, 10, 2)
    assert [r.run_key for r in monitor.tick(SENSOR).run_requests] == ["2026-06-01T10:00"]
    monitor.restart()
    monitor.clock.now = ny(FULL_DAY, 10, 3)
    assert monitor.tick(SENSOR).skip_message == "window 2026-06-01T10:00 already requested"
