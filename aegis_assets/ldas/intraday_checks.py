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
from collections.abc import Callable, Iterable
from pathlib import Path

import dagster as dg

from aegis_assets.ldas.checks import (
    ParityResource,
    QualityResource,
    check_result,
    check_sessions,
    parity_check_name,
)
from aegis_assets.ldas.intraday import CADENCE, PT_SNAPSHOTS
from aegis_assets.partitions import session_partitions, slot_partitions
from aegis_assets.resources import ArchiveResource
from aegis_core.calendar import nyse, parse_slot_key
from aegis_core.gates import GateResult
from aegis_core.parity import compare_archives, gates_for
from aegis_core.schema_contract import SCHEMA_CONTRACT
from aegis_core.slot_quality import (
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
    op = context.op_execution_context
    try:
        keys = [op.partition_key] if op.has_partition_key else op.partition_keys
    except dg.DagsterInvariantViolationError:
        raise dg.Failure(
            "this check is evaluated per slot: run it for a partition (YYYY-MM-DD-HH:MM)"
        ) from None
    slots = []
    for key in keys:
        try:
            start = parse_slot_key(key)
            nyse().slot(start)  # Dagster accepts excluded keys submitted by hand (findings note §9)
        except ValueError as exc:
            raise dg.Failure(f"{key} is not an intraday slot: {exc}", allow_retries=False) from None
        slots.append(start)
    return slots


def _per_slot(
    context: dg.AssetCheckExecutionContext,
    gate: Callable[[dt.datetime], GateResult],
    severity: dg.AssetCheckSeverity,
    **metadata: object,
) -> dg.AssetCheckResult:
    results = {f"{s:%Y-%m-%d-%H:%M}": gate(s) for s in check_slots(context)}
    return check_result(results, severity, metadata=metadata)


@dg.asset_check(
    asset=PT_SNAPSHOTS,
    name=SLOT_SCHEMA_CHECK,
    blocking=True,
    partitions_def=slot_partitions(),
    description="Every snapshot of the slot has exactly the intraday contract's columns, types and "
    "nullability (blocking).",
)
def pt_snapshots_schema_contract(
    context: dg.AssetCheckExecutionContext, archive: ArchiveResource
) -> dg.AssetCheckResult:
    root = Path(archive.archive_root)
    return _per_slot(context, lambda s: slot_schema_contract(root, s), _ERROR)


@dg.asset_check(
    asset=PT_SNAPSHOTS,
    name=SLOT_COVERAGE_CHECK,
    partitions_def=slot_partitions(),
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
    partitions_def=slot_partitions(),
    description="Every snapshot of the slot was captured (its rows' timestamp) inside the slot's "
    "15-minute window.",
)
def pt_snapshots_capture_window(
    context: dg.AssetCheckExecutionContext, archive: ArchiveResource
) -> dg.AssetCheckResult:
    root = Path(archive.archive_root)
    return _per_slot(context, lambda s: capture_window(root, s), _ERROR)


def slot_checks() -> list[dg.AssetChecksDefinition]:
    return [pt_snapshots_schema_contract, pt_snapshots_slot_coverage, pt_snapshots_capture_window]


# --- intraday parity (per session, on ldas/intraday_cadence) ---------------------------------------


def intraday_parity_checks() -> list[dg.AssetChecksDefinition]:
    """``parity_*`` checks of the session's intraday snapshots against the reference archive."""
    gates = gates_for(INTRADAY_PARITY)
    specs = [
        dg.AssetCheckSpec(
            parity_check_name(g),
            asset=CADENCE,
            partitions_def=session_partitions(),
            description=f"Intraday parity with the reference (Rust) archive: the {g.replace('_', ' ')} gate.",
        )
        for g in gates
    ]

    @dg.multi_asset_check(specs=specs, name="ldas_intraday_parity", can_subset=True)
    def _check(
        context: dg.AssetCheckExecutionContext, archive: ArchiveResource, parity: ParityResource
    ) -> Iterable[dg.AssetCheckResult]:
        root, reference = Path(archive.archive_root), Path(parity.reference_root)
        per_session: dict[str, dict[str, GateResult]] = {}
        for day in check_sessions(context):
            try:
                report = compare_archives(root, reference, day, [INTRADAY_PARITY], parity.tolerances())
                per_session[day.isoformat()] = {g.gate: g for g in report.gates}
            except (FileNotFoundError, NotADirectoryError) as exc:
                per_session[day.isoformat()] = {
                    g: GateResult(INTRADAY_PARITY, g, False, f"{day}: {exc}", (str(reference),))
                    for g in gates
                }
        selected = {k.name for k in context.selected_asset_check_keys}
        for gate in gates:
            if parity_check_name(gate) in selected:
                yield check_result(
                    {k: v[gate] for k, v in per_session.items()},
                    _WARN,
                    asset_key=CADENCE,
                    check_name=parity_check_name(gate),
                    metadata={"reference_root": dg.MetadataValue.path(str(reference))},
                )

    return [_check]
