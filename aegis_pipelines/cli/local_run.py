"""Run one partition of a job on the Dagster instance of ``DAGSTER_HOME``, for the ``aegis`` commands.

The run is recorded on the instance in ``DAGSTER_HOME`` (default: the project folder), so the UI shows
it; progress is the run's INFO log; a summary table follows. On an instance whose launcher starts runs
in containers of their own and answers run monitoring for them (production: ``AegisDockerRunLauncher``),
the run is handed to the instance's run queue and followed (``launched_run.py``): it waits for the
vendor lane like any run, runs in its own container, and run monitoring watches it. Elsewhere (the
embedded default) it executes in this process, tagged with this process as its worker.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from aegis_core.base.settings import Settings
from aegis_core.base.store_errors import first_line
from aegis_pipelines.alerting.root_cause import failure_lines
from aegis_pipelines.cli import command_lifetime, startup_phase

_ORDER = ["ldas/vix", "ldas/stocks", "ldas/options", "ldas/gex_summary", "ldas/atm_iv", "ldas/iv_rank"]


def ensure_dagster_home() -> Path:
    """``DAGSTER_HOME``, defaulting to the project folder (the one holding dagster.yaml)."""
    home = os.environ.get("DAGSTER_HOME")
    if not home:
        if not Path("dagster.yaml").is_file():
            raise ValueError("DAGSTER_HOME is unset and no dagster.yaml is here: run from the project root")
        home = str(Path.cwd())
        os.environ["DAGSTER_HOME"] = home
    if not Path(home).is_dir():  # Dagster would end in a traceback
        state = "is not a folder" if Path(home).exists() else "does not exist"
        raise ValueError(f"DAGSTER_HOME {home} {state}: create the folder or unset DAGSTER_HOME")
    if not (Path(home) / "dagster.yaml").is_file():  # Dagster would silently use its own defaults
        raise ValueError(
            f"DAGSTER_HOME {home} has no dagster.yaml (the instance's configuration: run queue, vendor "
            "lane, retries): copy the project's dagster.yaml there, or unset DAGSTER_HOME"
        )
    return Path(home)


@contextlib.contextmanager
def open_instance() -> Iterator:
    """The instance in ``DAGSTER_HOME``. Opening it creates its storage on first use; two commands
    started at once on a new home would both create the same tables, so they take turns to open it."""
    import dagster as dg

    with open(Path(os.environ["DAGSTER_HOME"]) / ".aegis-instance.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            instance = dg.DagsterInstance.get()
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    with instance:
        yield instance


def run_partition(
    settings: Settings, job_name: str, key: str, symbols: list[str] | None, *, command: str, header: str
) -> int:
    """Execute ``job_name`` for partition ``key`` in-process; print ``header``, then the summary; return
    the exit code (2, in one line, when ``key`` is not one of the job's partitions)."""

    with command_lifetime():
        with startup_phase():  # Dagster, the code location's modules, the Definitions
            from dagster._core.utils import make_new_run_id

            from aegis_assets.runs import SYMBOLS_TAG
            from aegis_pipelines.cli.launched_run import launch_and_follow, runs_go_to_the_launcher
            from aegis_pipelines.definitions import build_definitions
            from aegis_pipelines.instance.orphans import fail_orphaned_runs, process_tags

            job = build_definitions(settings).resolve_job_def(job_name)
        refused = outside_partitions(job, key)
        if refused:
            print(f"aegis {command}: {refused}", file=sys.stderr)
            return 2
        print(header)
        tags = {"aegis/trigger": "cli"}
        if symbols:
            tags[SYMBOLS_TAG] = ",".join(symbols)
        started = time.perf_counter()
        try:
            with quiet_database_retries(), open_instance() as instance:
                if runs_go_to_the_launcher(instance):
                    tags["dagster/max_retries"] = "0"  # as in process: the operator decides about a re-run
                    return launch_and_follow(instance, job_name, key, tags, settings)
                fail_orphaned_runs(instance)  # an earlier killed run must not look like it is still going
                run_id = make_new_run_id()
                result = job.execute_in_process(
                    partition_key=key,
                    instance=instance,
                    run_id=run_id,
                    tags={**tags, **process_tags(run_id, os.getpid())},
                    raise_on_error=False,
                    run_config={"loggers": {"console": {"config": {"log_level": "INFO"}}}},
                )
        except Exception as exc:  # the instance's own storage, not a step of the run
            message = instance_failure(exc)
            if message is None:
                raise
            print(f"aegis {command}: {message}", file=sys.stderr)
            return 2
        print_summary(result, settings, time.perf_counter() - started)
        return 0 if result.success else 1


class _NoDatabaseRetries(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.name == "root" and record.getMessage().startswith(_DB_RETRY))


_DB_RETRY = "Retrying failed database connection"


@contextlib.contextmanager
def quiet_database_retries() -> Iterator[None]:
    """dagster-postgres logs each connection retry on the root logger, a paragraph each (and its
    ``logging.warning`` then installs a root handler for good). While a command runs, the root logger
    writes warnings to stderr as Python's last-resort handler would, without those paragraphs: when
    the database stays away, the one line of ``instance_failure`` says so."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setLevel(logging.WARNING)
    handler.addFilter(_NoDatabaseRetries())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield
    finally:
        root.removeHandler(handler)


# The failures of an instance's storage or configuration (by class name, so that no database driver
# has to be imported to recognise it): a bad dagster.yaml, an unreachable or lost PostgreSQL, a
# locked SQLite file.
_INSTANCE_FAILURES = {
    "DagsterInvalidConfigError",
    "DagsterPostgresException",
    "OperationalError",
    "InterfaceError",
    "DatabaseError",
    "DagsterHomeNotSetError",
    "YAMLError",
    "ScannerError",
    "ParserError",
}


def instance_failure(exc: BaseException) -> str | None:
    """One line naming the instance and the cause when ``exc`` (or what it wraps) is a failure of
    the Dagster instance's storage or configuration; None for anything else."""
    chain, seen = [], set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        chain.append(cause)
        cause = cause.__cause__ or cause.__context__
    hit = next((e for e in chain for k in type(e).__mro__ if k.__name__ in _INSTANCE_FAILURES), None)
    if hit is None:
        return None
    home = os.environ.get("DAGSTER_HOME", "")
    detail = first_line(hit)
    errors = getattr(hit, "errors", None)  # DagsterInvalidConfigError: the first config error says what
    if errors:  # the first config error, without the schema it lists as "Expected"
        detail = f"{first_line(hit)} {first_line(Exception(errors[0].message)).split(' Expected:')[0]}"
    root = chain[-1]
    if root is not hit and type(root).__name__ in _INSTANCE_FAILURES | {"OperationalError"}:
        detail += f" ({first_line(root)})"
    return (
        f"the Dagster instance in DAGSTER_HOME={home} (dagster.yaml) failed: {type(hit).__name__}: {detail}"
    )


def outside_partitions(job, key: str) -> str | None:
    """Why ``key`` is not a partition of ``job`` (one line), or None. The calendar checks of each
    command come first with their own reasons; this is the partitions definition's word, which also
    knows the first partition (the history's start, the live assets' go-live)."""
    import dagster as dg

    partitions = job.partitions_def
    with dg.partition_loading_context():
        if partitions is None or partitions.has_partition_key(key):
            return None
        first, last = partitions.get_first_partition_key(), partitions.get_last_partition_key()
    return f"{key} is not a partition of {job.name} (its partitions run from {first} to {last})"


def print_summary(result, settings: Settings, seconds: float) -> None:
    print()
    print(f"{'artefact':<22}{'files':>7}{'rows':>11}{'symbols':>11}{'seconds':>9}")
    events = sorted(
        result.get_asset_materialization_events(),
        key=lambda e: _ORDER.index(k) if (k := e.asset_key.to_user_string()) in _ORDER else 99,
    )
    for event in events:
        meta = {k: getattr(v, "value", v) for k, v in event.materialization.metadata.items()}
        files, rows = meta.get("files", "-"), meta.get("dagster/row_count", "-")
        covered = meta.get("symbols_covered", "-")
        secs = meta.get("duration_s", meta.get("write_seconds", "-"))
        print(f"{event.asset_key.to_user_string():<22}{files!s:>7}{rows!s:>11}{covered!s:>11}{secs!s:>9}")
        failed = meta.get("symbols_failed")
        if isinstance(failed, dict) and failed:
            print(f"  failed: {', '.join(f'{s} ({r})' for s, r in list(failed.items())[:10])}")
    failed_checks = [e for e in result.get_asset_check_evaluations() if not e.passed]
    for check in failed_checks:
        name = f"{check.asset_key.to_user_string()}:{check.check_name}"
        print(f"  check {name} FAILED: {check.description or ''}")
    status = "SUCCESS" if result.success else "FAILURE"
    print(f"\n{status} in {seconds:.1f}s — run {result.run_id}")
    print(f"archive: {Path(settings.archive_root).resolve()}   lake: {settings.lake_root}")
    if not result.success:
        for line in failure_lines(result):  # the root cause, not Dagster's wrapper
            print(line, file=sys.stderr)
