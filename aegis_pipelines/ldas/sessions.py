"""What every daily schedule of the archive shares: the time zone, the trigger tag, the session test."""

from __future__ import annotations

import datetime as dt

import dagster as dg

from aegis_core.skip import Skip, session_or_skip

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
