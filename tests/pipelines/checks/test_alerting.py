"""Alerts end to end: real runs on a test instance, the sensors ticked like the daemon ticks them, a fake
Slack Web API on loopback receiving ``chat.postMessage``.
"""

from __future__ import annotations

import datetime as dt
import json

import dagster as dg
import pytest

from aegis_assets.alert_tags import SELF_ALERTING_TAG
from aegis_assets.ldas.checks import (
    FRESHNESS_CHECK,
    GEX_SANITY_CHECK,
    SCHEMA_CONTRACT_CHECK,
    UNIVERSE_COVERAGE_CHECK,
)
from aegis_core.base.settings import SettingsError, load_settings
from aegis_core.calendar import NY
from aegis_pipelines.alerting.sensors import CHECK_ALERT_SENSOR, RUN_FAILURE_ALERT_SENSOR
from aegis_pipelines.ldas.quality import FRESHNESS_SCHEDULE
from tests.conftest import PROJECT
from tests.fakes.slack import FakeSlack
from tests.parity.archive_builder import daily_path, make_gex_levels_nullable, set_column, stock_path
from tests.pipelines.sensor_ticks import tick_sensor

from .conftest import SESSION_KEY, load_defs, run_job

TOKEN = "xoxb-test-4242-alerts-SECRET"
CHANNEL = "#aegis-alerts"
WEB = "http://dagster.example.test:3000"
SENSORS = (CHECK_ALERT_SENSOR, RUN_FAILURE_ALERT_SENSOR)
RETRIES = {"run_retries": {"enabled": True, "max_retries": 1}}


class Daemon:
    """Ticks the alert sensors as the sensor daemon does: each tick starts from the cursor the last stored."""

    def __init__(self, defs: dg.Definitions, instance: dg.DagsterInstance):
        self.defs, self.instance = defs, instance
        self.cursors: dict[str, str | None] = {}
        self.skips: list[str] = []

    def tick(self) -> None:
        for name in SENSORS:
            data = tick_sensor(self.defs, self.instance, name, self.cursors.get(name))
            assert not data.run_requests
            self.cursors[name] = data.cursor
            self.skips.append(data.skip_message or "")


@pytest.fixture
def slack(archives, monkeypatch):
    """Slack configured (token only in the environment) and pointed at the fake; quality checks only."""
    with FakeSlack() as fake:
        monkeypatch.setenv("SLACK_BOT_TOKEN", TOKEN)
        monkeypatch.setenv("AEGIS_SLACK_CHANNEL", CHANNEL)
        monkeypatch.setenv("AEGIS_SLACK_BASE_URL", fake.base_url)
        monkeypatch.setenv("AEGIS_WEBSERVER_URL", WEB)
        monkeypatch.delenv("AEGIS_PARITY_ROOT")  # one alert per broken thing, no parity echo
        yield fake


def texts(fake: FakeSlack) -> list[str]:
    return [m["text"] for m in fake.messages]


def assert_no_secret(fake: FakeSlack, daemon: Daemon, logs: str) -> None:
    """``logs``: what runs and sensor ticks wrote (a sensor's ``context.log`` is Dagster's console logger)."""
    assert fake.messages and all(m["channel"] == CHANNEL for m in fake.messages)
    assert set(fake.auth_headers) == {f"Bearer {TOKEN}"}  # the header is the only place the token goes
    for where in (json.dumps(fake.messages), *daemon.skips, *map(str, daemon.cursors.values()), logs):
        assert TOKEN not in where and "SECRET" not in where


