"""Run monitoring in production, without a Docker engine: Dagster's own ``monitor_started_run`` (what
the daemon's monitoring loop calls for each STARTED run) asks ``AegisDockerRunLauncher`` about runs it
did not launch — a living one is never failed, one whose process is gone is.

Docker is replaced by a fake client whose containers run their ``docker exec`` commands on this host
(as if they shared its pid namespace), so the launcher's real pid check (``python -m
aegis_core.base.processes``) runs for real against a real process. The same paths against a real engine
are in the deployment test (tests/deploy/test_stack_docker.py).
"""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import time

import dagster as dg
import docker.errors
import pytest
import yaml
from dagster._core.launcher import CheckRunHealthResult, WorkerStatus
from dagster._daemon.monitoring.run_monitoring import monitor_started_run

from aegis_pipelines.instance.launcher import AegisDockerRunLauncher
from aegis_pipelines.instance.workers import CONTAINER_TAG, WORKER_RUN_TAG
from tests.conftest import PROJECT
from tests.pipelines.test_orphaned_runs import start_foreign, wait_for_started_run

pytestmark = pytest.mark.timeout(180)

CID = "c0ffee" + "0" * 58
LOG = logging.getLogger("test.monitoring")


class FakeContainer:
    def __init__(self, status: str, exec_works: bool = True):
        self.status = status
        self.exec_works = exec_works
        self.execs: list[list[str]] = []

    def exec_run(self, cmd: list[str]):
        self.execs.append(cmd)
        if not self.exec_works:
            return 126, b"OCI runtime exec failed: exec failed: permission denied"
        done = subprocess.run([sys.executable, *cmd[1:]], capture_output=True, timeout=60)
        return done.returncode, done.stdout


class FakeDocker:
    """``client.containers.get(id)`` as docker-py answers it."""

    def __init__(self):
        self.by_id: dict[str, FakeContainer] = {}
        self.containers = self

    def get(self, container_id: str) -> FakeContainer:
        if container_id not in self.by_id:
            raise docker.errors.NotFound(f"No such container: {container_id}")
        return self.by_id[container_id]


@pytest.fixture
def production_like(tmp_path, monkeypatch):
    """A home whose instance has the production launcher (SQLite storage), and the fake Docker."""
    home = tmp_path / "home"
    home.mkdir()
    config = yaml.safe_load((PROJECT / "dagster.yaml").read_text())
    config["run_launcher"] = {
        "module": "aegis_pipelines.instance.launcher",
        "class": "AegisDockerRunLauncher",
        "config": {"env_vars": []},
    }
    (home / "dagster.yaml").write_text(yaml.safe_dump(config))
    fake = FakeDocker()
    monkeypatch.setattr(AegisDockerRunLauncher, "_get_client", lambda self, context: fake)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert isinstance(instance.run_launcher, AegisDockerRunLauncher)
        yield home, instance, fake


def monitor(instance: dg.DagsterInstance, run_id: str) -> dg.DagsterRunStatus:
    monitor_started_run(instance, None, instance.get_run_record_by_id(run_id), LOG)
    return instance.get_run_by_id(run_id).status


def in_container(instance: dg.DagsterInstance, run: dg.DagsterRun) -> None:
    """What the executor records in a container (this host has none: the container's id is set here)."""
    instance.add_run_tags(run.run_id, {CONTAINER_TAG: CID})
    assert instance.get_run_by_id(run.run_id).tags[WORKER_RUN_TAG] == run.run_id


def recorded_run(instance, proc) -> dg.DagsterRun:
    run = wait_for_started_run(instance, proc=proc)
    for _ in range(150):
        if WORKER_RUN_TAG in run.tags:
            return run
        time.sleep(0.2)
        run = instance.get_run_by_id(run.run_id)
    pytest.fail("the executor recorded no worker")


def test_a_living_run_it_did_not_launch_is_never_failed(production_like):
    home, instance, _ = production_like
    proc = start_foreign("plain_job", 60, home)  # nothing recorded but Dagster's RUN_START event
    try:
        run = wait_for_started_run(instance, proc=proc)
        answer = instance.run_launcher.check_run_worker_health(run)
        assert answer.status is WorkerStatus.RUNNING and "no container" in answer.msg
        assert monitor(instance, run.run_id) == dg.DagsterRunStatus.STARTED
        # What Dagster does with the stock launcher's answer for the same run (the bug this fixes),
        # and with UNKNOWN: both fail it, so "cannot check" must be answered RUNNING.
        stock = super(AegisDockerRunLauncher, instance.run_launcher).check_run_worker_health(run)
        assert stock.status is WorkerStatus.NOT_FOUND
        unknown = CheckRunHealthResult(WorkerStatus.UNKNOWN, msg="cannot tell")
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(AegisDockerRunLauncher, "check_run_worker_health", lambda self, r: unknown)
            assert monitor(instance, run.run_id) == dg.DagsterRunStatus.FAILURE
        assert proc.poll() is None  # it was alive all along
    finally:
        proc.kill()
        proc.wait()


def test_a_run_in_a_container_is_failed_once_its_process_is_gone(production_like):
    home, instance, fake = production_like
    proc = start_foreign("recording_job", 60, home)
    try:
        run = recorded_run(instance, proc)
        in_container(instance, run)
        container = fake.by_id[CID] = FakeContainer("running")
        assert monitor(instance, run.run_id) == dg.DagsterRunStatus.STARTED
        assert container.execs[-1][:4] == ["python", "-m", "aegis_core.base.processes", str(proc.pid)]
        container.exec_works = False  # the check cannot answer: left alone
        assert monitor(instance, run.run_id) == dg.DagsterRunStatus.STARTED
        container.exec_works = True
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        assert monitor(instance, run.run_id) == dg.DagsterRunStatus.FAILURE
        failure = instance.all_logs(run.run_id, of_type=dg.DagsterEventType.RUN_FAILURE)[-1]
        assert f"its process (pid {proc.pid} in container c0ffee000000) is gone" in failure.message
    finally:
        if proc.poll() is None:
            proc.kill()


@pytest.mark.parametrize("state", [None, "exited"])
def test_a_run_whose_container_is_gone_or_stopped_is_failed(production_like, state):
    home, instance, fake = production_like
    proc = start_foreign("recording_job", 60, home)
    try:
        run = recorded_run(instance, proc)
        in_container(instance, run)
        if state is not None:
            fake.by_id[CID] = FakeContainer(state)
        assert monitor(instance, run.run_id) == dg.DagsterRunStatus.FAILURE
        failure = instance.all_logs(run.run_id, of_type=dg.DagsterEventType.RUN_FAILURE)[-1]
        assert ("no longer exists" if state is None else "is exited") in failure.message
    finally:
        proc.kill()
        proc.wait()
