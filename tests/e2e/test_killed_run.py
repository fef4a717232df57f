"""Drill on the local instance (``dagster dev``): runs of every origin killed mid-run, each marked failed
within two minutes, and each time the next run queued on the vendor lane (tag ``aegis/vendor``,
limit 1) starts.

One chain of victims, each one's successor being the next victim:

1. ``aegis eod`` killed with SIGKILL (the CLI run; ``orphaned_run_sensor`` finds its process gone);
2. the run the daemon launched from ``ldas_eod_schedule`` at 17:15 by itself (the clock of the daemon
   and of the runs it launches is moved to the next session's evening, ``daemon_clock/sitecustomize.py``;
   the webserver and the code server keep the real one): its run worker killed;
3. a run launched from the UI (GraphQL ``launchRun``, what the Launchpad sends): its worker killed;
4. a UI-launched run in flight when all of ``dagster dev`` is killed (SIGKILL to its process group:
   the run's code server goes with it, nothing reports the run's end); ``dagster dev`` started again
   on the same home: the sensor judges the run from what it recorded (its worker's pid) and fails it.

Runs are not retried in this home (``run_retries`` off), so each successor is a run the drill queued.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
import pytest
import yaml

from aegis_core.base.clock import wall_clock
from aegis_core.calendar import NY, nyse
from tests.conftest import PROJECT, SMALL_UNIVERSE
from tests.e2e.devserver import DevServer, start_dev_server
from tests.e2e.test_dagster_e2e import JOB, LAUNCH_RUN, LOCATION, REPOSITORY, RUN, tags
from tests.pipelines.test_orphaned_runs import slow_profile, start_eod

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

RUNS = """
query($tags: [ExecutionTag!]) { runsOrError(filter: {tags: $tags}) { __typename
  ... on Runs { results { runId status tags { key value } } } } }"""
LIMIT_S = 120.0  # "marked failed within two minutes", and the next queued run started by then
SCHEDULE = "ldas_eod_schedule"
# The session whose 17:15 the daemon's clock is moved to: the next one, so that its clock only ever
# moves forward (see daemon_clock/sitecustomize.py), whatever the time the suite runs at.
SCHEDULED = nyse().next_session(wall_clock().astimezone(NY).date()).key


def evening(hhmmss: str) -> str:
    return dt.datetime.fromisoformat(f"{SCHEDULED}T{hhmmss}").replace(tzinfo=NY).isoformat()


CLOCK_START = evening("17:00:00")  # the daemon first sees the schedules then: no tick before 17:15
CLOCK_JUMP = evening("17:14:45")
CLOCK_AFTER = evening("17:40:00")  # the restarted daemon's: no tick between 17:15 and then
# One per UI-launched run, after the CLI's: none before the first session the archive holds chains of.
UI_SESSIONS = ["2026-11-23", "2026-11-24", "2026-11-25"]
CLI_SESSION = "2026-11-20"  # start_eod's


@dataclass
class Kill:
    origin: str  # cli, ui, schedule, ui (dagster dev killed)
    run_id: str
    successor: str
    failed_after_s: float
    successor_started_after_s: float
    message: str


@dataclass
class Drill:
    kills: list[Kill] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    restart_pids_killed: int = 0


def runs_tagged(server: DevServer, key: str, value: str) -> list[dict]:
    return server.graphql(RUNS, {"tags": [{"key": key, "value": value}]})["runsOrError"]["results"]


def status(server: DevServer, run_id: str) -> dict:
    return server.graphql(RUN, {"id": run_id})["runOrError"]


def launch_queued(server: DevServer, session: str) -> str:
    execution_tags = [
        {"key": "dagster/partition", "value": session},
        {"key": "dagster/max_retries", "value": "0"},
    ]
    params = {
        "selector": {"repositoryLocationName": LOCATION, "repositoryName": REPOSITORY, "jobName": JOB},
        "runConfigData": {},
        "executionMetadata": {"tags": execution_tags},
    }
    answer = server.graphql(LAUNCH_RUN, {"params": params})["launchRun"]
    assert answer["__typename"] == "LaunchRunSuccess", answer
    return answer["run"]["runId"]


def wait_for(server: DevServer, run_id: str, done, what: str, timeout_s: float = LIMIT_S) -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        run = status(server, run_id)
        if done(run):
            return run
        if time.monotonic() > deadline:
            where = f"run {run_id[:8]} not {what} after {timeout_s:.0f}s: {run['status']}"
            pytest.fail(f"{where}\n{server.log_tail()}")
        time.sleep(0.5)


def started_with_worker(server: DevServer, run_id: str) -> int:
    """Wait until the run is STARTED and has recorded its worker; its pid (as the UI shows it)."""

    def recorded(run: dict) -> bool:
        if run["status"] in ("QUEUED", "NOT_STARTED", "STARTING"):
            return False
        return run["status"] != "STARTED" or "aegis/pid" in tags(run)

    run = wait_for(server, run_id, recorded, "started", timeout_s=180)
    assert run["status"] == "STARTED", run
    assert tags(run)["aegis/worker_run"] == run_id
    return int(tags(run)["aegis/pid"])


def failure_message(server: DevServer, run_id: str) -> str:
    events = server.graphql(
        """query($id: ID!) { logsForRun(runId: $id) { ... on EventConnection { events {
            __typename ... on MessageEvent { message } } } } }""",
        {"id": run_id},
    )["logsForRun"]["events"]
    return next((e["message"] for e in events if e["__typename"] == "RunFailureEvent"), "")


def judge_kill(server: DevServer, drill: Drill, origin: str, run_id: str, successor: str, killed_at: float):
    failed = wait_for(server, run_id, lambda r: r["status"] != "STARTED", "failed")
    failed_after = time.monotonic() - killed_at
    assert failed["status"] == "FAILURE", failed
    wait_for(server, successor, lambda r: r["status"] not in ("QUEUED", "NOT_STARTED"), "dequeued")
    drill.kills.append(
        Kill(
            origin,
            run_id,
            successor,
            round(failed_after, 1),
            round(time.monotonic() - killed_at, 1),
            failure_message(server, run_id),
        )
    )


def home_for_the_drill(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    home = tmp_path / "home"
    home.mkdir()
    config = yaml.safe_load((PROJECT / "dagster.yaml").read_text())
    config["run_retries"] = {"enabled": False}  # each successor is a run the drill queued
    (home / "dagster.yaml").write_text(yaml.safe_dump(config))
    universe = tmp_path / "universe.txt"
    universe.write_text("\n".join(SMALL_UNIVERSE) + "\n")
    env = {
        "AEGIS_CONFIG": slow_profile(tmp_path, latency_ms=5000),  # runs outlive the drill's steps
        "AEGIS_ARCHIVE_ROOT": str(tmp_path / "archive"),
        "AEGIS_LAKE_ROOT": str(tmp_path / "lake"),
        "AEGIS_UNIVERSE_FILE": str(universe),
    }
    return home, env


@pytest.fixture(scope="module")
def drill(tmp_path_factory) -> Iterator[Drill]:
    tmp_path = tmp_path_factory.mktemp("killed")
    home, env = home_for_the_drill(tmp_path)
    trigger = home / "clock-jump"
    clock = {
        "PYTHONPATH": str(Path(__file__).parent / "daemon_clock"),
        "AEGIS_TEST_DAEMON_CLOCK": CLOCK_START,
        "AEGIS_TEST_DAEMON_CLOCK_JUMP": f"{CLOCK_JUMP}@{trigger}",
        "AEGIS_TEST_CLOCK_OFFSET_FILE": str(home / "clock-offset"),
    }
    result = Drill()
    mark = time.monotonic()
    server = start_dev_server(PROJECT, home, {**env, **clock}, ready_timeout_s=180)
    result.seconds["first_start"] = round(time.monotonic() - mark, 1)
    second: DevServer | None = None
    cli: subprocess.Popen | None = None
    try:
        # 1. aegis eod, killed: the sensor fails its run. Meanwhile the daemon's clock reaches 17:15 and
        #    the schedule's run queues behind it, then a UI run: the scheduled run starts next.
        # Its own, slower market: it must outlive the wait for the schedule's tick.
        (tmp_path / "cli").mkdir()
        slower = slow_profile(tmp_path / "cli", latency_ms=15000)
        cli = start_eod(tmp_path, {**env, "AEGIS_CONFIG": slower}, home)
        deadline = time.monotonic() + 180
        cli_run = None
        while cli_run is None:
            cli_run = next(
                (r["runId"] for r in runs_tagged(server, "aegis/trigger", "cli") if r["status"] == "STARTED"),
                None,
            )
            assert cli.poll() is None and time.monotonic() < deadline, "aegis eod never started its run"
            time.sleep(0.5)
        trigger.touch()  # the daemon's clock to 17:14:45 of SCHEDULED: its 17:15 tick follows by itself
        mark = time.monotonic()
        deadline = time.monotonic() + 120
        scheduled = None
        while scheduled is None:
            scheduled = next(
                (r["runId"] for r in runs_tagged(server, "dagster/schedule_name", SCHEDULE)), None
            )
            assert time.monotonic() < deadline, f"ldas_eod_schedule fired no run:\n{server.log_tail()}"
            time.sleep(1)
        assert tags(status(server, scheduled))["dagster/partition"] == SCHEDULED
        result.seconds["schedule_fired_after_jump"] = round(time.monotonic() - mark, 1)
        ui_first = launch_queued(server, UI_SESSIONS[0])
        assert status(server, scheduled)["status"] == "QUEUED"  # the vendor lane is held
        assert cli.poll() is None, "aegis eod ended before it could be killed: slow the market down"
        cli.send_signal(signal.SIGKILL)
        cli.wait(timeout=10)
        judge_kill(server, result, "cli", cli_run, scheduled, time.monotonic())

        # 2. The scheduled run's worker killed; the UI run queued behind it starts.
        os.kill(started_with_worker(server, scheduled), signal.SIGKILL)
        judge_kill(server, result, "schedule", scheduled, ui_first, time.monotonic())

        # 3. The UI run's worker killed; a second UI run queued behind it starts.
        worker = started_with_worker(server, ui_first)
        ui_second = launch_queued(server, UI_SESSIONS[1])
        time.sleep(2)
        assert status(server, ui_second)["status"] == "QUEUED"
        os.kill(worker, signal.SIGKILL)
        judge_kill(server, result, "ui", ui_first, ui_second, time.monotonic())

        # 4. All of dagster dev killed while the UI run is in flight; started again on the same home.
        started_with_worker(server, ui_second)
        killed_at = time.monotonic()
        result.restart_pids_killed = len(server.kill())
        with dg.DagsterInstance.from_config(str(home)) as instance:  # nobody reported its end
            assert instance.get_run_by_id(ui_second).status == dg.DagsterRunStatus.STARTED
        mark = time.monotonic()
        # The daemon's clock goes on from where it was (a real-clock daemon would catch up on every
        # 17:15 tick since the moved one and queue those runs first).
        later = {**clock, "AEGIS_TEST_DAEMON_CLOCK": CLOCK_AFTER, "AEGIS_TEST_DAEMON_CLOCK_JUMP": ""}
        second = start_dev_server(PROJECT, home, {**env, **later}, ready_timeout_s=180)
        result.seconds["restart"] = round(time.monotonic() - mark, 1)
        ui_third = launch_queued(second, UI_SESSIONS[2])
        judge_kill(second, result, "ui after a restart of dagster dev", ui_second, ui_third, killed_at)
        result.seconds["total"] = round(time.monotonic() - mark, 1)
        yield result
    finally:
        if cli is not None and cli.poll() is None:
            cli.kill()
        for each in (second, server):
            if each is not None and each.process.poll() is None:
                each.stop()
        print(f"\nkilled-run drill: {result}")


def test_every_origin_killed_mid_run_is_failed_within_two_minutes(drill):
    assert [k.origin for k in drill.kills] == ["cli", "schedule", "ui", "ui after a restart of dagster dev"]
    for kill in drill.kills:
        assert kill.failed_after_s <= LIMIT_S, kill
        assert kill.successor_started_after_s <= LIMIT_S, kill


def test_the_next_run_on_the_vendor_lane_starts_each_time(drill):
    for kill in drill.kills:
        assert kill.successor != kill.run_id
        assert kill.successor_started_after_s >= kill.failed_after_s  # not before the lane was free


def test_the_failure_says_why(drill):
    by_origin = {k.origin: k.message for k in drill.kills}
    # The sensor's own words where it judged (the killed CLI, the run whose server died with it);
    # the code server's where it saw its own child die.
    assert "is gone" in by_origin["cli"] and "pid" in by_origin["cli"]
    assert "is gone" in by_origin["ui after a restart of dagster dev"]
    for origin in ("ui", "schedule"):
        assert by_origin[origin], origin


def test_the_restart_killed_everything_dagster_dev_had_started(drill):
    # dagster dev, its webserver, its daemon, the code server(s) and the run's worker
    assert drill.restart_pids_killed >= 5, drill
