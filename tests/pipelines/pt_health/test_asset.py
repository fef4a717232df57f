"""The ``ops/pt_health`` asset: metadata, one Slack message per new problem, dedup across restarts,
dashboard failures as events, thresholds from the settings, memory across runs, and no token anywhere
it shouldn't be."""

from __future__ import annotations

import datetime as dt
import json
import socket

import dagster as dg
import pytest

from aegis_assets.ops.pt_health import ADHOC_WINDOW, PT_HEALTH_KEY
from aegis_assets.resources import DashboardResource
from aegis_core.base.settings import SettingsError, load_settings
from aegis_core.ops.pt_health import Thresholds, display_url
from aegis_pipelines.resources import dashboard_resource
from tests.pipelines.pt_health.conftest import TOKEN, WEBSERVER, Monitor
from tests.pt_health.statuses import FULL_DAY, ny


def failure_message(result: dg.ExecuteInProcessResult) -> str:
    (event,) = result.get_step_failure_events()
    return event.step_failure_data.error.message


def at(monitor: Monitor, hour: int, minute: int) -> str:
    monitor.clock.now = ny(FULL_DAY, hour, minute)
    return monitor.clock.now.strftime("%Y-%m-%dT%H:%M")


def test_healthy_evaluation_is_recorded_with_its_metadata(monitor: Monitor) -> None:
    key = at(monitor, 10, 0)
    result = monitor.run_window(key)
    assert result.success
    (meta,) = monitor.materializations()
    assert meta["window"] == key
    assert meta["decision"] == "observe"
    assert (meta["events_total"], meta["events_critical"], meta["events_warn"], meta["new_events_count"]) == (
        0,
        0,
        0,
        0,
    )
    assert meta["events"] == [] and meta["new_events"] == []
    assert meta["dashboard_url"] == monitor.dashboard.url
    assert meta["dashboard_urls"] == [monitor.dashboard.url]
    assert meta["thresholds"]["heartbeat_stale_sec"] == 300
    assert meta["evaluated_at"] == monitor.clock.now.isoformat()
    assert "no events" in meta["evidence"]
    assert monitor.slack.messages == []
    assert monitor.dashboard.authorizations == [f"Bearer {TOKEN}"]


def test_a_new_problem_alerts_once_and_a_restart_does_not_re_alert(monitor: Monitor) -> None:
    assert monitor.run_window(at(monitor, 10, 0)).success
    assert monitor.slack.messages == []

    # A new problem: one message with the decision, the evidence and a link to the run.
    result = monitor.run_window(at(monitor, 10, 10), stuck_exits=1)
    assert result.success
    assert len(monitor.slack.messages) == 1
    text = monitor.slack_texts()[0]
    assert "ESCALATE" in text and "stuck_exits" in text and "stuck_exits=1" in text
    assert f"{WEBSERVER}/runs/{result.run_id}" in text
    meta = monitor.materializations()[-1]
    assert meta["decision"] == "escalate" and meta["events_critical"] == 1
    assert [e["signature"] for e in meta["new_events"]] == ["stuck_exits"]
    assert "| yes | critical | `stuck_exits` |" in meta["evidence"]

    # The same problem in the next window: recorded, not re-sent.
    assert monitor.run_window(at(monitor, 10, 20), stuck_exits=1).success
    assert len(monitor.slack.messages) == 1
    meta = monitor.materializations()[-1]
    assert meta["new_events_count"] == 0 and meta["decision"] == "escalate"

    # A new signature beside the known one: one more message, about the new one only.
    assert monitor.run_window(at(monitor, 10, 30), stuck_exits=1, gateway="UNHEALTHY").success
    assert len(monitor.slack.messages) == 2
    second = monitor.slack.messages[1]["text"]
    assert (
        "gateway_unhealthy" in second and "new=gateway_unhealthy" in second and "`stuck_exits`" not in second
    )

    # Restart: new definitions and resource objects, same instance: nothing is re-sent.
    monitor.restart()
    assert monitor.run_window(at(monitor, 10, 40), stuck_exits=1, gateway="UNHEALTHY").success
    assert len(monitor.slack.messages) == 2

    # Recovery, then the problem returns: that is new again.
    assert monitor.run_window(at(monitor, 10, 50)).success
    assert monitor.run_window(at(monitor, 11, 0), stuck_exits=1).success
    assert len(monitor.slack.messages) == 3
    assert [m["decision"] for m in monitor.materializations()] == [
        "observe",
        "escalate",
        "escalate",
        "escalate",
        "escalate",
        "observe",
        "escalate",
    ]


