"""The production run launcher: Docker, forwarding every variable the settings read, and answering run
monitoring for every STARTED run — the ones it launched and the ones it did not.

``DockerRunLauncher`` passes a run container only the variables named in its ``env_vars`` config. A
second list there would drift from the settings (a threshold set in ``.env`` silently ignored by the
runs), so this launcher adds ``settings_variables()`` itself: each one set in the daemon's environment
(compose fills it from ``.env``) reaches every run container with the daemon's value. The instance
config lists only what the instance itself needs (the storage variables).

Run monitoring (the daemon, every ``run_monitoring.poll_interval_seconds``) asks the launcher about
each STARTED run and fails the run on any answer but RUNNING or SUCCESS — UNKNOWN included (Dagster
1.13, ``dagster/_daemon/monitoring/run_monitoring.py``). ``DockerRunLauncher`` answers NOT_FOUND for a
run without its container tag, i.e. for every run it did not launch: ``dagster asset materialize`` or
``aegis`` in a container of the stack, a script. Such a run would be failed while still fetching. This
launcher answers for those from what the run recorded when it started (``workers.py``: its container
and pid): its container gone or stopped, or its pid no longer running inside it → FAILED; running →
RUNNING; anything it cannot check → RUNNING, with the reason in the daemon's log, because a living run
must never be failed on a guess (``aegis_core.ops.run_watch.judge_worker_in_container``).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence

import docker.errors
from dagster._core.launcher import CheckRunHealthResult, WorkerStatus
from dagster._core.storage.dagster_run import DagsterRun
from dagster_docker import DockerRunLauncher
from dagster_docker.docker_run_launcher import DOCKER_CONTAINER_ID_TAG

from aegis_core.base.settings import settings_variables
from aegis_core.ops.run_watch import RunWorker, Worker, judge_worker_in_container
from aegis_pipelines.instance.workers import recorded_worker

log = logging.getLogger("aegis.launcher")

# The check of a pid inside a container: the image's own Python and ``aegis_core.base.processes``.
PROBE = ["python", "-m", "aegis_core.base.processes"]


def forwarded_variables(configured: Sequence[str], environ: Mapping[str, str] | None = None) -> list[str]:
    """``configured`` (the instance's ``env_vars``), then each settings variable set in ``environ``."""
    environ = os.environ if environ is None else environ
    names = {entry.partition("=")[0] for entry in configured}
    extra = [name for name in settings_variables() if name in environ and name not in names]
    return [*configured, *extra]


class AegisDockerRunLauncher(DockerRunLauncher):
    """``DockerRunLauncher`` whose ``env_vars`` also carry the settings variables of the environment,
    and whose worker health check answers for runs it did not launch."""

    def __init__(self, inst_data=None, env_vars=None, **config):
        super().__init__(inst_data=inst_data, env_vars=forwarded_variables(env_vars or []), **config)

    def check_run_worker_health(self, run: DagsterRun) -> CheckRunHealthResult:
        if run.tags.get(DOCKER_CONTAINER_ID_TAG):
            return super().check_run_worker_health(run)  # launched here: its container says it all
        worker = recorded_worker(self._instance, run)
        state, alive = self._observe(run, worker)
        verdict = judge_worker_in_container(worker, container_state=state, process_alive=alive)
        message = f"not launched in a container of its own; {verdict.reason}"
        if verdict.worker is Worker.GONE:
            status = WorkerStatus.FAILED if state is not None else WorkerStatus.NOT_FOUND
            return CheckRunHealthResult(status, msg=message)
        if verdict.worker is Worker.UNKNOWN:
            # Dagster fails a run on UNKNOWN too: what cannot be checked is left alone, and said so.
            log.warning("run %s left alone by run monitoring: %s", run.run_id, verdict.reason)
        return CheckRunHealthResult(WorkerStatus.RUNNING, msg=message)

    def _observe(self, run: DagsterRun, worker: RunWorker) -> tuple[str | None, bool | None]:
        """Docker's state of the worker's container (None: no such container) and, while it runs,
        whether the worker's pid still runs in it (None: could not tell)."""
        if worker.container is None or worker.pid is None:
            return None, None  # nothing to look at: the verdict is UNKNOWN
        client = self._get_client(self.get_container_context(run))
        try:
            container = client.containers.get(worker.container)
        except docker.errors.NotFound:
            return None, None
        if container.status != "running":
            return container.status, None
        record = self._instance.get_run_record_by_id(run.run_id)
        started = record.start_time if record is not None and record.start_time else None
        if started is None:
            return container.status, None
        try:
            code, output = container.exec_run([*PROBE, str(worker.pid), repr(started)])
        except docker.errors.APIError as exc:
            log.warning("cannot check pid %s in container %s: %s", worker.pid, worker.container[:12], exc)
            return container.status, None
        answer = output.decode(errors="replace").strip() if isinstance(output, bytes) else ""
        if code == 0 and answer == "alive":
            return container.status, True
        if code == 1 and answer == "gone":
            return container.status, False
        log.warning("pid check in container %s answered %s: %s", worker.container[:12], code, answer[-200:])
        return container.status, None
