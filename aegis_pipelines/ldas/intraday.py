"""The intraday runtime: a snapshot run at every slot start, a cadence summary after the close.

``ldas_intraday_schedule`` fires at every possible slot start (09:35…15:50 New York time, Monday to
Friday) and decides from the NYSE calendar: a run per slot on sessions (run key = slot, so the
daemon never runs a slot twice), a skip with the reason on holidays and after an early close.
``ldas_intraday_cadence_schedule`` summarises each session's snapshots at 16:20 (and, with a
reference archive, checks intraday parity). Each slot run evaluates the slot's checks;
``ldas_slot_checks_job`` re-evaluates them by hand. The timing sensors of ``slot_alerts`` alert a slot
whose run never started and an end-of-day run over its budget.
"""

from __future__ import annotations

import dagster as dg

from aegis_assets.clock import CLOCK_KEY, Clock, wall_clock
from aegis_assets.ldas.intraday import CADENCE, PT_SNAPSHOTS, build_intraday_assets
from aegis_assets.ldas.intraday_checks import intraday_parity_checks, slot_checks
from aegis_assets.partitions import ArchivePartitions
from aegis_assets.policy import VENDOR_TAG
from aegis_core.base.settings import Settings
from aegis_core.base.skip import Skip, slot_or_skip
from aegis_core.calendar import slot_key
from aegis_pipelines.alerting.timing import timing_sensors
from aegis_pipelines.ldas.sessions import (
    TIMEZONE,
    TRIGGER_TAG,
    archive_partitions,
    partitioned_by,
    session_key_or_skip,
    skip_reason,
)

# Every slot start of a full session; holidays and early closes are decided in the function
# (a cron cannot name them). The execution timezone keeps wall-clock times across DST changes.
INTRADAY_CRONS = ["35,50 9 * * 1-5", "5,20,35,50 10-15 * * 1-5"]
CADENCE_CRON = "20 16 * * 1-5"
# A slot's run must be over before the next slot; run monitoring stops one that hangs.
SLOT_MAX_RUNTIME_S = 14 * 60

ldas_intraday_job = dg.define_asset_job(
    "ldas_intraday_job",
    selection=dg.AssetSelection.assets(PT_SNAPSHOTS),
    description="One intraday slot: every universe symbol's option chain, captured inside the slot's window.",
    tags={**VENDOR_TAG, "dagster/max_runtime": str(SLOT_MAX_RUNTIME_S)},
)

ldas_intraday_cadence_job = dg.define_asset_job(
    "ldas_intraday_cadence_job",
    selection=dg.AssetSelection.assets(CADENCE),
    description="The session's intraday cadence: slots captured per symbol, gaps by slot and symbol.",
)


def slot_checks_job(partitions: ArchivePartitions):
    """Live snapshots cannot be re-fetched for a past slot; their checks can be re-evaluated."""
    return dg.define_asset_job(
        "ldas_slot_checks_job",
        selection=dg.AssetSelection.checks_for_assets(PT_SNAPSHOTS),
        config=partitioned_by(partitions.slots),
        description="The checks of one intraday slot's snapshots (contract, coverage, capture window) "
        "without fetching anything: pick the slot in the Launchpad (or `aegis checks --slot`).",
    )


@dg.schedule(
    cron_schedule=INTRADAY_CRONS,
    execution_timezone=TIMEZONE,
    job=ldas_intraday_job,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="One intraday snapshot run at every slot start (09:35…15:50 ET) of every NYSE session.",
)
def ldas_intraday_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
    slot = slot_or_skip(context.scheduled_execution_time)
    if isinstance(slot, Skip):
        return skip_reason(slot)
    key = slot_key(slot)
    return dg.RunRequest(
        partition_key=key, run_key=f"intraday:{key}", tags={TRIGGER_TAG: "ldas_intraday_schedule"}
    )


@dg.schedule(
    cron_schedule=CADENCE_CRON,
    execution_timezone=TIMEZONE,
    job=ldas_intraday_cadence_job,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="The intraday cadence summary and check at 16:20 ET on every NYSE session.",
)
def ldas_intraday_cadence_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
    key = session_key_or_skip(context.scheduled_execution_time)
    if isinstance(key, dg.SkipReason):
        return key
    return dg.RunRequest(
        partition_key=key,
        run_key=f"intraday_cadence:{key}",
        tags={TRIGGER_TAG: "ldas_intraday_cadence_schedule"},
    )


def intraday_definitions(
    settings: Settings, clock: Clock = wall_clock, partitions: ArchivePartitions | None = None
) -> dg.Definitions:
    """The intraday assets, checks, jobs and schedules; the resources they use are global.

    The slot checks need the "quality" resource, the parity checks (only with a reference archive)
    the "parity" resource; both come from the quality domain. The timing sensors (missed slot, end-of-day
    run over budget) read ``clock`` too; it is the ``clock`` resource of the snapshot and cadence assets.
    """
    partitions = partitions or archive_partitions(settings)
    checks = slot_checks(partitions.slots)
    if settings.parity.reference_root is not None:
        checks += intraday_parity_checks(partitions.sessions)
    return dg.Definitions(
        assets=build_intraday_assets(partitions),
        asset_checks=checks,
        jobs=[ldas_intraday_job, ldas_intraday_cadence_job, slot_checks_job(partitions)],
        schedules=[ldas_intraday_schedule, ldas_intraday_cadence_schedule],
        sensors=timing_sensors(clock),
        resources={CLOCK_KEY: clock},
    )