@pytest.mark.parametrize(
    ("mode", "reason"),
    [("error", "HTTP 500"), ("stall", "timed out after 0.3s"), ("bad_json", "not valid JSON")],
)
def test_dashboard_failures_are_a_critical_event_not_a_crash(
    instance: dg.DagsterInstance, dashboard, slack, mode: str, reason: str
) -> None:
    monitor = Monitor(instance, dashboard, slack, timeout_s=0.3)
    dashboard.mode = mode
    result = monitor.run_window(at(monitor, 10, 0))
    assert result.success
    (meta,) = monitor.materializations()
    assert meta["decision"] == "escalate"
    (event,) = meta["events"]
    assert event["signature"] == "dashboard_unreachable" and event["severity"] == "critical"
    assert reason in event["message"] and display_url(dashboard.url) in event["message"]
    assert meta["dashboard_url"] == "none answered"
    (text,) = monitor.slack_texts()
    assert "dashboard_unreachable" in text and reason in text
    # The next window with the dashboard still down: known, so silent.
    assert monitor.run_window(at(monitor, 10, 10)).success
    assert len(monitor.slack.messages) == 1


def test_a_fallback_url_answers_and_is_named(instance: dg.DagsterInstance, dashboard, slack) -> None:
    with socket.socket() as sock:  # a port nobody listens on: connection refused
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}/status_v3"
    monitor = Monitor(instance, dashboard, slack, dashboard_urls=[dead, dashboard.url])
    assert monitor.run_window(at(monitor, 10, 0)).success
    (meta,) = monitor.materializations()
    assert meta["dashboard_url"] == dashboard.url
    assert [e["signature"] for e in meta["events"]] == ["dashboard_fallback_used"]
    assert meta["decision"] == "notify"
    assert len(monitor.slack.messages) == 1


