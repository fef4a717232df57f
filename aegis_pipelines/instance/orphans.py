"""Runs whose process is gone are marked failed, so they never hold the vendor lane.

A run killed with SIGKILL (``aegis eod`` interrupted hard, an OOM kill, a crashed run worker) stays
STARTED in the instance: nothing is left to report its end. Runs queued behind it on the
``aegis/vendor`` tag limit, or on the ``market_data`` pool, would then wait for ever.

With the Docker run launcher, Dagster's run monitoring asks the launcher whether the run's container
is alive and fails the run itself. The local instance's launcher cannot be asked, so here the run's
process is checked directly: the pid that reported the run's start (or the ``aegis/pid`` tag the CLI
sets), on this host, started before the run. A run is only judged where its host is known to be
this one: tagged with ``aegis/host``, or held by a SQLite instance (which lives on one machine).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import dagster as dg
from dagster._core.events import DagsterEventType, JobFailureData, RunFailureReason
from dagster._core.storage.runs.sqlite.sqlite_run_storage import SqliteRunStorage

from aegis_core.processes import process_alive, this_host

PID_TAG = "aegis/pid"
HOST_TAG = "aegis/host"
# A run younger than this is left alone: it may be ending right now (its last events in flight).
MIN_AGE_S = 2.0


def process_tags(pid: int) -> dict[str, str]:
    """Tags naming the process (and host) that executes a run in-process.

    Such a run is not retried automatically when its process is found gone: an operator who killed
    ``aegis eod`` decides whether to run it again.
    """
    return {PID_TAG: str(pid), HOST_TAG: this_host(), "dagster/max_retries": "0"}


def _runs_are_local(instance: dg.DagsterInstance) -> bool:
    return isinstance(getattr(instance.run_storage, "_storage", instance.run_storage), SqliteRunStorage)


def _owner_pid(instance: dg.DagsterInstance, run: dg.DagsterRun) -> int | None:
    if PID_TAG in run.tags:
        return int(run.tags[PID_TAG])
    starts = instance.all_logs(run.run_id, of_type=DagsterEventType.RUN_START)
    return starts[-1].pid if starts and starts[-1].pid else None


def orphaned_runs(instance: dg.DagsterInstance, now: float | None = None) -> list[tuple[dg.DagsterRun, int]]:
    """STARTED runs of this host whose process is gone, with that process's pid."""
    if instance.run_launcher.supports_check_run_worker_health:
        return []  # run monitoring asks the launcher (containers): nothing to guess here
    local = _runs_are_local(instance)
    at = time.time() if now is None else now
    found = []
    records = instance.get_run_records(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED]))
    for record in records:
        run = record.dagster_run
        host = run.tags.get(HOST_TAG)
        if (host is None and not local) or (host is not None and host != this_host()):
            continue
        started = record.start_time or record.create_timestamp.timestamp()
        if at - started < MIN_AGE_S:
            continue
        pid = _owner_pid(instance, run)
        if pid is not None and not process_alive(pid, started_by=started):
            found.append((run, pid))
    return found


def fail_orphaned_runs(instance: dg.DagsterInstance, log: Callable[[str], None] = print) -> list[str]:
    """Mark every orphaned run failed, saying why; return their run ids."""
    failed = []
    for run, pid in orphaned_runs(instance):
        current = instance.get_run_by_id(run.run_id)
        if current is None or current.status != dg.DagsterRunStatus.STARTED:
            continue  # it ended on its own meanwhile
        host = run.tags.get(HOST_TAG, this_host())
        message = (
            f"Run {run.run_id} marked failed: its process (pid {pid} on {host}) is gone — "
            "killed or crashed without reporting its end."
        )
        reason = JobFailureData(error=None, failure_reason=RunFailureReason.UNEXPECTED_TERMINATION)
        instance.report_run_failed(current, message, reason)
        log(message)
        failed.append(run.run_id)
    return failed


@dg.sensor(
    name="orphaned_run_sensor",
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Marks runs failed whose process is gone (e.g. a killed `aegis eod`), so runs queued "
    "behind them on the vendor lane start.",
)
def orphaned_run_sensor(context: dg.SensorEvaluationContext) -> dg.SkipReason:
    failed = fail_orphaned_runs(context.instance, context.log.warning)
    return dg.SkipReason(f"marked {len(failed)} orphaned run(s) failed" if failed else "no orphaned runs")
