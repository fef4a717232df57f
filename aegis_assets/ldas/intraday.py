"""Intraday option-chain snapshots, one partition per 15-minute slot, and the session's cadence.

``ldas/pt_snapshots`` captures every universe chain once per slot (one parquet file per symbol, plus
the ``options_intraday`` table); a re-run of a slot replaces that slot's files.
``ldas/intraday_cadence`` summarises a session's snapshots and carries the ``intraday_cadence`` check,
which fails on a missing or doubled snapshot. Both read the time from the ``clock`` resource, so tests
and benchmarks can stand inside a slot's window.
"""

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from typing import Any

import dagster as dg

from aegis_assets.clock import ClockParam, now
from aegis_assets.ldas.checks import check_result
from aegis_assets.ldas.eod import GROUP
from aegis_assets.partitions import ArchivePartitions, session_partitions, slot_partitions
from aegis_assets.policy import SLOT_BACKFILL, VENDOR_POOL
from aegis_assets.resources import ArchiveResource, MarketDataResource
from aegis_assets.run_writes import remember
from aegis_assets.runs import (
    failures_metadata,
    markdown_table,
    per_partition_result,
    progress_logger,
    run_partition_keys,
    run_sessions,
    run_symbols,
    slot_starts,
)
from aegis_core.base.gates import name_list
from aegis_core.calendar import NY, SLOT_LENGTH, slot_key
from aegis_core.ldas.cadence import (
    INTRADAY_CADENCE,
    cadence_stats,
    captured_per_slot,
    completed_slots,
    intraday_cadence,
)
from aegis_core.ldas.capture import (
    CaptureWindowError,
    NoChainsError,
    capture_slot,
    slot_capture_time,
    slot_window,
)

PT_SNAPSHOTS = dg.AssetKey([GROUP, "pt_snapshots"])
CADENCE = dg.AssetKey([GROUP, "intraday_cadence"])
INTRADAY_CADENCE_CHECK = INTRADAY_CADENCE  # the asset check's name (stable: alerts refer to it)

_ERROR = dg.AssetCheckSeverity.ERROR

# --- ldas/pt_snapshots -----------------------------------------------------------------------------


def run_slots(context: dg.AssetExecutionContext) -> list[dt.datetime]:
    """The slot starts this run captures (one for a scheduled run)."""
    return slot_starts(run_partition_keys(context))


def capture_times(slots: Sequence[dt.datetime], now: dt.datetime, *, live: bool) -> list[dt.datetime]:
    """Each slot's capture moment; a live slot outside its window fails the run before any request."""
    try:
        return [slot_capture_time(s, now, live=live) for s in slots]
    except CaptureWindowError as exc:
        raise dg.Failure(str(exc), allow_retries=False) from None


def _capture_slot(
    context: dg.AssetExecutionContext,
    market: MarketDataResource,
    archive: ArchiveResource,
    symbols: list[str],
    slot: dt.datetime,
    captured_at: dt.datetime,
    clock: ClockParam,
) -> dict[str, Any]:
    key, store = slot_key(slot), archive.archive()
    try:
        done = capture_slot(
            market.fetch,
            store,
            symbols,
            slot,
            captured_at,
            progress_logger(context, f"slot {key}"),
            window=slot_window(slot, clock) if market.live else None,
        )
    except NoChainsError as exc:
        raise dg.Failure(str(exc)) from None
    remember(context.run.run_id, key, done.report)  # the slot's checks in this run take its figures
    if done.failures:
        context.log.warning(
            f"slot {key}: {len(done.failures)} chains failed: {name_list(list(done.failures))}"
        )
    meta: dict[str, Any] = {
        **done.figures(),
        **failures_metadata(done.failures),
        "lake_table": dg.MetadataValue.path(store.lake.uri("options_intraday")),
        "source": archive.source,
    }
    if market.live:  # how much of the slot's window was left when the snapshot landed
        meta["window_left_s"] = round((slot + SLOT_LENGTH - now(clock)).total_seconds(), 1)
    if done.report.files:
        meta["path"] = dg.MetadataValue.path(str(done.report.files[0]))
    return meta


