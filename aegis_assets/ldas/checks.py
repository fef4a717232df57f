"""Quality and parity asset checks on the end-of-day artefacts, evaluated per session partition.

Each check adapts one pure function of ``aegis_core.ldas.quality`` / ``aegis_core.ldas.parity`` (a
``GateResult`` per session) into an ``AssetCheckResult``: the one-line summary is the description
(what an alert says), the offenders — files, columns, symbols — are metadata. A range run (back-fill)
evaluates every session of the range in one result; its metadata lists the sessions that fail.

Checks are partitioned (``partitions_def`` on the check; a preview feature in Dagster 1.13, see the
dagster-notes §4): without it a check on a partitioned asset records no partition, and the UI could
not show which session failed. The schema contract blocks: a file that breaks the column contract
stops downstream assets in the run. Parity checks exist only when a reference archive is configured
(``parity_checks``), with WARN severity: a disagreement with the Rust daemon gates a cutover, it does
not make the Python archive wrong.
"""

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import dagster as dg

from aegis_assets.clock import ClockParam, now
from aegis_assets.ldas.derived import GEX_SUMMARY, IV_RANK
from aegis_assets.ldas.eod import OPTIONS, STOCKS, VIX
from aegis_assets.resources import ArchiveResource, ParityResource, QualityResource
from aegis_assets.run_writes import known_schemas, known_strike_ranges
from aegis_assets.runs import check_partition_keys
from aegis_core.base.gates import GateResult
from aegis_core.calendar import NY, not_a_session, nyse, parse_session_date
from aegis_core.ldas.consistency import CONSISTENCY_ARTEFACTS, LAKE_CONSISTENCY, lake_consistency
from aegis_core.ldas.freshness import FRESHNESS, FRESHNESS_ARTEFACTS, freshness
from aegis_core.ldas.parity import artefact_gates, gates_for
from aegis_core.ldas.quality import (
    GEX_SANITY,
    UNIVERSE_COVERAGE,
    archive_gex_sanity,
    archive_schema_contract,
    universe_coverage,
)
from aegis_core.ldas.schema_contract import SCHEMA_CONTRACT
from aegis_core.ldas.validation import SOURCE_SANITY, source_sanity

# Check names (stable: alerts, the UI and the definitions test refer to them).
SCHEMA_CONTRACT_CHECK = SCHEMA_CONTRACT
UNIVERSE_COVERAGE_CHECK = UNIVERSE_COVERAGE
GEX_SANITY_CHECK = GEX_SANITY
FRESHNESS_CHECK = FRESHNESS
LAKE_CONSISTENCY_CHECK = LAKE_CONSISTENCY
SOURCE_SANITY_CHECK = SOURCE_SANITY
SOURCE_SANITY_ARTEFACTS = ("stocks", "options")
PARITY_PREFIX = "parity_"

ASSET_KEYS: dict[str, dg.AssetKey] = {
    "vix": VIX,
    "stocks": STOCKS,
    "options": OPTIONS,
    "gex_summary": GEX_SUMMARY,
    "iv_rank": IV_RANK,
}
COVERAGE_ARTEFACTS = ("stocks", "options", "gex_summary", "iv_rank")
FRESHNESS_CHECK_KEYS = [dg.AssetCheckKey(ASSET_KEYS[a], FRESHNESS_CHECK) for a in FRESHNESS_ARTEFACTS]

_DETAIL_LINES = 50
_DETAIL_CHARS = 400
_OFFENDERS = 1000  # a back-fill of a year of a 712-symbol universe would list far more


def parity_check_name(gate: str) -> str:
    """``parity_row_count`` for the ``row_count`` gate of ``aegis_core.ldas.parity``."""
    return f"{PARITY_PREFIX}{gate}"


def parity_check_names(artefact: str) -> tuple[str, ...]:
    return tuple(parity_check_name(g) for g in gates_for(artefact))


# --- resources --------------------------------------------------------------------------------------


# --- GateResult(s) -> AssetCheckResult --------------------------------------------------------------


