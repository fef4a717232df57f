"""Schedules: the 17:15 America/New_York end-of-day run on NYSE sessions, and the shared session test."""

from __future__ import annotations

import datetime as dt

import dagster as dg

from aegis_core.skip import Skip, session_or_skip
from aegis_pipelines.ldas.eod import ldas_eod_job

TIMEZONE = "America/New_York"
TRIGGER_TAG = "aegis/trigger"


def skip_reason(skip: Skip) -> dg.SkipReason:
    """A domain helper's ``Skip`` as what a schedule or sensor returns."""
    return dg.SkipReason(skip.reason)


def session_key_or_skip(tick: dt.datetime) -> str | dg.SkipReason:
    """The session key of a daily schedule's tick, or the reason the day has no session."""
    session = session_or_skip(tick)
    return skip_reason(session) if isinstance(session, Skip) else session.key


@dg.schedule(
    cron_schedule="15 17 * * 1-5",
    execution_timezone=TIMEZONE,
    job=ldas_eod_job,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="End-of-day archive at 17:15 New York time on every NYSE session.",
)
def ldas_eod_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
    key = session_key_or_skip(context.scheduled_execution_time)
    if isinstance(key, dg.SkipReason):
        return key
    return dg.RunRequest(partition_key=key, run_key=f"eod:{key}", tags={TRIGGER_TAG: "ldas_eod_schedule"})
