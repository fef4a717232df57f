"""The quality domain: checks on the end-of-day artefacts, the freshness deadline and the alert sensors.

The checks attach to the ``ldas/*`` asset keys, so ``ldas_eod_job`` (an asset selection) evaluates
them in every end-of-day run. Two check-only jobs re-evaluate them without fetching anything:
``ldas_checks_job`` (all of them, e.g. after pointing ``AEGIS_PARITY_ROOT`` at a new reference) and
``ldas_freshness_job`` (the deadline, launched by ``ldas_freshness_schedule``).

A check-only asset job gets no partitions from its selection in Dagster 1.13.27 (``define_asset_job``
infers them from the selected *assets*, and drops a given ``partitions_def`` when there are none), so
``ldas_checks_job`` is given a ``PartitionedConfig`` over the session partitions (no run config per
session): the job is then partitioned, the Launchpad offers its partition picker (which sets the
``dagster/partition`` tag the checks read) and ``execute_in_process(partition_key=...)`` works.
``ldas_freshness_job``'s runs name the session with the tag; its schedule validates the key against
the NYSE calendar itself.
"""

import datetime as dt

import dagster as dg

from aegis_assets.ldas.checks import ASSET_KEYS, FRESHNESS_CHECK_KEYS, parity_checks, quality_checks
from aegis_assets.partitions import ArchivePartitions
from aegis_core.base.settings import Settings
from aegis_pipelines.alerting.sensors import ALERT_SENSORS, PARTITION_TAG
from aegis_pipelines.ldas.sessions import (
    TIMEZONE,
    TRIGGER_TAG,
    archive_partitions,
    partitioned_by,
    session_key_or_skip,
)
from aegis_pipelines.resources import quality_resources

CHECKS_JOB = "ldas_checks_job"
FRESHNESS_JOB = "ldas_freshness_job"
FRESHNESS_SCHEDULE = "ldas_freshness_schedule"


def checks_job(partitions: ArchivePartitions):
    """``ldas_checks_job`` on the end-of-day assets' sessions."""
    return dg.define_asset_job(
        CHECKS_JOB,
        selection=dg.AssetSelection.checks_for_assets(*ASSET_KEYS.values()),
        config=partitioned_by(partitions.sessions),
        description="Every quality and parity check of the end-of-day artefacts for one session, without "
        "re-fetching or re-computing anything: pick the session in the Launchpad (or "
        "`aegis checks --date`).",
    )


ldas_freshness_job = dg.define_asset_job(
    FRESHNESS_JOB,
    selection=dg.AssetSelection.checks(*FRESHNESS_CHECK_KEYS),
    description="Whether the session's gex_summary and iv_rank exist by the deadline (checks only; "
    "tag dagster/partition=YYYY-MM-DD).",
)


def deadline_cron(deadline: dt.time) -> str:
    """Weekdays at the deadline, rounded up to the minute (a cron has no seconds)."""
    due = dt.datetime.combine(dt.date(2000, 1, 3), deadline)  # any Monday
    if deadline.second or deadline.microsecond:
        due = due.replace(second=0, microsecond=0) + dt.timedelta(minutes=1)
    return f"{due.minute} {due.hour} * * 1-5"


def freshness_schedule(deadline: dt.time) -> dg.ScheduleDefinition:
    @dg.schedule(
        name=FRESHNESS_SCHEDULE,
        cron_schedule=deadline_cron(deadline),
        execution_timezone=TIMEZONE,
        job=ldas_freshness_job,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description=f"At {deadline:%H:%M} New York time on NYSE sessions: are gex_summary and iv_rank there?",
    )
    def _schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
        key = session_key_or_skip(context.scheduled_execution_time)
        if isinstance(key, dg.SkipReason):
            return key
        return dg.RunRequest(
            run_key=f"freshness:{key}", tags={PARTITION_TAG: key, TRIGGER_TAG: FRESHNESS_SCHEDULE}
        )

    return _schedule


def quality_definitions(settings: Settings, partitions: ArchivePartitions | None = None) -> dg.Definitions:
    """Quality checks (parity too when ``parity.reference_root`` is set), their jobs, the alert sensors."""
    partitions = partitions or archive_partitions(settings)
    checks = quality_checks(partitions.sessions)
    if settings.parity.reference_root is not None:
        checks += parity_checks(partitions.sessions)
    return dg.Definitions(
        asset_checks=checks,
        jobs=[checks_job(partitions), ldas_freshness_job],
        schedules=[freshness_schedule(settings.quality.freshness_deadline)],
        sensors=ALERT_SENSORS,
        resources=quality_resources(settings),
    )