def check_result(
    results: Mapping[str, GateResult],
    severity: dg.AssetCheckSeverity,
    asset_key: dg.AssetKey | None = None,
    check_name: str | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> dg.AssetCheckResult:
    """One check result for the sessions of a run (``session key -> GateResult``)."""
    failed = [k for k, r in results.items() if not r.passed]
    if len(results) == 1:
        (only,) = results.values()
        description = only.summary
        offenders = list(only.offenders)
        details = list(only.details)
    else:
        description = (
            f"{len(failed)} of {len(results)} sessions fail: "
            + "; ".join(f"{k}: {results[k].summary}" for k in failed[:3])
            if failed
            else f"all {len(results)} sessions pass"
        )
        offenders = [f"{k}: {o}" for k, r in results.items() for o in r.offenders]
        details = [f"{k}: {d}" for k, r in results.items() for d in r.details]
    statuses = {k: r.status for k, r in results.items()}
    meta: dict[str, Any] = {
        "status": "failed" if failed else ("pending" if "pending" in statuses.values() else "passed"),
        "offenders": dg.MetadataValue.json(offenders[:_OFFENDERS]),  # offender_count says if cut
        "offender_count": len(offenders),
        "details": _bullets(details),
    }
    if len(results) > 1:
        meta["sessions"] = dg.MetadataValue.json(statuses)
    return dg.AssetCheckResult(
        passed=not failed,
        asset_key=asset_key,
        check_name=check_name,
        severity=severity,
        description=description,
        metadata={**meta, **(metadata or {})},
    )


def _clip(line: str, limit: int = _DETAIL_CHARS) -> str:
    # An intraday gap line names every symbol missing in that slot: up to the whole universe.
    return line if len(line) <= limit else f"{line[: limit - 1]}…"


def _bullets(lines: list[str]) -> dg.MetadataValue:
    if not lines:
        return dg.MetadataValue.md("_none_")
    shown = [f"- {_clip(line)}" for line in lines[:_DETAIL_LINES]]
    if len(lines) > _DETAIL_LINES:
        shown.append(f"- … {len(lines) - _DETAIL_LINES} more")
    return dg.MetadataValue.md("\n".join(shown))


def check_sessions(context: dg.AssetCheckExecutionContext) -> list[dt.date]:
    """The sessions a check run covers: its partition, or every key of a range run."""
    keys = check_partition_keys(context, "session: run it for a partition (tag dagster/partition=YYYY-MM-DD)")
    days = [parse_session_date(k) for k in keys]
    closed = [d for d in days if not nyse().is_session(d)]
    if closed:  # Dagster accepts excluded keys submitted by hand (dagster-notes §5)
        raise dg.Failure("; ".join(not_a_session(d) for d in closed) + "; nothing to check")
    return days


def _evaluate(
    context: dg.AssetCheckExecutionContext,
    gate: Callable[[dt.date], GateResult],
    severity: dg.AssetCheckSeverity,
    **metadata: Any,
) -> dg.AssetCheckResult:
    results = {d.isoformat(): gate(d) for d in check_sessions(context)}
    return check_result(results, severity, metadata=metadata)


# --- checks -----------------------------------------------------------------------------------------

_ERROR, _WARN = dg.AssetCheckSeverity.ERROR, dg.AssetCheckSeverity.WARN


def _schema_check(artefact: str, sessions: dg.PartitionsDefinition) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=ASSET_KEYS[artefact],
        name=SCHEMA_CONTRACT_CHECK,
        blocking=True,
        partitions_def=sessions,
        description=f"Every {artefact} file of the session has exactly the contract's columns, types and "
        "nullability (blocking: downstream assets wait for it).",
    )
    def _check(context: dg.AssetCheckExecutionContext, archive: ArchiveResource) -> dg.AssetCheckResult:
        root, run = Path(archive.archive_root), context.run.run_id
        return _evaluate(
            context,
            lambda d: archive_schema_contract(root, artefact, d, known_schemas(run, artefact, d.isoformat())),
            _ERROR,
        )

    return _check


def _coverage_check(artefact: str, sessions: dg.PartitionsDefinition) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=ASSET_KEYS[artefact],
        name=UNIVERSE_COVERAGE_CHECK,
        partitions_def=sessions,
        description=f"The share of the universe with a {artefact} "
        f"{'file' if artefact in ('stocks', 'options') else 'row'} for the session meets the threshold; "
        "names the missing symbols.",
    )
    def _check(
        context: dg.AssetCheckExecutionContext, archive: ArchiveResource, quality: QualityResource
    ) -> dg.AssetCheckResult:
        root, universe, threshold = Path(archive.archive_root), quality.universe(), quality.coverage_threshold
        return _evaluate(
            context,
            lambda d: universe_coverage(root, artefact, d, universe, threshold),
            _ERROR,
            threshold=threshold,
            universe_size=len(universe),
        )

    return _check


def _gex_sanity_check(sessions: dg.PartitionsDefinition) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=ASSET_KEYS["gex_summary"],
        name=GEX_SANITY_CHECK,
        partitions_def=sessions,
        description="Per symbol: abs_gex ≥ |net_gex|, walls inside the chain's strike range, zero-gamma "
        "level inside the 0.8–1.2 × spot grid, gex_regime matching the sign of net_gex, no null values.",
    )
    def _check(context: dg.AssetCheckExecutionContext, archive: ArchiveResource) -> dg.AssetCheckResult:
        root, run = Path(archive.archive_root), context.run.run_id
        return _evaluate(
            context, lambda d: archive_gex_sanity(root, d, known_strike_ranges(run, d.isoformat())), _ERROR
        )

    return _check


def _freshness_check(artefact: str, sessions: dg.PartitionsDefinition) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=ASSET_KEYS[artefact],
        name=FRESHNESS_CHECK,
        partitions_def=sessions,
        description=f"The session's {artefact} file exists by the deadline (18:00 New York unless "
        "configured); pending before it. Evaluated by ldas_freshness_job at the deadline.",
    )
    def _check(
        context: dg.AssetCheckExecutionContext,
        archive: ArchiveResource,
        quality: QualityResource,
        clock: ClockParam,
    ) -> dg.AssetCheckResult:
        root, deadline, at = Path(archive.archive_root), quality.deadline(), now(clock).astimezone(NY)
        return _evaluate(
            context,
            lambda d: freshness(root, d, at, deadline, (artefact,)),
            _ERROR,
            deadline=f"{deadline:%H:%M} America/New_York",
            evaluated_at=at.isoformat(timespec="seconds"),
        )

    return _check


