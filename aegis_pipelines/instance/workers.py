"""Where a run's process lives: recorded on the run when it starts, read back by whoever judges it.

Whatever launched a run (the UI, a schedule, a back-fill, ``aegis eod``, ``dagster asset materialize``),
the process executing it records itself on the run as tags: its pid, its host and, inside a Docker
container, that container's id. The code location's executor does it at the start of every run
(``recording_in_process_executor``); the ``aegis`` commands tag their in-process runs when they create
them. ``orphaned_run_sensor`` (the local instance) and ``AegisDockerRunLauncher`` (run monitoring in
production) judge the run's worker from these facts (``aegis_core.ops.run_watch``).

Tags are copied to a re-execution or a retry of a run, so the worker tags carry the run id they were
recorded for (``aegis/worker_run``); copies naming another run are ignored. Without them, the pid that
reported the run's start (its RUN_START event) is the worker, on an unknown host.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping

import dagster as dg
from dagster._core.events import DagsterEventType

from aegis_core.base.processes import this_container, this_host
from aegis_core.ops.run_watch import RunWorker

PID_TAG = "aegis/pid"
HOST_TAG = "aegis/host"
CONTAINER_TAG = "aegis/container"
WORKER_RUN_TAG = "aegis/worker_run"
# dagster_docker's DockerRunLauncher tags each run it launches with its container (not imported here:
# the local instance never loads the Docker client).
DOCKER_CONTAINER_ID_TAG = "docker/container_id"

log = logging.getLogger("aegis.workers")


def worker_tags(run_id: str, pid: int | None = None) -> dict[str, str]:
    """The tags naming this process as the worker of run ``run_id``."""
    tags = {WORKER_RUN_TAG: run_id, PID_TAG: str(os.getpid() if pid is None else pid), HOST_TAG: this_host()}
    if (container := this_container()) is not None:
        tags[CONTAINER_TAG] = container
    return tags


def start_pid(instance: dg.DagsterInstance, run_id: str) -> int | None:
    """The pid of the process that reported the run's start (Dagster records it on the event)."""
    starts = instance.all_logs(run_id, of_type=DagsterEventType.RUN_START)
    event = starts[-1].dagster_event if starts else None
    return event.pid if event is not None and event.pid else None


def recorded_worker(instance: dg.DagsterInstance, run: dg.DagsterRun) -> RunWorker:
    """The run's worker as recorded for this run; else the pid of its RUN_START event, host unknown."""
    tags = run.tags
    if tags.get(WORKER_RUN_TAG) == run.run_id and tags.get(PID_TAG, "").isdigit():
        return RunWorker(int(tags[PID_TAG]), tags.get(HOST_TAG), tags.get(CONTAINER_TAG))
    return RunWorker(start_pid(instance, run.run_id))


def record_worker(instance: dg.DagsterInstance, run: dg.DagsterRun) -> None:
    """Tag ``run`` with this process as its worker, unless its launcher's container tag says it already.

    A failure to record is logged, never raised: the run is then judged by its start event's pid alone
    (or left alone where that cannot be checked), which is no reason to stop it."""
    if (launched := run.tags.get(DOCKER_CONTAINER_ID_TAG)) and launched == this_container():
        return  # the launcher's own tag names this container; run monitoring asks Docker about it
    try:
        instance.add_run_tags(run.run_id, worker_tags(run.run_id))
    except Exception as exc:  # the run goes on; at worst it is judged by less
        log.warning("could not record the worker of run %s: %s: %s", run.run_id, type(exc).__name__, exc)


class _RecordsItsWorker(dg.Executor):
    """Dagster's in-process executor, recording the worker on the run before the first step."""

    def __init__(self, inner: dg.Executor):
        self._inner = inner

    def execute(self, plan_context, execution_plan) -> Iterator[dg.DagsterEvent]:
        record_worker(plan_context.instance, plan_context.dagster_run)
        yield from self._inner.execute(plan_context, execution_plan)

    @property
    def retries(self):
        return self._inner.retries

    @property
    def step_dependency_config(self):
        return self._inner.step_dependency_config


def _create(init_context: dg.InitExecutorContext) -> dg.Executor:
    creation = dg.in_process_executor.executor_creation_fn
    assert creation is not None  # Dagster's in-process executor always has one
    return _RecordsItsWorker(creation(init_context))


def _requirements(config: Mapping[str, object]):
    return dg.in_process_executor.get_requirements(config)


recording_in_process_executor = dg.ExecutorDefinition(
    name="in_process",
    config_schema=dg.in_process_executor.config_schema,
    requirements=_requirements,
    executor_creation_fn=_create,
    description="Dagster's in-process executor (every step in the run's process), recording that "
    "process on the run as it starts (tags aegis/pid, aegis/host, aegis/container).",
)
