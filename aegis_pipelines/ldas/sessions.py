"""What every daily schedule of the archive shares: the time zone, the trigger tag, the session test."""

from __future__ import annotations

import datetime as dt

import dagster as dg

from aegis_assets.partitions import SESSION_START, ArchivePartitions
from aegis_core.base.clock import wall_clock
from aegis_core.base.settings import Settings
from aegis_core.base.skip import Skip, session_or_skip
from aegis_core.ldas.go_live import first_chain_session, go_live_session

TIMEZONE = "America/New_York"
TRIGGER_TAG = "aegis/trigger"


def skip_reason(skip: Skip) -> dg.SkipReason:
    """A domain helper's ``Skip`` as what a schedule or sensor returns."""
    return dg.SkipReason(skip.reason)


def session_key_or_skip(tick: dt.datetime) -> str | dg.SkipReason:
    """The session key of a daily schedule's tick, or the reason the day has no session."""
    session = session_or_skip(tick)
    return skip_reason(session) if isinstance(session, Skip) else session.key


def partitioned_by(partitions_def: dg.PartitionsDefinition) -> dg.PartitionedConfig:
    """Partitions for a check-only job, which Dagster 1.13 cannot infer from a selection without
    assets: no run config per partition, only the Launchpad's partition picker and the
    ``dagster/partition`` tag it sets (``execute_in_process(partition_key=...)`` works too)."""
    return dg.PartitionedConfig(partitions_def=partitions_def, run_config_for_partition_key_fn=lambda _: {})


def archive_partitions(settings: Settings, now: dt.datetime | None = None) -> ArchivePartitions:
    """The partitions of the archive's assets, with the go-live session of ``aegis_core.ldas.go_live``
    (the setting, else the archive's first chains, else a default by source), decided when the code
    location loads: a first capture into an empty archive shows up after the next reload."""
    go_live = go_live_session(
        settings.go_live,
        first_chain_session(settings.archive_root),
        simulated=settings.is_simulated,
        history_start=SESSION_START,
        now=now or wall_clock(),
    )
    return ArchivePartitions(go_live)