def _lake_consistency_check(artefact: str, sessions: dg.PartitionsDefinition) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=ASSET_KEYS[artefact],
        name=LAKE_CONSISTENCY_CHECK,
        partitions_def=sessions,
        description=f"Per symbol, the session's {artefact} rows in the parquet files and in the Delta "
        "table are as many and of the same capture (latest timestamp); names every symbol that differs.",
    )
    def _check(context: dg.AssetCheckExecutionContext, archive: ArchiveResource) -> dg.AssetCheckResult:
        store = archive.archive()
        return _evaluate(context, lambda d: lake_consistency(store.root, store.lake, artefact, d), _ERROR)

    return _check


def door_record(instance: dg.DagsterInstance, key: dg.AssetKey, session: dt.date) -> dict[str, Any] | None:
    """What the asset recorded at the door for ``session`` (its latest materialization's metadata)."""
    part = session.isoformat()
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=key, asset_partitions=[part]), limit=1
    ).records
    if not records or records[0].asset_materialization is None:
        return None
    return {k: v.value for k, v in records[0].asset_materialization.metadata.items()}


def _source_sanity_check(artefact: str, sessions: dg.PartitionsDefinition) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=ASSET_KEYS[artefact],
        name=SOURCE_SANITY_CHECK,
        partitions_def=sessions,
        description=f"The share of the source's {artefact} rows rejected at the door (duplicates, "
        "impossible prices or counts, another underlying, expired contracts) stays within "
        "quality.source_reject_threshold.",
    )
    def _check(context: dg.AssetCheckExecutionContext, quality: QualityResource) -> dg.AssetCheckResult:
        key, limit = ASSET_KEYS[artefact], quality.source_reject_threshold
        return _evaluate(
            context,
            lambda d: source_sanity(artefact, d, door_record(context.instance, key, d), limit),
            _ERROR,
            threshold=limit,
        )

    return _check


def quality_checks(sessions: dg.PartitionsDefinition) -> list[dg.AssetChecksDefinition]:
    """The quality checks of every end-of-day artefact on ``sessions`` (no configuration needed)."""
    return [
        *(_lake_consistency_check(a, sessions) for a in CONSISTENCY_ARTEFACTS),
        *(_source_sanity_check(a, sessions) for a in SOURCE_SANITY_ARTEFACTS),
        *(_schema_check(a, sessions) for a in ASSET_KEYS),
        *(_coverage_check(a, sessions) for a in COVERAGE_ARTEFACTS),
        _gex_sanity_check(sessions),
        *(_freshness_check(a, sessions) for a in FRESHNESS_ARTEFACTS),
    ]


# --- parity -----------------------------------------------------------------------------------------


def parity_check(
    key: dg.AssetKey, artefact: str, sessions: dg.PartitionsDefinition, label: str = "Parity"
) -> dg.AssetChecksDefinition:
    """The ``parity_*`` checks on ``key``: every gate of ``artefact`` against the reference archive
    (``ldas_{artefact}_parity``; the end-of-day artefacts and the intraday snapshots share it), on
    ``key``'s partitions, ``sessions``."""
    gates = gates_for(artefact)
    specs = [
        dg.AssetCheckSpec(
            parity_check_name(g),
            asset=key,
            partitions_def=sessions,
            description=f"{label} with the reference (Rust) archive: the {g.replace('_', ' ')} gate.",
        )
        for g in gates
    ]

    # One step computes every gate of the artefact (a single listing and footer read of both archives).
    @dg.multi_asset_check(specs=specs, name=f"ldas_{artefact}_parity", can_subset=True)
    def _check(
        context: dg.AssetCheckExecutionContext, archive: ArchiveResource, parity: ParityResource
    ) -> Iterable[dg.AssetCheckResult]:
        root, reference = Path(archive.archive_root), Path(parity.reference_root)
        per_session = {
            d.isoformat(): artefact_gates(root, reference, d, artefact, parity.tolerances())
            for d in check_sessions(context)
        }
        selected = {k.name for k in context.selected_asset_check_keys}
        for gate in (g for g in gates if parity_check_name(g) in selected):
            yield check_result(
                {k: v[gate] for k, v in per_session.items()},
                _WARN,
                asset_key=key,
                check_name=parity_check_name(gate),
                metadata={"reference_root": dg.MetadataValue.path(str(reference))},
            )

    return _check


def parity_checks(sessions: dg.PartitionsDefinition) -> list[dg.AssetChecksDefinition]:
    """Parity checks of every end-of-day artefact against the configured reference archive."""
    return [parity_check(ASSET_KEYS[a], a, sessions) for a in ASSET_KEYS]
