"""Intraday option-chain snapshots, one partition per 15-minute slot, and the session's cadence.

``ldas/pt_snapshots`` captures every universe chain once per slot (one parquet file per symbol, plus
the ``options_intraday`` table); a re-run of a slot replaces that slot's files.
``ldas/intraday_cadence`` summarises a session's snapshots and carries the ``intraday_cadence`` check,
which fails on a missing or doubled snapshot. Both read the time from the ``clock`` resource, so tests
and benchmarks can stand inside a slot's window.
"""

import datetime as dt
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import dagster as dg

from aegis_assets.clock import ClockParam, now
from aegis_assets.ldas.eod import GROUP, POOL
from aegis_assets.partitions import session_partitions, slot_partitions
from aegis_assets.resources import ArchiveResource, MarketDataResource
from aegis_assets.runs import (
    failures_metadata,
    markdown_table,
    merge_session_metadata,
    progress_logger,
    run_partition_keys,
    run_sessions,
    run_symbols,
)
from aegis_core.archive import layout
from aegis_core.cadence import INTRADAY_CADENCE, intraday_cadence
from aegis_core.calendar import NY, SLOT_LENGTH, nyse, parse_slot_key, slot_key
from aegis_core.capture import CaptureWindowError, slot_capture_time
from aegis_core.gates import GateResult, name_list
from aegis_core.slots import slot_of

PT_SNAPSHOTS = dg.AssetKey([GROUP, "pt_snapshots"])
CADENCE = dg.AssetKey([GROUP, "intraday_cadence"])
INTRADAY_CADENCE_CHECK = INTRADAY_CADENCE  # the asset check's name (stable: alerts refer to it)

SLOTS_PER_RUN = 26

# --- ldas/pt_snapshots -----------------------------------------------------------------------------


def run_slots(context: dg.AssetExecutionContext) -> list[dt.datetime]:
    """The slot starts this run captures (one for a scheduled run)."""
    slots = []
    for key in run_partition_keys(context):
        try:
            start = parse_slot_key(key)
            nyse().slot(start)  # Dagster accepts excluded keys submitted by hand (findings note §9)
        except ValueError as exc:
            raise dg.Failure(f"{key} is not an intraday slot: {exc}", allow_retries=False) from None
        slots.append(start)
    return slots


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
    key = slot_key(slot)
    started = time.perf_counter()
    batch, stats = market.fetch(
        captured_at,
        lambda c: c.option_chains(symbols, captured_at, on_progress=progress_logger(context, f"slot {key}")),
    )
    fetched = time.perf_counter()
    if not batch.frames:
        failed = "; ".join(f"{s}: {r}" for s, r in list(batch.failures.items())[:10])
        raise dg.Failure(f"no option chain could be fetched for slot {key}: {failed}")
    if batch.failures:
        context.log.warning(
            f"slot {key}: {len(batch.failures)} chains failed: {name_list(list(batch.failures))}"
        )
    frame = batch.frame()
    batch.frames.clear()  # the per-symbol copies are no longer needed: lowers the peak memory
    report = archive.archive().write_intraday(frame, slot, captured_at)
    del frame
    done = time.perf_counter()
    meta: dict[str, Any] = {
        "dagster/row_count": report.rows,
        "symbols_covered": f"{len(report.files)}/{len(symbols)}",
        **failures_metadata(batch.failures),
        "captured_at": captured_at.astimezone(NY).isoformat(),
        "capture_delay_s": round((captured_at - slot).total_seconds(), 1),
        "duration_s": round(done - started, 2),
        "fetch_s": round(fetched - started, 2),
        "write_s": round(done - fetched, 2),
        "requests": stats["requests"],
        "retries": stats["retries"],
        "pages": stats["pages"],
        "bytes_received": stats["bytes_received"],
        "contracts_per_s": round(report.rows / max(done - started, 1e-9)),
        "files": len(report.files),
        "files_replaced": report.replaced,
        "bytes": report.bytes,
        "lake_table": dg.MetadataValue.path(archive.archive().lake.uri("options_intraday")),
        "lake_version": report.lake_version,
        "source": archive.source,
    }
    if market.live:  # how much of the slot's window was left when the snapshot landed
        meta["window_left_s"] = round((slot + SLOT_LENGTH - now(clock)).total_seconds(), 1)
    if report.files:
        meta["path"] = dg.MetadataValue.path(str(report.files[0]))
    return meta


