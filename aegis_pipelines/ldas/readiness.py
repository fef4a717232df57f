"""The cutover-readiness view: ``ldas/parity_readiness``, its job and its evening schedule.

Present only when a reference archive is configured (``AEGIS_PARITY_ROOT``). The schedule runs at
18:30 New York on sessions, after the end-of-day run's 45-minute budget and the 18:00 deadline.
"""

from __future__ import annotations

import dagster as dg

from aegis_assets.ldas.readiness import PARITY_READINESS, parity_readiness_asset
from aegis_assets.partitions import ArchivePartitions
from aegis_core.base.settings import Settings
from aegis_pipelines.ldas.sessions import TIMEZONE, TRIGGER_TAG, archive_partitions, session_key_or_skip

READINESS_JOB = "ldas_parity_readiness_job"
READINESS_SCHEDULE = "ldas_parity_readiness_schedule"
READINESS_CRON = "30 18 * * 1-5"

ldas_parity_readiness_job = dg.define_asset_job(
    READINESS_JOB,
    selection=dg.AssetSelection.assets(PARITY_READINESS),
    description="Cutover readiness for one session: consecutive business days of green parity per artefact.",
)


@dg.schedule(
    name=READINESS_SCHEDULE,
    cron_schedule=READINESS_CRON,
    execution_timezone=TIMEZONE,
    job=ldas_parity_readiness_job,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Cutover readiness at 18:30 New York time on every NYSE session.",
)
def ldas_parity_readiness_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
    key = session_key_or_skip(context.scheduled_execution_time)
    if isinstance(key, dg.SkipReason):
        return key
    return dg.RunRequest(
        partition_key=key, run_key=f"readiness:{key}", tags={TRIGGER_TAG: READINESS_SCHEDULE}
    )


def readiness_definitions(settings: Settings, partitions: ArchivePartitions | None = None) -> dg.Definitions:
    """The readiness asset, job and schedule, when a reference archive is configured."""
    if settings.parity.reference_root is None:
        return dg.Definitions()
    return dg.Definitions(
        assets=[parity_readiness_asset((partitions or archive_partitions(settings)).sessions)],
        jobs=[ldas_parity_readiness_job],
        schedules=[ldas_parity_readiness_schedule],
    )
