"""End-of-day archive assets: VIX, the stocks' daily bars and the option chains at the close.

The asset bodies are plain functions; ``fetch_assets`` declares them on the archive's session
partitions, which the code location decides when it loads (the go-live session, ``ArchivePartitions``).
"""

import datetime as dt
import time
from typing import Any

import dagster as dg
import polars as pl

from aegis_assets.clock import ClockParam, now
from aegis_assets.policy import SESSION_BACKFILL, VENDOR_POOL
from aegis_assets.resources import ArchiveResource, MarketDataResource
from aegis_assets.run_writes import remember
from aegis_assets.runs import (
    failures_metadata,
    markdown_table,
    per_partition_result,
    progress_logger,
    run_sessions,
    run_symbols,
)
from aegis_core.archive.store import Archive, WriteReport
from aegis_core.calendar import NY, Session
from aegis_core.ldas.capture import CaptureWindowError, eod_capture_time, eod_window
from aegis_core.ldas.validation import (
    Rejections,
    VendorDataError,
    chains_outcome,
    check_vix,
    screen_bars,
    screen_session,
)
from aegis_core.polygon import CaptureWindow, PolygonNoDataError
from aegis_core.polygon.results import ChainsResult

GROUP = "ldas"

VIX, STOCKS, OPTIONS = (dg.AssetKey([GROUP, name]) for name in ("vix", "stocks", "options"))


def session_asset(sessions: dg.PartitionsDefinition, **policy: Any) -> Any:
    """The decorator of an archive asset on ``sessions``: a run handles one session or a range of them
    (a back-fill), looping over them (``run_sessions``)."""
    return dg.asset(
        key_prefix=GROUP,
        group_name=GROUP,
        partitions_def=sessions,
        backfill_policy=SESSION_BACKFILL,
        kinds={"polars", "parquet", "deltalake"},
        **policy,
    )


def _first(failures: dict[str, str], n: int = 10) -> str:
    return "; ".join(f"{s}: {r}" for s, r in list(failures.items())[:n])


def _write_metadata(report: WriteReport, universe: int | None, archive: ArchiveResource) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "dagster/row_count": report.rows,
        "files": len(report.files),
        "bytes": report.bytes,
        "write_seconds": round(report.seconds, 3),
        "lake_table": dg.MetadataValue.path(archive.archive().lake.uri(report.artefact)),
        "lake_version": report.lake_version,
        "source": archive.source,
    }
    if report.files:
        meta["path"] = dg.MetadataValue.path(str(report.files[0]))
    if universe is not None:
        meta["symbols_covered"] = f"{len(report.files)}/{universe}"
    return meta


def _door_metadata(rejections: Rejections) -> dict[str, Any]:
    """What the door rejected: scalar totals (kept per session in a range run) and the reasons."""
    meta = rejections.as_metadata()
    return {
        "rows_received": meta["rows_received"],
        "rows_rejected": meta["rows_rejected"],
        "rejected_by_reason": dg.MetadataValue.json(meta["rejected_by_reason"]),
        "rejected_by_symbol": dg.MetadataValue.json(meta["rejected_by_symbol"]),
    }


def _request_metadata(stats: dict, started: float) -> dict[str, Any]:
    return {
        "requests": stats["requests"],
        "retries": stats["retries"],
        "retries_by_reason": dg.MetadataValue.json(stats["retries_by_reason"]),
        "bytes_received": stats["bytes_received"],
        "duration_s": round(time.perf_counter() - started, 2),
    }


def vix(
    context: dg.AssetExecutionContext, market: MarketDataResource, archive: ArchiveResource
) -> dg.MaterializeResult:
    """The session's VIX daily bar (index I:VIX): ``vix/YYYY/MM/DD.parquet`` and the ``vix`` table."""
    archive.archive().preflight()
    out = {}
    for session in run_sessions(context):
        started = time.perf_counter()
        try:
            frame, stats = market.fetch(session.close, lambda c, d=session.date: c.vix(d))
        except PolygonNoDataError as exc:
            raise dg.Failure(f"the source has no VIX bar for {session.key}: {exc}") from None
        try:
            check_vix(frame, session.date)
        except VendorDataError as exc:
            raise dg.Failure(str(exc)) from None
        report = archive.archive().write_vix(frame, session.date)
        out[session.key] = {
            **_write_metadata(report, None, archive),
            **_request_metadata(stats, started),
            "close": float(frame["close"][0]),
        }
    return per_partition_result(context, out)