def test_failed_checks_alert_once_per_problem_and_again_after_recovery(slack, archives, capsys, instance):
    gex = daily_path(archives.python, "gex_summary")
    set_column(gex, "gex_regime", {"AAPL": "negative"})
    stock_path(archives.python, "TSLA").unlink()
    defs = load_defs()
    daemon = Daemon(defs, instance)
    daemon.tick()  # first tick: the cursor starts now
    first = run_job(defs, instance)
    assert first.success  # non-blocking failures leave the run SUCCESS: no run-failure sensor sees them
    daemon.tick()
    # The lost TSLA file is also a disagreement with the lake, which still holds its bar; so is the edited
    # gex_summary file (as many rows at the same times, other values: the content digest).
    assert len(slack.messages) == 4
    consistency = {t.split("asset=")[1].split()[0]: t for t in texts(slack) if "check=lake_consistency" in t}
    assert "TSLA (0 vs 1)" in consistency["ldas/stocks"]
    assert "AAPL (other values)" in consistency["ldas/gex_summary"]
    (sanity,) = [t for t in texts(slack) if f"check={GEX_SANITY_CHECK}" in t]
    (coverage,) = [t for t in texts(slack) if f"check={UNIVERSE_COVERAGE_CHECK}" in t]
    assert sanity.startswith(
        "[CRITICAL] Asset check failed: ldas/gex_summary gex_sanity: gex_summary: 1 of 6"
    )
    assert "AAPL" in sanity and "asset=ldas/gex_summary" in sanity and "check=gex_sanity" in sanity
    assert f"partition={SESSION_KEY}" in sanity and sanity.endswith(f"{WEB}/runs/{first.run_id}")
    assert "missing TSLA" in coverage and "asset=ldas/stocks" in coverage
    assert f"<{WEB}/runs/{first.run_id}|Open in Dagster>" in json.dumps(slack.messages[0]["blocks"])

    run_job(defs, instance)  # the same problems again: no new message
    daemon.tick()
    assert len(slack.messages) == 4

    set_column(gex, "gex_regime", {"AAPL": "positive"})  # fixed ...
    assert run_job(defs, instance).success
    daemon.tick()
    set_column(gex, "gex_regime", {"AAPL": "neutral"})  # ... and broken again: a new problem
    again = run_job(defs, instance)
    daemon.tick()
    assert len(slack.messages) == 6  # both problems of the file are new again
    latest = {t.split(": ")[1].split()[1]: t for t in texts(slack)[4:]}
    assert latest["gex_sanity"].startswith("[CRITICAL] Asset check failed: ldas/gex_summary gex_sanity")
    assert latest["gex_sanity"].endswith(f"/runs/{again.run_id}")
    assert "AAPL (other values)" in latest["lake_consistency"]
    assert_no_secret(slack, daemon, capsys.readouterr().err)


def test_a_failed_run_alerts_once_unless_it_will_be_retried_or_alerts_for_itself(slack, archives, capsys):
    holiday = "2026-04-03"  # Good Friday: the checks refuse it
    defs = load_defs()
    with dg.instance_for_test(overrides=RETRIES) as instance:  # run retries on, as in dagster.yaml
        daemon = Daemon(defs, instance)
        daemon.tick()
        retried = run_job(defs, instance, "ldas_freshness_job", partition=holiday)
        final = run_job(
            defs, instance, "ldas_freshness_job", partition=holiday, tags={"dagster/max_retries": "0"}
        )
        self_alerting = run_job(
            defs,
            instance,
            "ldas_freshness_job",
            partition=holiday,
            tags={"dagster/max_retries": "0", **SELF_ALERTING_TAG},
        )
        tags = {r.run_id: instance.get_run_by_id(r.run_id).tags for r in (retried, final, self_alerting)}
        assert [tags[r.run_id].get("dagster/will_retry") for r in (retried, final, self_alerting)] == [
            "true",
            "false",
            "false",
        ]
        daemon.tick()
        daemon.tick()
    assert len(slack.messages) == 1
    (text,) = texts(slack)
    assert text.startswith("[CRITICAL] Run failed: ldas_freshness_job: ldas/")
    assert f"{holiday} is not an NYSE session" in text and "(+1 more failed step(s)" in text
    assert f"partition={holiday}" in text and "job=ldas_freshness_job" in text and "asset=-" in text
    assert "check=ldas/gex_summary freshness, ldas/iv_rank freshness" in text
    assert text.endswith(f"{WEB}/runs/{final.run_id}")
    skips = " ".join(daemon.skips)
    assert f"run {retried.run_id[:8]} of ldas_freshness_job will be retried" in skips
    assert f"run {self_alerting.run_id[:8]} of ldas_freshness_job alerts for itself" in skips
    assert_no_secret(slack, daemon, capsys.readouterr().err)


