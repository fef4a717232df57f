"""A killed run leaves a STARTED run behind; it is found (only once its process is gone) and marked
failed, so it never holds the vendor lane: an ``aegis eod`` killed with SIGKILL, and runs no ``aegis``
command started (judged by what their executor recorded, or by the pid of their start event). The
daemon-side drills (UI, schedule, restart of ``dagster dev``) are in tests/e2e/test_killed_run.py."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time

import dagster as dg
import pytest
import yaml

from aegis_core.base.processes import this_host
from aegis_core.ops.run_watch import RunWorker
from aegis_pipelines.instance.orphans import fail_orphaned_runs, orphaned_runs
from aegis_pipelines.instance.workers import HOST_TAG, PID_TAG, WORKER_RUN_TAG, recorded_worker
from tests.conftest import PROJECT

SESSION = "2026-11-20"


def slow_profile(tmp_path, latency_ms: int) -> str:
    profile = yaml.safe_load((PROJECT / "configs/local.yaml").read_text())
    profile["sim"]["latency_ms"] = latency_ms
    path = tmp_path / "slow.yaml"
    path.write_text(yaml.safe_dump(profile))
    return str(path)


def start_eod(tmp_path, env: dict[str, str], home) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "aegis_pipelines.cli", "eod", "--date", SESSION],
        cwd=PROJECT,
        env={**os.environ, **env, "DAGSTER_HOME": str(home)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def wait_for_started_run(
    instance: dg.DagsterInstance, timeout_s: float = 120, proc: subprocess.Popen | None = None
) -> dg.DagsterRun:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            pytest.fail(f"the run's process exited with {proc.returncode} before its run started")
        runs = instance.get_runs(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED]))
        if runs:
            return runs[0]
        time.sleep(0.3)
    pytest.fail("aegis eod never started its run")


@pytest.mark.timeout(240)
def test_killed_cli_run_is_marked_failed_and_a_live_one_is_left_alone(sim_env, tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(PROJECT / "dagster.yaml", home / "dagster.yaml")
    env = {**sim_env, "AEGIS_CONFIG": slow_profile(tmp_path, latency_ms=2500)}
    proc = start_eod(tmp_path, env, home)
    try:
        with dg.DagsterInstance.from_config(str(home)) as instance:
            run = wait_for_started_run(instance)
            assert run.tags[PID_TAG] == str(proc.pid) and run.tags[HOST_TAG]
            assert run.tags[WORKER_RUN_TAG] == run.run_id
            time.sleep(3)  # older than the minimum age: judged on its process alone
            assert proc.poll() is None, "the run must still be going for this test"
            assert orphaned_runs(instance) == []  # alive: never touched
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
            assert instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.STARTED
            messages: list[str] = []
            assert fail_orphaned_runs(instance, messages.append) == [run.run_id]
            assert instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.FAILURE
            assert f"pid {proc.pid}" in messages[0] and "is gone" in messages[0]
            assert fail_orphaned_runs(instance) == []  # once
    finally:
        if proc.poll() is None:
            proc.kill()


def start_foreign(job: str, seconds: float, home) -> subprocess.Popen:
    """A run no ``aegis`` command started (tests/fakes/foreign_run.py), on the instance of ``home``."""
    return subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.foreign_run", job, str(seconds)],
        cwd=PROJECT,
        env={**os.environ, "DAGSTER_HOME": str(home)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def local_home(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(PROJECT / "dagster.yaml", home / "dagster.yaml")
    return home


@pytest.mark.timeout(180)
def test_a_killed_run_no_aegis_code_started_is_judged_by_its_start_event(tmp_path):
    """The run of a UI launch or a schedule carries no ``aegis/pid`` tag: the pid is on the RUN_START
    event's ``DagsterEvent`` (not on the ``EventLogEntry``, where the sensor used to look and crash)."""
    home = local_home(tmp_path)
    proc = start_foreign("plain_job", 60, home)
    try:
        with dg.DagsterInstance.from_config(str(home)) as instance:
            run = wait_for_started_run(instance, proc=proc)
            assert PID_TAG not in run.tags and WORKER_RUN_TAG not in run.tags
            assert recorded_worker(instance, run) == RunWorker(proc.pid)
            time.sleep(2.5)
            assert orphaned_runs(instance) == []  # alive: never touched
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
            messages: list[str] = []
            assert fail_orphaned_runs(instance, messages.append) == [run.run_id]
            assert f"pid {proc.pid}" in messages[0] and "is gone" in messages[0]
            assert instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.FAILURE
    finally:
        if proc.poll() is None:
            proc.kill()


@pytest.mark.timeout(180)
def test_the_executor_records_the_worker_and_a_copy_from_another_run_is_ignored(tmp_path):
    home = local_home(tmp_path)
    proc = start_foreign("recording_job", 60, home)
    try:
        with dg.DagsterInstance.from_config(str(home)) as instance:
            run = wait_for_started_run(instance, proc=proc)
            deadline = time.monotonic() + 30
            while WORKER_RUN_TAG not in run.tags and time.monotonic() < deadline:
                time.sleep(0.2)
                run = instance.get_run_by_id(run.run_id)
            assert run.tags[WORKER_RUN_TAG] == run.run_id
            assert run.tags[PID_TAG] == str(proc.pid) and run.tags[HOST_TAG] == this_host()
            # A re-execution copies its parent's tags: worker tags recorded for another run are not its own.
            instance.add_run_tags(run.run_id, {WORKER_RUN_TAG: "a-parent-run", PID_TAG: "999999"})
            copied = instance.get_run_by_id(run.run_id)
            assert recorded_worker(instance, copied) == RunWorker(proc.pid)  # its RUN_START pid
            time.sleep(2.5)
            assert orphaned_runs(instance) == []
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
            assert fail_orphaned_runs(instance) == [run.run_id]
    finally:
        if proc.poll() is None:
            proc.kill()