def build_pt_snapshots(
    partitions_def: dg.TimeWindowPartitionsDefinition | None = None,
) -> dg.AssetsDefinition:
    """``ldas/pt_snapshots`` on ``partitions_def`` (default: every slot since ``SLOT_START``)."""

    @dg.asset(
        key=PT_SNAPSHOTS,
        group_name=GROUP,
        partitions_def=partitions_def or slot_partitions(),
        backfill_policy=SLOT_BACKFILL,
        pool=VENDOR_POOL,
        kinds={"polars", "parquet", "deltalake"},
    )
    def pt_snapshots(
        context: dg.AssetExecutionContext,
        market: MarketDataResource,
        archive: ArchiveResource,
        clock: ClockParam,
    ) -> dg.MaterializeResult:
        """Every universe symbol's option chain once per 15-minute slot:
        ``options/SYMBOL/YYYY/MM/DD_pt_HHMMSS.parquet`` (HHMMSS = capture time, ET) and the
        ``options_intraday`` table. A re-run replaces the slot's files.

        Live-only: from Polygon a slot can be captured only inside its own window; outside it the
        run fails at once. The simulated market produces any slot, captured at the slot start.

        Checks per slot: ``schema_contract`` (blocking), ``slot_coverage``, ``capture_window``.
        Intraday parity with the reference archive is checked per session on its child
        ``ldas/intraday_cadence`` (``parity_*``).
        """
        symbols = run_symbols(context, market.universe())
        slots = run_slots(context)
        moments = capture_times(slots, now(clock).astimezone(NY), live=market.live)
        out = {
            slot_key(slot): _capture_slot(context, market, archive, symbols, slot, at, clock)
            for slot, at in zip(slots, moments, strict=True)
        }
        return per_partition_result(context, out)

    return pt_snapshots


# --- ldas/intraday_cadence -------------------------------------------------------------------------


def cadence_metadata(counts: dict[str, Counter[dt.time]], expected: Sequence[dt.datetime]) -> dict[str, Any]:
    stats = cadence_stats(counts, expected)
    return {
        **{k: v for k, v in stats.items() if k not in ("slots_captured_per_symbol", "gaps_by_slot")},
        "slots_captured_per_symbol": dg.MetadataValue.json(stats["slots_captured_per_symbol"]),
        "gaps_by_slot": markdown_table(stats["gaps_by_slot"], limit=26),
    }


def build_intraday_cadence(
    partitions_def: dg.TimeWindowPartitionsDefinition | None = None,
) -> dg.AssetsDefinition:
    """``ldas/intraday_cadence`` on ``partitions_def`` (default: every session)."""
    partitions_def = partitions_def or session_partitions()

    @dg.asset(
        key=CADENCE,
        group_name=GROUP,
        partitions_def=partitions_def,
        deps=[PT_SNAPSHOTS],
        kinds={"parquet"},
        check_specs=[
            dg.AssetCheckSpec(
                INTRADAY_CADENCE_CHECK,
                asset=CADENCE,
                partitions_def=partitions_def,
                description="One snapshot per universe symbol and completed slot of the session.",
            )
        ],
    )
    def intraday_cadence_asset(
        context: dg.AssetExecutionContext,
        market: MarketDataResource,
        archive: ArchiveResource,
        clock: ClockParam,
    ) -> dg.MaterializeResult:
        """The session's intraday snapshots: slots captured per symbol and the gaps, by slot and symbol.

        Counts the slots whose window has ended (all of them after the close). The
        ``intraday_cadence`` check fails on any gap or second snapshot in a slot.
        """
        sessions = run_sessions(context)
        if len(sessions) != 1:
            raise dg.Failure(
                f"the cadence runs one session per run, got {len(sessions)}: back-fill without a range run"
            )
        session = sessions[0]
        symbols = run_symbols(context, market.universe())
        root = archive.archive().root
        expected = completed_slots(session.date, now(clock))
        gate = intraday_cadence(root, session.date, symbols, expected)
        meta = cadence_metadata(captured_per_slot(root, session.date, symbols, expected), expected)
        check = check_result({session.key: gate}, _ERROR, check_name=INTRADAY_CADENCE_CHECK)
        return dg.MaterializeResult(metadata={**meta, "summary": gate.summary}, check_results=[check])

    return intraday_cadence_asset


def build_intraday_assets(partitions: ArchivePartitions | None = None) -> list[dg.AssetsDefinition]:
    """The intraday assets on the live archive's partitions (``partitions``; default: all)."""
    p = partitions or ArchivePartitions()
    return [build_pt_snapshots(p.slots), build_intraday_cadence(p.sessions)]
