"""A killed ``aegis eod`` leaves a STARTED run behind; it is found (only once its process is gone)
and marked failed, so it never holds the vendor lane. The daemon-side drill is in tests/e2e."""

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

from aegis_pipelines.instance.orphans import HOST_TAG, PID_TAG, fail_orphaned_runs, orphaned_runs
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


def wait_for_started_run(instance: dg.DagsterInstance, timeout_s: float = 120) -> dg.DagsterRun:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
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