def build_pt_snapshots() -> dg.AssetsDefinition:
    @dg.asset(
        key=PT_SNAPSHOTS,
        group_name=GROUP,
        partitions_def=slot_partitions(),
        # A back-fill (simulated source only: live slots refuse) runs up to a session's slots per run.
        backfill_policy=dg.BackfillPolicy.multi_run(max_partitions_per_run=SLOTS_PER_RUN),
        pool=POOL,
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
        return dg.MaterializeResult(metadata=merge_session_metadata(out))

    return pt_snapshots


# --- ldas/intraday_cadence -------------------------------------------------------------------------


def completed_slots(day: dt.date, now: dt.datetime) -> list[dt.datetime]:
    """The session's slots whose 15-minute window has ended by ``now``."""
    session = nyse().session(day)
    return [s for s in session.slots if s + SLOT_LENGTH <= now] if session else []


def captured_per_slot(
    root: Path, day: dt.date, symbols: Iterable[str], expected: Sequence[dt.datetime]
) -> dict[str, Counter[dt.time]]:
    """``symbol -> {slot start: snapshots in its window}`` over the expected slots."""
    wanted = {s.astimezone(NY).time() for s in expected}
    out = {}
    for symbol in symbols:
        slots = (slot_of(t) for t in layout.intraday_files(root, symbol, day))
        out[symbol] = Counter(s for s in slots if s in wanted)
    return out


def cadence_metadata(
    counts: dict[str, Counter[dt.time]], expected: Sequence[dt.datetime], gate: GateResult
) -> dict[str, Any]:
    slots = [s.astimezone(NY).time() for s in expected]
    per_symbol = Counter(len(c) for c in counts.values())
    gaps = [(t, [s for s, c in counts.items() if not c[t]]) for t in slots]
    rows = [{"slot": f"{t:%H:%M}", "missing": len(m), "symbols": name_list(m, 8)} for t, m in gaps if m]
    complete = sum(1 for c in counts.values() if len(c) == len(slots))
    return {
        "slots_expected": len(slots),
        "symbols": len(counts),
        "symbols_complete": f"{complete}/{len(counts)}",
        "snapshots": sum(sum(c.values()) for c in counts.values()),
        "gaps": sum(len(m) for _, m in gaps),
        "duplicates": sum(1 for c in counts.values() for n in c.values() if n > 1),
        "slots_captured_per_symbol": dg.MetadataValue.json(
            {str(k): v for k, v in sorted(per_symbol.items())}
        ),
        "gaps_by_slot": markdown_table(rows, limit=26),
        "summary": gate.summary,
    }


def _clip(line: str, limit: int = 400) -> str:
    # A gap line names every symbol missing in that slot: up to the whole universe.
    return line if len(line) <= limit else f"{line[: limit - 1]}…"


def build_intraday_cadence() -> dg.AssetsDefinition:
    @dg.asset(
        key=CADENCE,
        group_name=GROUP,
        partitions_def=session_partitions(),
        deps=[PT_SNAPSHOTS],
        kinds={"parquet"},
        check_specs=[
            dg.AssetCheckSpec(
                INTRADAY_CADENCE_CHECK,
                asset=CADENCE,
                partitions_def=session_partitions(),
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
        meta = cadence_metadata(captured_per_slot(root, session.date, symbols, expected), expected, gate)
        check = dg.AssetCheckResult(
            check_name=INTRADAY_CADENCE_CHECK,
            passed=gate.passed,
            description=gate.summary,
            metadata={
                "summary": gate.summary,
                "offenders": len(gate.offenders),
                "details": dg.MetadataValue.md(
                    "\n".join(f"- {_clip(d)}" for d in gate.details[:50]) or "_none_"
                ),
            },
        )
        return dg.MaterializeResult(metadata=meta, check_results=[check])

    return intraday_cadence_asset


def build_intraday_assets() -> list[dg.AssetsDefinition]:
    return [build_pt_snapshots(), build_intraday_cadence()]
