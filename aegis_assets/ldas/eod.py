"""End-of-day archive assets: VIX, the stocks' daily bars and the option chains at the close."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import dagster as dg

from aegis_assets.partitions import session_partitions
from aegis_assets.resources import ArchiveResource, MarketDataResource
from aegis_assets.runs import (
    failures_metadata,
    markdown_table,
    merge_session_metadata,
    progress_logger,
    run_sessions,
    run_symbols,
)
from aegis_core.archive.store import WriteReport
from aegis_core.calendar import NY
from aegis_core.capture import CaptureWindowError, eod_capture_time

GROUP = "ldas"
POOL = "market_data"


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


def _request_metadata(stats: dict, started: float) -> dict[str, Any]:
    return {**{f"requests_{k}" if k != "requests" else k: v for k, v in stats.items()},
            "duration_s": round(time.perf_counter() - started, 2)}


@dg.asset(key_prefix=GROUP, group_name=GROUP, partitions_def=session_partitions(), pool=POOL,
          kinds={"polars", "parquet", "deltalake"})
def vix(context: dg.AssetExecutionContext, market: MarketDataResource, archive: ArchiveResource) -> dg.MaterializeResult:
    """The session's VIX daily bar (index I:VIX): ``vix/YYYY/MM/DD.parquet`` and the ``vix`` table."""
    out = {}
    for session in run_sessions(context):
        started = time.perf_counter()
        frame, stats = market.fetch(session.close, lambda c, d=session.date: c.vix_bar(d))
        if frame.height == 0:
            raise dg.Failure(f"the source has no VIX bar for {session.key}")
        report = archive.archive().write_vix(frame, session.date)
        out[session.key] = {**_write_metadata(report, None, archive), **_request_metadata(stats, started),
                            "close": float(frame["close"][0])}
    return dg.MaterializeResult(metadata=merge_session_metadata(out))


@dg.asset(key_prefix=GROUP, group_name=GROUP, partitions_def=session_partitions(), pool=POOL,
          kinds={"polars", "parquet", "deltalake"})
def stocks(context: dg.AssetExecutionContext, market: MarketDataResource, archive: ArchiveResource) -> dg.MaterializeResult:
    """Each universe symbol's daily bar: ``stocks/SYMBOL/YYYY/MM/DD_poly.parquet`` and the ``stocks`` table.

    One grouped request covers the market; symbols it lacks are fetched one by one.
    """
    symbols = run_symbols(context, market.universe())
    out = {}
    for session in run_sessions(context):
        started = time.perf_counter()
        (frame, missing), stats = market.fetch(session.close, lambda c, d=session.date: c.stock_bars(symbols, d))
        if frame.height == 0:
            raise dg.Failure(f"the source returned no stock bars for {session.key} ({len(symbols)} symbols asked)")
        if missing:
            context.log.warning(f"{session.key}: no daily bar for {len(missing)} symbols: {sorted(missing)[:20]}")
        report = archive.archive().write_stocks(frame, session.date)
        out[session.key] = {**_write_metadata(report, len(symbols), archive), **_request_metadata(stats, started),
                            **failures_metadata(missing)}
    return dg.MaterializeResult(metadata=merge_session_metadata(out))


@dg.asset(key_prefix=GROUP, group_name=GROUP, partitions_def=session_partitions(), pool=POOL,
          kinds={"polars", "parquet", "deltalake"})
def options(context: dg.AssetExecutionContext, market: MarketDataResource, archive: ArchiveResource) -> dg.MaterializeResult:
    """Each universe symbol's option chain at the close: ``options/SYMBOL/YYYY/MM/DD.parquet``.

    Live-only: from Polygon, a session's chain can be captured only between its close and the next
    open; outside that window the run fails at once instead of archiving another day's chain.
    """
    symbols = run_symbols(context, market.universe())
    out = {}
    for session in run_sessions(context):
        try:
            captured_at = eod_capture_time(session, dt.datetime.now(NY), live=market.live)
        except CaptureWindowError as exc:
            raise dg.Failure(str(exc)) from None
        started = time.perf_counter()
        batch, stats = market.fetch(
            captured_at,
            lambda c, t=captured_at: c.option_chains(symbols, t, on_progress=progress_logger(context, "option chains")),
        )
        if batch.failures:
            context.log.warning(f"{session.key}: {len(batch.failures)} chains failed: {dict(list(batch.failures.items())[:10])}")
        if batch.frame.height == 0:
            raise dg.Failure(f"no option chain could be fetched for {session.key}: {dict(list(batch.failures.items())[:10])}")
        report = archive.archive().write_options(batch.frame, session.date)
        largest = (batch.frame.group_by("symbol").len().sort("len", descending=True).head(10)
                   .rename({"len": "contracts"}).to_dicts())
        out[session.key] = {
            **_write_metadata(report, len(symbols), archive), **_request_metadata(stats, started),
            **failures_metadata(batch.failures),
            "captured_at": captured_at.isoformat(),
            "contracts_per_s": round(report.rows / max(time.perf_counter() - started, 1e-9)),
            "largest_chains": markdown_table(largest),
        }
    return dg.MaterializeResult(metadata=merge_session_metadata(out))


EOD_FETCH_ASSETS = [vix, stocks, options]
