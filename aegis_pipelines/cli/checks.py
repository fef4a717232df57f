"""``aegis checks``: re-evaluate one session's or one slot's asset checks on the local Dagster instance.

Runs ``ldas_checks_job`` (``--date``) or ``ldas_slot_checks_job`` (``--slot``) for that partition — what
the Launchpad's partition picker launches — without fetching or re-computing anything, and prints each
check's result. Exit 0 when every check passed, 1 when one failed (or the run did), 2 on a usage error.
"""

from __future__ import annotations

import argparse
import os
import sys

from aegis_core.base.clock import wall_clock
from aegis_core.base.settings import SettingsError, load_settings
from aegis_core.calendar import NY, CalendarRangeError
from aegis_pipelines.cli.eod import resolve_session
from aegis_pipelines.cli.intraday import resolve_slot
from aegis_pipelines.cli.local_run import ensure_dagster_home, open_instance

SESSION_CHECKS_JOB = "ldas_checks_job"
SLOT_CHECKS_JOB = "ldas_slot_checks_job"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("checks", help="re-evaluate a session's or a slot's asset checks; exit 1 if one fails")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--date", help="session date YYYY-MM-DD: the end-of-day artefacts' checks")
    which.add_argument("--slot", help="slot start YYYY-MM-DD-HH:MM (New York): the slot's snapshot checks")
    p.set_defaults(func=run)


def resolve(args: argparse.Namespace) -> tuple[str, str]:
    """``(job, partition key)``; a date or slot that is not a finished partition is refused."""
    now = wall_clock().astimezone(NY)
    if args.date is not None:
        return SESSION_CHECKS_JOB, resolve_session(args.date, now)
    return SLOT_CHECKS_JOB, resolve_slot(args.slot, now)


def run(args: argparse.Namespace) -> int:
    try:
        settings = load_settings()
        job_name, key = resolve(args)
        ensure_dagster_home()
    except (SettingsError, ValueError, CalendarRangeError) as exc:
        print(f"aegis checks: {exc}", file=sys.stderr)
        return 2

    from aegis_pipelines.cli import command_lifetime, startup_phase

    with command_lifetime():
        with startup_phase():
            from dagster._core.utils import make_new_run_id

            from aegis_pipelines.definitions import build_definitions
            from aegis_pipelines.instance.orphans import process_tags

            job = build_definitions(settings).resolve_job_def(job_name)
        with open_instance() as instance:
            run_id = make_new_run_id()  # the worker tags name the run they belong to
            result = job.execute_in_process(
                partition_key=key,
                instance=instance,
                run_id=run_id,
                tags={"aegis/trigger": "cli", **process_tags(run_id, os.getpid())},
                raise_on_error=False,
            )
    evaluations = sorted(
        result.get_asset_check_evaluations(), key=lambda e: (e.asset_key.to_user_string(), e.check_name)
    )
    print(f"aegis checks: {job_name} for {key}, run {result.run_id}")
    for e in evaluations:
        verdict = "PASS" if e.passed else "FAIL"
        name = f"{e.asset_key.to_user_string()}:{e.check_name}"
        print(f"{verdict}  {name:<38} {e.severity.value:<5}  {e.description or ''}")
    failed = [e for e in evaluations if not e.passed]
    if not result.success:
        print(
            f"aegis checks: the run failed (run {result.run_id}); see it in the Dagster UI", file=sys.stderr
        )
    elif not evaluations:
        print("aegis checks: no check was evaluated", file=sys.stderr)
    if failed:
        print(f"{len(failed)} of {len(evaluations)} checks failed")
    elif evaluations:
        print(f"all {len(evaluations)} checks passed")
    return 0 if result.success and evaluations and not failed else 1
