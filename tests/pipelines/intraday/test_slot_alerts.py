"""Slot alerts on a simulated clock: missed, never started, under-covered, failed; the EOD budget.

Real runs on a test instance, the sensors ticked as the daemon ticks them (each tick from the cursor
the previous one stored), and a fake Slack Web API on loopback. The clock is injected into the
definitions; the alert for each slot must go out within five minutes of its start, once.
"""

from __future__ import annotations

import datetime as dt
import uuid

import dagster as dg
import pytest
import yaml

from aegis_core.base.settings import load_settings
from aegis_core.calendar import NY
from aegis_pipelines.alerting.sensors import CHECK_ALERT_SENSOR, RUN_FAILURE_ALERT_SENSOR
from aegis_pipelines.alerting.timing import EOD_DURATION_SENSOR, SLOT_WATCHDOG_SENSOR
from aegis_pipelines.ldas.eod import eod_definitions
from aegis_pipelines.ldas.intraday import intraday_definitions
from aegis_pipelines.ldas.quality import quality_definitions
from tests.conftest import PROJECT
from tests.fakes.slack import FakeSlack
from tests.pipelines.sensor_ticks import tick_sensor

TOKEN = "xoxb-test-slot-alerts-SECRET"
DAY = dt.date(2026, 11, 20)  # a past full session (partition keys are checked against the real clock)
SENSORS = (SLOT_WATCHDOG_SENSOR, CHECK_ALERT_SENSOR, RUN_FAILURE_ALERT_SENSOR, EOD_DURATION_SENSOR)


def at(hh: int, mm: int, ss: int = 0) -> dt.datetime:
    return dt.datetime(2026, 11, 20, hh, mm, ss, tzinfo=NY)


class Clock:
    def __init__(self, now: dt.datetime):
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


class Daemon:
    """Ticks the sensors as the sensor daemon does, from the cursor each stored last."""

    def __init__(
        self,
        defs: dg.Definitions,
        instance: dg.DagsterInstance,
        clock: Clock,
        sensors: tuple[str, ...] = SENSORS,
    ):
        self.defs, self.instance, self.clock, self.sensors = defs, instance, clock, sensors
        self.cursors: dict[str, str | None] = {}
        self.skips: dict[str, str] = {}

    def tick(self, when: dt.datetime) -> None:
        self.clock.now = when
        for name in self.sensors:
            data = tick_sensor(self.defs, self.instance, name, self.cursors.get(name))
            assert not data.run_requests
            self.cursors[name] = data.cursor
            self.skips[name] = data.skip_message or ""


@pytest.fixture
def slack(sim_env, monkeypatch):
    with FakeSlack() as fake:
        monkeypatch.setenv("SLACK_BOT_TOKEN", TOKEN)
        monkeypatch.setenv("AEGIS_SLACK_CHANNEL", "#aegis-alerts")
        monkeypatch.setenv("AEGIS_SLACK_BASE_URL", fake.base_url)
        yield fake


@pytest.fixture
def instance():
    with dg.instance_for_test() as inst:
        yield inst


def definitions(clock: Clock, **profile_changes) -> dg.Definitions:
    settings = load_settings()
    if profile_changes:
        settings = settings.model_copy(update=profile_changes)
    return dg.Definitions.merge(
        eod_definitions(settings, clock),
        quality_definitions(settings),
        intraday_definitions(settings, clock),
    )


def failing_source_defs(tmp_path, clock: Clock) -> dg.Definitions:
    """The same profile with a source answering 5xx to every request (and no retries)."""
    tree = yaml.safe_load((PROJECT / "configs/local.yaml").read_text())
    tree["sim"]["faults"] = {"rate_5xx": 1.0}
    tree["polygon"]["max_retries"] = 0
    path = tmp_path / "failing.yaml"
    path.write_text(yaml.safe_dump(tree))
    settings = load_settings(path=path)
    return dg.Definitions.merge(
        eod_definitions(settings, clock),
        quality_definitions(settings),
        intraday_definitions(settings, clock),
    )


