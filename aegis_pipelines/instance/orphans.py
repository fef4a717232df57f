"""Runs whose process is gone are marked failed, so they never hold the vendor lane.

A run killed with SIGKILL (``aegis eod`` interrupted hard, an OOM kill, a crashed run worker, a
``dagster dev`` killed with its runs) stays STARTED in the instance: nothing is left to report its
end. Runs queued behind it on the ``aegis/vendor`` tag limit, or on the ``market_data`` pool, would
then wait for ever.

With the Docker run launcher, Dagster's run monitoring asks the launcher (``AegisDockerRunLauncher``
answers for every run, launched by it or not). The local instance's launcher cannot be asked, so here
each STARTED run's worker — as the run recorded it (``workers.py``), else the pid of its start event —
is judged by ``aegis_core.ops.run_watch.judge_worker_here``: only a pid of this host (and pid namespace)
that is provably not running any more fails a run.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import dagster as dg
from dagster._core.events import JobFailureData, RunFailureReason
from dagster._core.storage.runs.sqlite.sqlite_run_storage import SqliteRunStorage

from aegis_core.base.processes import process_alive, this_container, this_host
from aegis_core.ops.run_watch import RunWorker, Worker, WorkerVerdict, judge_worker_here
from aegis_pipelines.instance.workers import recorded_worker, worker_tags


def process_tags(run_id: str, pid: int) -> dict[str, str]:
    """Tags of a run executed in-process by ``pid`` (the ``aegis`` commands): its worker, and no
    automatic retry when its process is found gone — an operator who killed ``aegis eod`` decides
    whether to run it again."""
    return {**worker_tags(run_id, pid), "dagster/max_retries": "0"}


def _runs_are_local(instance: dg.DagsterInstance) -> bool:
    return isinstance(getattr(instance.run_storage, "_storage", instance.run_storage), SqliteRunStorage)


def judge(
    instance: dg.DagsterInstance, record: dg.RunRecord, now: float, local: bool
) -> tuple[RunWorker, WorkerVerdict]:
    run = record.dagster_run
    started = record.start_time or record.create_timestamp.timestamp()
    worker = recorded_worker(instance, run)
    verdict = judge_worker_here(
        worker,
        age_s=now - started,
        here_host=this_host(),
        here_container=this_container(),
        storage_is_local=local,
        alive=lambda pid: process_alive(pid, started_by=started),
    )
    return worker, verdict


def orphaned_runs(instance: dg.DagsterInstance, now: float | None = None) -> list[tuple[dg.DagsterRun, str]]:
    """STARTED runs whose process is provably gone, each with the reason."""
    if instance.run_launcher.supports_check_run_worker_health:
        return []  # run monitoring asks the launcher, which answers for every run
    local = _runs_are_local(instance)
    at = time.time() if now is None else now
    found = []
    for record in instance.get_run_records(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED])):
        _, verdict = judge(instance, record, at, local)
        if verdict.worker is Worker.GONE:
            found.append((record.dagster_run, verdict.reason))
    return found


def fail_orphaned_runs(instance: dg.DagsterInstance, log: Callable[[str], None] = print) -> list[str]:
    """Mark every orphaned run failed, saying why; return their run ids."""
    failed = []
    for run, reason in orphaned_runs(instance):
        current = instance.get_run_by_id(run.run_id)
        if current is None or current.status != dg.DagsterRunStatus.STARTED:
            continue  # it ended on its own meanwhile
        message = f"Run {run.run_id} marked failed: {reason} — killed or crashed without reporting its end."
        failure = JobFailureData(error=None, failure_reason=RunFailureReason.UNEXPECTED_TERMINATION)
        instance.report_run_failed(current, message, failure)
        log(message)
        failed.append(run.run_id)
    return failed


@dg.sensor(
    name="orphaned_run_sensor",
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Marks runs failed whose process is gone (a killed `aegis eod`, a run worker killed "
    "with or without its `dagster dev`), so runs queued behind them on the vendor lane start.",
)
def orphaned_run_sensor(context: dg.SensorEvaluationContext) -> dg.SkipReason:
    failed = fail_orphaned_runs(context.instance, context.log.warning)
    return dg.SkipReason(f"marked {len(failed)} orphaned run(s) failed" if failed else "no orphaned runs")