def test_a_blocking_check_failure_alerts_as_the_check_not_again_as_a_run(slack, archives, capsys, instance):
    make_gex_levels_nullable(archives.python)
    defs = load_defs()
    daemon = Daemon(defs, instance)
    daemon.tick()
    result = run_job(defs, instance)
    assert not result.success
    daemon.tick()
    (text,) = texts(slack)
    assert text.startswith(f"[CRITICAL] Asset check failed: ldas/gex_summary {SCHEMA_CONTRACT_CHECK}:")
    assert "gamma_wall, put_wall, zero_gamma_level" in text
    assert f"run {result.run_id[:8]} of ldas_checks_job failed on blocking checks only" in " ".join(
        daemon.skips
    )
    assert_no_secret(slack, daemon, capsys.readouterr().err)


def test_a_missed_deadline_alerts_from_the_scheduled_freshness_run(slack, archives, capsys, instance):
    daily_path(archives.python, "iv_rank").unlink()
    defs = load_defs()
    schedule = defs.resolve_schedule_def(FRESHNESS_SCHEDULE)
    assert schedule.cron_schedule == "0 18 * * 1-5" and schedule.execution_timezone == "America/New_York"

    def at(day: int):
        when = dt.datetime(2026, 4, day, 18, 0, tzinfo=NY)
        with dg.build_schedule_context(instance=instance, scheduled_execution_time=when) as ctx:
            return schedule.evaluate_tick(ctx)

    assert at(3).skip_message == "2026-04-03 is not an NYSE session (weekend or holiday)"
    (request,) = at(10).run_requests
    assert request.tags["dagster/partition"] == SESSION_KEY and request.run_key == f"freshness:{SESSION_KEY}"

    daemon = Daemon(defs, instance)
    daemon.tick()
    slack.fail_with = "channel_not_found"  # Slack refuses: nothing is marked sent
    run = run_job(defs, instance, "ldas_freshness_job", partition=None, tags=dict(request.tags))
    assert run.success
    daemon.tick()
    assert (
        not slack.messages
        and "not sent" in daemon.skips[-2]
        and "retrying on the next tick" in daemon.skips[-2]
    )
    slack.fail_with = None
    daemon.tick()
    daemon.tick()
    (text,) = texts(slack)
    assert text.startswith(
        "[CRITICAL] Freshness deadline missed: ldas/iv_rank: "
        "2026-04-10: iv_rank missing after the deadline 2026-04-10 18:00 ET"
    )
    assert f"check={FRESHNESS_CHECK}" in text and f"{WEB}/runs/{run.run_id}" in text
    logs = capsys.readouterr().err
    assert "Slack refused the alert 'check:ldas/iv_rank:freshness:2026-04-10': channel_not_found" in logs
    assert_no_secret(slack, daemon, logs)


def test_without_slack_alerts_go_to_the_log(archives, capsys, instance):
    daily_path(archives.python, "gex_summary").unlink()
    defs = load_defs()
    daemon = Daemon(defs, instance)
    daemon.tick()
    run_job(
        defs,
        instance,
        "ldas_freshness_job",
        partition=None,
        tags={
            "dagster/asset_partition_range_start": "2026-04-09",
            "dagster/asset_partition_range_end": SESSION_KEY,
        },
    )
    capsys.readouterr()
    daemon.tick()
    alerts = [line for line in capsys.readouterr().err.splitlines() if "ALERT [" in line]
    assert len(alerts) == 2  # gex_summary missing on both days, iv_rank on 04-09
    assert all("partition=2026-04-09...2026-04-10" in a for a in alerts)
    assert any(
        "ALERT [CRITICAL] Freshness deadline missed: ldas/gex_summary: 2 of 2 sessions fail" in a
        for a in alerts
    )


def test_the_production_profile_requires_slack(tmp_path):
    with pytest.raises(SettingsError, match="SLACK_BOT_TOKEN: this profile sends alerts to Slack"):
        load_settings(environ={}, path=PROJECT / "configs/production.yaml")
