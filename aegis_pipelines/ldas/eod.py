"""The end-of-day archive at runtime: its job, the 17:15 schedule, the derived data's automation."""

from __future__ import annotations

import dagster as dg

from aegis_assets.clock import CLOCK_KEY, Clock, wall_clock
from aegis_assets.ldas.derived import DERIVED_KEYS, derived_assets
from aegis_assets.ldas.eod import OPTIONS, STOCKS, VIX, fetch_assets
from aegis_assets.partitions import ArchivePartitions
from aegis_assets.policy import VENDOR_TAG
from aegis_core.base.settings import Settings
from aegis_pipelines.ldas.automation import (
    derived_automation_sensor,
    iv_rank_window_sensor,
    ldas_iv_rank_job,
)
from aegis_pipelines.ldas.sessions import TIMEZONE, TRIGGER_TAG, archive_partitions, session_key_or_skip
from aegis_pipelines.resources import build_resources

ldas_eod_job = dg.define_asset_job(
    "ldas_eod_job",
    selection=dg.AssetSelection.assets(VIX, STOCKS, OPTIONS, *DERIVED_KEYS),
    description="The end-of-day archive of one NYSE session: VIX, stock bars, option chains at the close, "
    "then gamma exposure, ATM IV and IV rank.",
    tags=VENDOR_TAG,
)


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


def eod_definitions(
    settings: Settings, clock: Clock = wall_clock, partitions: ArchivePartitions | None = None
) -> dg.Definitions:
    """The end-of-day assets, job, schedule and automation, with the resources they need, on the
    archive's sessions (from its go-live session: ``ArchivePartitions``)."""
    sessions = (partitions or archive_partitions(settings)).sessions
    return dg.Definitions(
        assets=[*fetch_assets(sessions), *derived_assets(sessions)],
        jobs=[ldas_eod_job, ldas_iv_rank_job],
        schedules=[ldas_eod_schedule],
        sensors=[derived_automation_sensor, iv_rank_window_sensor(settings.iv.window_sessions)],
        resources={**build_resources(settings), CLOCK_KEY: clock},
    )