def capture(defs: dg.Definitions, instance, slot: str, **tags: str) -> dg.ExecuteInProcessResult:
    return defs.resolve_job_def("ldas_intraday_job").execute_in_process(
        partition_key=slot, instance=instance, tags=tags, raise_on_error=False
    )


def texts(fake: FakeSlack) -> list[str]:
    return [m["text"] for m in fake.messages]


def test_every_kind_of_bad_slot_alerts_within_five_minutes_once(slack, instance, tmp_path):
    clock = Clock(at(10, 4, 30))
    defs = definitions(clock)
    daemon = Daemon(defs, instance, clock)
    daemon.tick(at(10, 4, 30))  # first ticks: cursors start now, nothing from before is replayed
    sent_at: dict[str, dt.datetime] = {}

    def tick(when: dt.datetime) -> list[str]:
        before = len(slack.messages)
        daemon.tick(when)
        new = texts(slack)[before:]
        for text in new:
            sent_at[text] = when
        return new

    # 10:05 runs as scheduled: nothing to say.
    assert capture(defs, instance, "2026-11-20-10:05").success
    assert tick(at(10, 8)) == []
    assert "none missed" in daemon.skips[SLOT_WATCHDOG_SENSOR]

    # 10:20: the schedule did not fire. Not yet at 10:22:59; at 10:23 (3 min) the alert names the slot
    # and every symbol left without a snapshot.
    assert tick(at(10, 22, 59)) == []
    (missed,) = tick(at(10, 23))
    assert missed.startswith("[CRITICAL] Intraday slot missed: 2026-11-20-10:20: slot 2026-11-20 10:20 ET: ")
    assert "no run was requested (the schedule did not fire)" in missed
    assert "no snapshot for 3 symbol(s): AAXJ, BDRY, CORN" in missed and "slot=2026-11-20-10:20" in missed
    assert tick(at(10, 24)) == []  # once

    # 10:35: a run was created but never launched (a queued run needs a code location's origin, which
    # an in-process test has not; NOT_STARTED is the same state to the watchdog: no start time).
    queued = dg.DagsterRun(
        job_name="ldas_intraday_job",
        run_id=str(uuid.uuid4()),
        tags={"dagster/partition": "2026-11-20-10:35"},
        status=dg.DagsterRunStatus.NOT_STARTED,
    )
    instance.add_run(queued)
    (never,) = tick(at(10, 38))
    assert "Intraday slot missed: 2026-11-20-10:35" in never
    assert f"its run never started (run {queued.run_id[:8]} NOT_STARTED)" in never

    # 10:50: captured, but only CORN: the coverage check fails and alerts, naming the missing symbols.
    assert capture(defs, instance, "2026-11-20-10:50", **{"aegis/symbols": "CORN"}).success
    (under,) = tick(at(10, 51))
    assert under.startswith(
        "[CRITICAL] Asset check failed: ldas/pt_snapshots slot_coverage: slot 2026-11-20 10:50"
    )
    assert "missing AAXJ, BDRY" in under and "partition=2026-11-20-10:50" in under

    # 11:05: the source fails every request: the run fails, and its alert names the slot and symbols.
    failing = failing_source_defs(tmp_path, clock)
    assert not capture(failing, instance, "2026-11-20-11:05").success
    (failed,) = tick(at(11, 6))
    assert failed.startswith("[CRITICAL] Run failed: ldas_intraday_job: ldas/pt_snapshots: no option chain")
    assert "slot 2026-11-20-11:05" in failed and "AAXJ" in failed and "partition=2026-11-20-11:05" in failed

    # Later ticks: nothing new for any of them (11:05 started, so it is not "missed" too).
    assert tick(at(11, 9)) == []
    slots = {"10:20": at(10, 20), "10:35": at(10, 35), "10:50": at(10, 50), "11:05": at(11, 5)}
    for text, when in sent_at.items():
        (slot,) = [s for s in slots if f"2026-11-20 {s}" in text or f"2026-11-20-{s}" in text]
        assert when - slots[slot] <= dt.timedelta(minutes=5), (slot, when)
    assert len(slack.messages) == 4
    assert all(TOKEN not in t for t in texts(slack)) and set(slack.auth_headers) == {f"Bearer {TOKEN}"}