def stocks(
    context: dg.AssetExecutionContext, market: MarketDataResource, archive: ArchiveResource
) -> dg.MaterializeResult:
    """Each universe symbol's daily bar: ``stocks/SYMBOL/YYYY/MM/DD_poly.parquet`` and the ``stocks`` table.

    One grouped request covers the market; symbols it lacks are fetched one by one.
    """
    archive.archive().preflight()
    symbols = run_symbols(context, market.universe())
    out = {}
    for session in run_sessions(context):
        started = time.perf_counter()
        result, stats = market.fetch(
            session.close,
            lambda c, d=session.date: c.stocks(
                d, symbols, on_progress=progress_logger(context, "stock bars")
            ),
        )
        frame, rejections = screen_bars(result.frame, session.date)
        failed = {**{s: "no daily bar at the source" for s in result.missing}, **result.failures}
        kept = set(frame.get_column("symbol").to_list())
        failed |= {
            s: f"bar rejected at the door ({r})" for s, r in rejections.first_reason.items() if s not in kept
        }
        if frame.height == 0:
            raise dg.Failure(
                f"no stock bars for {session.key} ({len(symbols)} symbols asked): {_first(failed)}"
            )
        if failed:
            context.log.warning(f"{session.key}: no daily bar for {len(failed)} symbols: {_first(failed)}")
        report = archive.archive().write_stocks(frame, session.date)
        remember(context.run.run_id, session.key, report)  # the checks of this run take its figures
        out[session.key] = {
            **_write_metadata(report, len(symbols), archive),
            **_request_metadata(stats, started),
            **failures_metadata(failed),
            **_door_metadata(rejections),
        }
    return per_partition_result(context, out)


def _capture_time(session: Session, clock: ClockParam, live: bool) -> dt.datetime:
    try:
        return eod_capture_time(session, now(clock).astimezone(NY), live=live)
    except CaptureWindowError as exc:
        raise dg.Failure(str(exc)) from None


def _capture_chains(
    context: dg.AssetExecutionContext,
    market: MarketDataResource,
    store: Archive,
    symbols: list[str],
    session: Session,
    captured_at: dt.datetime,
    window: CaptureWindow | None,
) -> tuple[ChainsResult, dict, WriteReport, Rejections, dict[str, str]]:
    """Every symbol's chain as of ``captured_at``, screened and written to its file as it arrives (the
    session is never held in memory), then mirrored to the lake in one commit. A failure, with nothing
    committed to the lake, when not one chain could be fetched or every row was rejected. ``window``
    (live): a chain whose fetch runs past the next open fails by name."""
    progress = progress_logger(context, "option chains")
    expired = Rejections()
    with store.options_files(session.date, symbols, own_process=True) as files:

        def arrived(symbol: str, frame: pl.DataFrame) -> None:
            kept, _ = screen_session(frame, session.date, expired)
            files.add(symbol, kept)

        batch, stats = market.fetch(
            captured_at,
            lambda c: c.option_chains(symbols, captured_at, progress, on_chain=arrived, window=window),
        )
        failures = batch.failures
        if failures:
            context.log.warning(f"{session.key}: {len(failures)} chains failed: {_first(failures)}")
        if not batch.sizes:
            raise dg.Failure(f"no option chain could be fetched for {session.key}: {_first(failures)}")
        rejections, failed = chains_outcome(batch, stats, expired, symbols, files.symbols)
        if not files.symbols:
            raise dg.Failure(f"no usable option chain for {session.key}: {_first(failed)}")
        report = files.close()
    return batch, stats, report, rejections, failed


def _chain_metadata(sizes: dict[str, int], report: WriteReport, started: float) -> dict[str, Any]:
    largest = sorted(
        ({"symbol": s, "contracts": n} for s, n in sizes.items()), key=lambda r: -r["contracts"]
    )[:10]
    return {
        "contracts_per_s": round(report.rows / max(time.perf_counter() - started, 1e-9)),
        "largest_chains": markdown_table(largest),
    }


def options(
    context: dg.AssetExecutionContext, market: MarketDataResource, archive: ArchiveResource, clock: ClockParam
) -> dg.MaterializeResult:
    """Each universe symbol's option chain at the close: ``options/SYMBOL/YYYY/MM/DD.parquet``.

    Live-only: from Polygon, a session's chain can be captured only between its close and the next
    open (by the ``clock`` resource); outside that window the run fails at once instead of archiving
    another day's chain, and a chain whose fetch runs on past the next open fails by name.
    """
    archive.archive().preflight()
    symbols = run_symbols(context, market.universe())
    out = {}
    for session in run_sessions(context):
        captured_at = _capture_time(session, clock, market.live)
        started = time.perf_counter()
        window = eod_window(session, clock) if market.live else None
        batch, stats, report, rejections, failed = _capture_chains(
            context, market, archive.archive(), symbols, session, captured_at, window
        )
        remember(context.run.run_id, session.key, report)  # the checks of this run take its figures
        out[session.key] = {
            **_write_metadata(report, len(symbols), archive),
            **_request_metadata(stats, started),
            **failures_metadata(failed),
            **_door_metadata(rejections),
            "captured_at": captured_at.isoformat(),
            **_chain_metadata(batch.sizes, report, started),
        }
    return per_partition_result(context, out)


def fetch_assets(sessions: dg.PartitionsDefinition) -> list[dg.AssetsDefinition]:
    """``ldas/vix``, ``ldas/stocks`` and ``ldas/options`` on ``sessions``, sharing the vendor's pool."""
    fetch = session_asset(sessions, pool=VENDOR_POOL)
    return [fetch(vix), fetch(stocks), fetch(options)]
