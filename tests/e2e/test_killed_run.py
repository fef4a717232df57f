"""Drill: ``aegis eod`` killed with SIGKILL mid-run, then a run queued by the daemon on the same vendor
lane (tag ``aegis/vendor``, limit 1) starts within two minutes: the daemon's ``orphaned_run_sensor``
finds the dead run's process gone and marks the run failed."""

from __future__ import annotations

import shutil
import signal
import time

import pytest

from tests.conftest import PROJECT, SMALL_UNIVERSE
from tests.e2e.devserver import dev_server
from tests.e2e.test_dagster_e2e import JOB, LAUNCH_RUN, LOCATION, REPOSITORY, RUN
from tests.pipelines.test_orphaned_runs import slow_profile, start_eod

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

RUNS = """
query { runsOrError(filter: {tags: [{key: "aegis/trigger", value: "cli"}]}) { __typename
  ... on Runs { results { runId status } } } }"""
QUEUED_SESSION = "2026-11-19"


def launch_queued(server) -> str:
    answer = server.graphql(
        LAUNCH_RUN,
        {
            "params": {
                "selector": {
                    "repositoryLocationName": LOCATION,
                    "repositoryName": REPOSITORY,
                    "jobName": JOB,
                },
                "runConfigData": {},
                "executionMetadata": {"tags": [{"key": "dagster/partition", "value": QUEUED_SESSION}]},
            }
        },
    )["launchRun"]
    assert answer["__typename"] == "LaunchRunSuccess", answer
    return answer["run"]["runId"]


def test_killed_eod_run_frees_the_vendor_lane_within_two_minutes(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(PROJECT / "dagster.yaml", home / "dagster.yaml")
    universe = tmp_path / "universe.txt"
    universe.write_text("\n".join(SMALL_UNIVERSE) + "\n")
    env = {
        "AEGIS_CONFIG": slow_profile(tmp_path, latency_ms=1500),
        "AEGIS_ARCHIVE_ROOT": str(tmp_path / "archive"),
        "AEGIS_LAKE_ROOT": str(tmp_path / "lake"),
        "AEGIS_UNIVERSE_FILE": str(universe),
    }
    with dev_server(PROJECT, home, env, ready_timeout_s=180) as server:
        proc = start_eod(tmp_path, env, home)
        try:
            deadline = time.monotonic() + 120
            killed = None
            while killed is None and time.monotonic() < deadline:
                runs = server.graphql(RUNS)["runsOrError"]["results"]
                killed = next((r["runId"] for r in runs if r["status"] == "STARTED"), None)
                time.sleep(0.5)
            assert killed, "aegis eod never started its run"
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
        finally:
            if proc.poll() is None:
                proc.kill()
        killed_at = time.monotonic()
        queued = launch_queued(server)
        status = None
        while time.monotonic() - killed_at < 120:
            status = server.graphql(RUN, {"id": queued})["runOrError"]["status"]
            if status not in ("QUEUED", "NOT_STARTED"):
                break
            time.sleep(2)
        waited = time.monotonic() - killed_at
        assert status in ("STARTING", "STARTED", "SUCCESS"), f"queued run still {status} after {waited:.0f}s"
        assert server.graphql(RUN, {"id": killed})["runOrError"]["status"] == "FAILURE"
        print(f"\nqueued run started {waited:.0f}s after the kill")