def started_eod_run(instance) -> dg.DagsterRun:
    run = dg.DagsterRun(
        job_name="ldas_eod_job", run_id=str(uuid.uuid4()), tags={"dagster/partition": DAY.isoformat()}
    )
    instance.add_run(run)
    instance.report_dagster_event(
        dg.DagsterEvent(dg.DagsterEventType.RUN_START.value, job_name="ldas_eod_job"), run.run_id
    )
    return run


def test_eod_run_over_its_budget_alerts_once_and_is_left_running(slack, instance):
    run = started_eod_run(instance)
    (record,) = instance.get_run_records(filters=dg.RunsFilter(run_ids=[run.run_id]))
    started = dt.datetime.fromtimestamp(record.start_time, dt.UTC)
    clock = Clock(started)
    # The run starts at the real time, so the clock runs on from today: only the budget's sensor is ticked
    # (the slot watchdog would judge today's real slots when this runs during market hours).
    daemon = Daemon(definitions(clock), instance, clock, sensors=(EOD_DURATION_SENSOR,))

    daemon.tick(started + dt.timedelta(minutes=44, seconds=59))
    assert slack.messages == []
    assert "1 end-of-day run(s) running, none over the 45-min budget" in daemon.skips[EOD_DURATION_SENSOR]
    daemon.tick(started + dt.timedelta(minutes=45))
    (text,) = texts(slack)
    assert text.startswith("[WARNING] End-of-day run over budget: 2026-11-20: ldas_eod_job for 2026-11-20")
    assert "still running after 45 min (budget 45 min); it is not stopped" in text
    assert f"run={run.run_id[:8]}" in text and text.endswith(f"/runs/{run.run_id}")
    daemon.tick(started + dt.timedelta(minutes=70))
    assert len(slack.messages) == 1  # once per run
    assert "1 over budget (already alerted)" in daemon.skips[EOD_DURATION_SENSOR]
    assert instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.STARTED  # not killed


def test_what_counts_as_a_capture_of_the_slot():
    from aegis_assets.ldas.intraday import PT_SNAPSHOTS
    from aegis_pipelines.alerting.timing import captures_snapshots

    def run(job: str, selection=None) -> dg.DagsterRun:
        return dg.DagsterRun(job_name=job, run_id=str(uuid.uuid4()), asset_selection=selection)

    assert captures_snapshots(run("ldas_intraday_job"))
    assert captures_snapshots(run("__ASSET_JOB", frozenset({PT_SNAPSHOTS})))  # "Materialize" in the UI
    assert not captures_snapshots(run("ldas_slot_checks_job"))  # checks only: nothing captured
    assert not captures_snapshots(run("__ASSET_JOB", frozenset({dg.AssetKey(["ldas", "options"])})))


def test_a_missed_slot_alert_slack_refuses_is_retried_on_the_next_tick_and_sent_once(slack, instance):
    clock = Clock(at(10, 4, 30))
    daemon = Daemon(definitions(clock), instance, clock)
    daemon.tick(at(10, 4, 30))
    slack.fail_with = "channel_not_found"
    daemon.tick(at(10, 8))  # 10:05 never ran: due, but Slack refuses the alert; the tick does not crash
    skip = daemon.skips[SLOT_WATCHDOG_SENSOR]
    assert "alert not sent" in skip and "channel_not_found" in skip and "retrying on the next tick" in skip
    assert slack.messages == []
    slack.fail_with = None
    daemon.tick(at(10, 9))
    daemon.tick(at(10, 10))
    assert [t.split(":")[0] for t in texts(slack)] == ["[CRITICAL] Intraday slot missed"]
    assert daemon.skips[SLOT_WATCHDOG_SENSOR].startswith("1 slot(s) due, 1 missed (already alerted)")
