"""Schedules: the 17:15 America/New_York end-of-day run on NYSE sessions."""

from __future__ import annotations

import dagster as dg

from aegis_core.calendar import NY, nyse
from aegis_pipelines.jobs import ldas_eod_job


@dg.schedule(
    cron_schedule="15 17 * * 1-5",
    execution_timezone="America/New_York",
    job=ldas_eod_job,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="End-of-day archive at 17:15 New York time on every NYSE session.",
)
def ldas_eod_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
    day = context.scheduled_execution_time.astimezone(NY).date()
    if not nyse().is_session(day):
        return dg.SkipReason(f"{day} is not an NYSE session (holiday or weekend)")
    key = day.isoformat()
    return dg.RunRequest(partition_key=key, run_key=f"eod:{key}", tags={"aegis/trigger": "ldas_eod_schedule"})
