"""Asset checks of the intraday snapshots: per slot on ``ldas/pt_snapshots``, parity per session.

Per slot partition of ``ldas/pt_snapshots`` (evaluated in every ``ldas_intraday_job`` run):

- ``schema_contract`` (blocking): every snapshot of the slot meets the intraday column contract;
- ``slot_coverage``: the share of the universe with a snapshot in the slot meets
  ``quality.coverage_threshold``; the missing symbols are named;
- ``capture_window``: every snapshot's rows were captured inside the slot's 15-minute window.

Intraday parity with the reference (Rust) archive is a session matter (slots per symbol, cadence,
files per symbol), so its ``parity_*`` checks sit on the session asset ``ldas/intraday_cadence``,
the child of ``ldas/pt_snapshots``, and run with it at 16:20. They call the same
``compare_archives`` as ``aegis parity --types intraday``.
"""

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import dagster as dg

from aegis_assets.ldas.checks import check_result, parity_check
from aegis_assets.ldas.intraday import CADENCE, PT_SNAPSHOTS
from aegis_assets.partitions import slot_partitions
from aegis_assets.resources import ArchiveResource, QualityResource
from aegis_assets.run_writes import known_capture_ranges, known_schemas
from aegis_assets.runs import check_partition_keys, slot_starts
from aegis_core.base.gates import GateResult
from aegis_core.calendar import slot_key
from aegis_core.ldas.schema_contract import SCHEMA_CONTRACT
from aegis_core.ldas.slot_quality import (
    CAPTURE_WINDOW,
    SLOT_COVERAGE,
    capture_window,
    files_per_symbol,
    slot_coverage,
    slot_schema_contract,
)

SLOT_SCHEMA_CHECK = SCHEMA_CONTRACT
SLOT_COVERAGE_CHECK = SLOT_COVERAGE
CAPTURE_WINDOW_CHECK = CAPTURE_WINDOW
INTRADAY_PARITY = "intraday"

_ERROR, _WARN = dg.AssetCheckSeverity.ERROR, dg.AssetCheckSeverity.WARN


def check_slots(context: dg.AssetCheckExecutionContext) -> list[dt.datetime]:
    """The slot starts a check run covers: its partition, or every key of a range run."""
    keys = check_partition_keys(context, "slot: run it for a partition (YYYY-MM-DD-HH:MM)")
    return slot_starts(keys)


def _per_slot(
    context: dg.AssetCheckExecutionContext,
    gate: Callable[[dt.datetime], GateResult],
    severity: dg.AssetCheckSeverity,
    **metadata: object,
) -> dg.AssetCheckResult:
    results = {slot_key(s): gate(s) for s in check_slots(context)}
    return check_result(results, severity, metadata=metadata)


def slot_checks(
    partitions_def: dg.TimeWindowPartitionsDefinition | None = None,
) -> list[dg.AssetChecksDefinition]:
    """The slot checks of ``ldas/pt_snapshots``, on its partitions (default: every slot)."""
    partitions_def = partitions_def or slot_partitions()

    @dg.asset_check(
        asset=PT_SNAPSHOTS,
        name=SLOT_SCHEMA_CHECK,
        blocking=True,
        partitions_def=partitions_def,
        description="Every snapshot of the slot has exactly the intraday contract's columns, types and "
        "nullability (blocking).",
    )
    def pt_snapshots_schema_contract(
        context: dg.AssetCheckExecutionContext, archive: ArchiveResource
    ) -> dg.AssetCheckResult:
        root, run = Path(archive.archive_root), context.run.run_id
        return _per_slot(
            context,
            lambda s: slot_schema_contract(root, s, known_schemas(run, "options_intraday", slot_key(s))),
            _ERROR,
        )

    @dg.asset_check(
        asset=PT_SNAPSHOTS,
        name=SLOT_COVERAGE_CHECK,
        partitions_def=partitions_def,
        description="The share of the universe with a snapshot in the slot meets quality.coverage_threshold; "
        "names the missing symbols.",
    )
    def pt_snapshots_slot_coverage(
        context: dg.AssetCheckExecutionContext, archive: ArchiveResource, quality: QualityResource
    ) -> dg.AssetCheckResult:
        root, universe, threshold = Path(archive.archive_root), quality.universe(), quality.coverage_threshold
        slots = check_slots(context)
        per_symbol = {f"{s:%H:%M}": files_per_symbol(root, s, universe) for s in slots}
        return _per_slot(
            context,
            lambda s: slot_coverage(root, s, universe, threshold),
            _ERROR,
            threshold=threshold,
            universe_size=len(universe),
            symbols_by_file_count=dg.MetadataValue.json(
                per_symbol if len(slots) > 1 else next(iter(per_symbol.values()))
            ),
        )

    @dg.asset_check(
        asset=PT_SNAPSHOTS,
        name=CAPTURE_WINDOW_CHECK,
        partitions_def=partitions_def,
        description="Every snapshot of the slot was captured (its rows' timestamp) inside the slot's "
        "15-minute window.",
    )
    def pt_snapshots_capture_window(
        context: dg.AssetCheckExecutionContext, archive: ArchiveResource
    ) -> dg.AssetCheckResult:
        root, run = Path(archive.archive_root), context.run.run_id
        return _per_slot(
            context,
            lambda s: capture_window(root, s, known_capture_ranges(run, "options_intraday", slot_key(s))),
            _ERROR,
        )

    return [pt_snapshots_schema_contract, pt_snapshots_slot_coverage, pt_snapshots_capture_window]


# --- intraday parity (per session, on ldas/intraday_cadence) ---------------------------------------


def intraday_parity_checks(sessions: dg.PartitionsDefinition) -> list[dg.AssetChecksDefinition]:
    """``parity_*`` checks of the session's intraday snapshots against the reference archive, on
    ``ldas/intraday_cadence``'s partitions, ``sessions``."""
    return [parity_check(CADENCE, INTRADAY_PARITY, sessions, "Intraday parity")]
