"""An ``aegis`` run handed to the instance's run queue and followed to its end (production).

Where the instance's launcher starts every run in a container of its own and run monitoring asks it
about them (``AegisDockerRunLauncher``), a run executed inside the command's own process would bypass
the run queue (the vendor lane) and be a run the launcher did not start. So the command creates the
run the way ``dagster job launch`` does — from the code location of the instance's workspace
(``$DAGSTER_HOME/workspace.yaml``, the same file the webserver and the daemon load) — and submits it:
the daemon dequeues it when the vendor lane is free and launches it like a scheduled run. The command
then prints the run's INFO log as it is written, waits for its end, prints the same summary as an
in-process run and exits 0 on SUCCESS, 1 otherwise. Ctrl-C stops the following, not the run.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
from dagster._core.events import DagsterEventType

from aegis_core.base.settings import Settings

# A run still queued after this long gets one line saying what it may be waiting for.
QUEUED_NOTICE_S = 60.0
POLL_S = 1.0


def runs_go_to_the_launcher(instance: dg.DagsterInstance) -> bool:
    """Whether the instance's runs belong in containers of their own, watched through the launcher."""
    return instance.run_launcher.supports_check_run_worker_health


def workspace_file() -> Path:
    path = Path(os.environ["DAGSTER_HOME"]) / "workspace.yaml"
    if not path.is_file():
        raise ValueError(
            f"{path} is missing: the instance launches runs through its code location, named there"
        )
    return path


def submit(instance: dg.DagsterInstance, job_name: str, key: str, tags: dict[str, str]) -> str:
    """Create the run for partition ``key`` from the workspace's code location and queue it."""
    from dagster._cli.job import execute_launch_command
    from dagster._cli.workspace.cli_target import RepositoryOpts
    from dagster._core.utils import make_new_run_id
    from dagster_shared.cli import WorkspaceOpts

    run_id = make_new_run_id()
    with warnings.catch_warnings():  # a location that fails to load warns too: the error says it
        warnings.simplefilter("ignore", UserWarning)
        execute_launch_command(
            instance=instance,
            workspace_opts=WorkspaceOpts(workspace=[str(workspace_file())]),
            repository_opts=RepositoryOpts(),
            tags=json.dumps({**tags, "dagster/partition": key}),
            run_id=run_id,
            job_name=job_name,
        )
    return run_id


@dataclass
class RecordedRun:
    """A finished run read back from the instance, with what the summary reads of an in-process one."""

    run_id: str
    success: bool
    all_events: list[dg.DagsterEvent] = field(default_factory=list)

    def get_asset_materialization_events(self) -> list[dg.DagsterEvent]:
        return [e for e in self.all_events if e.event_type == DagsterEventType.ASSET_MATERIALIZATION]

    def get_asset_check_evaluations(self) -> list:
        return [
            e.event_specific_data
            for e in self.all_events
            if e.event_type == DagsterEventType.ASSET_CHECK_EVALUATION
        ]


STATUS_LINES = {
    "QUEUED": "queued: the daemon starts it when the vendor lane (one market-data run at a time) is free",
    "STARTING": "starting in a container of its own",
    "STARTED": "started",
}


def follow(instance: dg.DagsterInstance, run_id: str, out=sys.stdout) -> RecordedRun:
    """Print the run's status changes and INFO log until it ends; the finished run's events."""
    cursor, seen, events = None, None, []
    queued_since, noticed = time.monotonic(), False
    while True:
        connection = instance.get_records_for_run(run_id, cursor=cursor)
        for record in connection.records:
            entry = record.event_log_entry
            if entry.dagster_event is not None:
                events.append(entry.dagster_event)
            if entry.level >= logging.INFO and entry.dagster_event is None:
                when = time.strftime("%H:%M:%S", time.localtime(entry.timestamp))
                print(f"  {when} {entry.step_key or run_id[:8]} - {entry.user_message}", file=out, flush=True)
        cursor = connection.cursor
        if connection.has_more:
            continue
        run = instance.get_run_by_id(run_id)
        status = run.status.value if run is not None else "MISSING"
        if status != seen:
            if status in STATUS_LINES:
                print(f"run {run_id}: {STATUS_LINES[status]}", file=out, flush=True)
            seen = status
        if status == "QUEUED" and not noticed and time.monotonic() - queued_since > QUEUED_NOTICE_S:
            print(
                f"run {run_id}: still queued after {QUEUED_NOTICE_S:.0f}s: another run holds the vendor "
                "lane (see the UI's Runs page), or the daemon is not running (deploy/stack status)",
                file=out,
                flush=True,
            )
            noticed = True
        if run is None or run.is_finished:
            return RecordedRun(run_id, run is not None and run.is_success, events)
        time.sleep(POLL_S)


def launch_and_follow(
    instance: dg.DagsterInstance, job_name: str, key: str, tags: dict[str, str], settings: Settings
) -> int:
    from aegis_pipelines.cli.local_run import print_summary

    started = time.perf_counter()
    try:
        run_id = submit(instance, job_name, key, tags)
    except Exception as exc:  # the code location or the instance did not take it: one line, no traceback
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        why = f"{type(exc).__name__}: {first}"
        print(f"cannot launch {job_name} for {key} through the instance: {why}", file=sys.stderr)
        return 1
    try:
        result = follow(instance, run_id)
    except KeyboardInterrupt:
        print(
            f"stopped following run {run_id}: it goes on in its own container "
            "(the UI's Runs page shows it; Terminate stops it)",
            file=sys.stderr,
        )
        return 130
    print_summary(result, settings, time.perf_counter() - started)
    if not result.success and not any(e.is_step_failure for e in result.all_events):
        failure = next((e for e in result.all_events if e.event_type == DagsterEventType.RUN_FAILURE), None)
        if failure is not None and failure.message:
            print(f"run failed: {failure.message.splitlines()[0]}", file=sys.stderr)
    return 0 if result.success else 1