def test_thresholds_come_from_the_settings_model(
    instance: dg.DagsterInstance, dashboard, slack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Thresholds reach the run through the resource (settings, AEGIS_PT_* read at load), not os.environ."""
    monitor = Monitor(instance, dashboard, slack, thresholds=Thresholds(high_exit_attempt_warn=2))
    monkeypatch.setenv(
        "AEGIS_PT_HIGH_EXIT_ATTEMPT_WARN", "50"
    )  # read by load_settings only, never by the run
    assert monitor.run_window(at(monitor, 10, 10)).success  # max_exit_attempt_count=2
    meta = monitor.materializations()[-1]
    assert [e["signature"] for e in meta["new_events"]] == ["high_exit_attempts:warn"]
    assert meta["thresholds"]["high_exit_attempt_warn"] == 2
    resource = monitor.defs.resources["dashboard"]
    assert resource.thresholds["high_exit_attempt_warn"] == 2 and resource.watchdog_grace_minutes == 8

    settings = load_settings({"AEGIS_PT_HIGH_EXIT_ATTEMPT_WARN": "7", "AEGIS_PT_PERSIST_EVALUATIONS": "3"})
    assert dashboard_resource(settings).thresholds["high_exit_attempt_warn"] == 7
    assert dashboard_resource(settings).thresholds["persist_evaluations"] == 3
    with pytest.raises(SettingsError, match="AEGIS_PT_PENDING_ORDER_WARN"):
        load_settings({"AEGIS_PT_PENDING_ORDER_WARN": "two"})


def test_temporal_rules_remember_across_runs_and_restarts(monitor: Monitor) -> None:
    """A pending exit once is recorded; in the next window it persists (notify); a stale heartbeat that
    does not recover escalates. The memory is the asset's own history metadata, so it survives restarts."""
    assert monitor.run_window(at(monitor, 10, 0), pending_exits=1).success
    first = monitor.materializations()[-1]
    assert first["decision"] == "observe" and first["conditions"] == "pending_exits"
    assert monitor.slack.messages == []
    monitor.restart()
    assert monitor.run_window(at(monitor, 10, 10), pending_exits=1, heartbeat_age=400).success
    second = monitor.materializations()[-1]
    assert second["decision"] == "notify"
    assert [e["signature"] for e in second["new_events"]] == ["heartbeat_stale", "pending_exits"]
    assert [o["at"][11:16] for o in second["history"]] == ["14:00", "14:10"]
    assert monitor.run_window(at(monitor, 10, 20), pending_exits=1, heartbeat_age=1000).success
    third = monitor.materializations()[-1]
    assert third["decision"] == "escalate"
    assert [e["signature"] for e in third["new_events"]] == ["heartbeat_stale:no_recovery"]
    assert len(monitor.slack.messages) == 2 and "ESCALATE" in monitor.slack_texts()[1]
    # Evidence in the three time zones the runbook's operators read, in metadata and in the alert.
    assert (third["evaluated_at_utc"], third["evaluated_at_et"], third["evaluated_at_jst"]) == (
        "2026-06-01T14:20:00+00:00",
        "2026-06-01T10:20:00-04:00",
        "2026-06-01T23:20:00+09:00",
    )
    assert "2026-06-01 14:20 UTC · 2026-06-01 10:20 ET · 2026-06-01 23:20 JST" in monitor.slack_texts()[1]


def test_an_unreadable_history_is_a_first_run(monitor: Monitor) -> None:
    assert monitor.run_window(at(monitor, 10, 0), pending_exits=1).success
    monitor.instance.report_runless_asset_event(
        dg.AssetMaterialization(
            PT_HEALTH_KEY, metadata={"events": [], "history": dg.MetadataValue.json({"x": 1})}
        )
    )
    assert monitor.run_window(at(monitor, 10, 10), pending_exits=1).success
    assert monitor.materializations()[-1]["decision"] == "observe"  # no memory: not yet "persists"


def test_an_undelivered_alert_is_not_recorded_so_the_next_window_retries(monitor: Monitor) -> None:
    monitor.slack.fail_with = "channel_not_found"
    result = monitor.run_window(at(monitor, 10, 0), stuck_exits=1)
    assert not result.success
    assert "channel_not_found" in failure_message(result)
    assert monitor.materializations() == []
    monitor.slack.fail_with = None
    assert monitor.run_window(at(monitor, 10, 10), stuck_exits=1).success
    assert len(monitor.slack.messages) == 1 and "stuck_exits" in monitor.slack_texts()[0]


def test_the_dashboard_token_never_leaks(monitor: Monitor) -> None:
    monitor.dashboard.mode = "error"  # failure messages are where a careless client would put the URL/token
    result = monitor.run_window(at(monitor, 10, 0))
    assert result.success
    assert monitor.dashboard.authorizations == [f"Bearer {TOKEN}"]  # sent, in the header only
    assert all(TOKEN not in path for path in monitor.dashboard.paths)
    assert TOKEN not in json.dumps(monitor.materializations())
    assert TOKEN not in "\n".join(monitor.slack_texts())
    assert all(TOKEN not in (event.message or "") for event in result.all_events)
    assert TOKEN not in repr(DashboardResource(urls=[monitor.dashboard.url], token=TOKEN))
    # The definitions carry the variable's name, never its value.
    dashboard = monitor.defs.resources["dashboard"]
    assert isinstance(dashboard.token, dg.EnvVar) and dashboard.token.env_var_name == "AEGIS_DASHBOARD_TOKEN"


def test_a_run_launched_by_hand_finds_its_window_or_is_adhoc(monitor: Monitor) -> None:
    monitor.clock.now = ny(FULL_DAY, 10, 7)
    assert monitor.evaluate().success
    monitor.clock.now = ny(FULL_DAY, 20, 0)
    assert monitor.evaluate().success
    assert [m["window"] for m in monitor.materializations()] == ["2026-06-01T10:00", ADHOC_WINDOW]


def test_the_evaluation_time_comes_from_the_clock_resource(monitor: Monitor) -> None:
    """No run tag moves a production run's clock: a tag that used to is ignored."""
    monitor.clock.now = ny(FULL_DAY, 10, 7)
    assert monitor.evaluate({"aegis/pt_now": "2026-06-01T19:00:00Z"}).success
    assert monitor.materializations()[-1]["evaluated_at"] == monitor.clock.now.isoformat()
    assert monitor.defs.resources["clock"] is monitor.clock
    monitor.clock.now = dt.datetime(2026, 6, 1, 10, 8)  # naive: refused by name
    result = monitor.evaluate()
    assert not result.success and "naive time" in failure_message(result)
