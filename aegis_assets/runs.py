"""Helpers every asset body shares: the sessions of a run, symbol selection, progress, metadata."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import dagster as dg

from aegis_core.archive.universe import select_symbols
from aegis_core.calendar import NotASessionError, Session, nyse, parse_session_date, parse_slot_key

SYMBOLS_TAG = "aegis/symbols"


def run_partition_keys(context: dg.AssetExecutionContext) -> list[str]:
    """The partition keys of this run: one for a partition run, several for a range run."""
    # A single-partition run names its key; ``partition_keys`` would silently map an excluded key
    # (which Dagster accepts from a run tag, e.g. a holiday) onto the next window.
    return [context.partition_key] if context.has_partition_key else list(context.partition_keys)


def check_partition_keys(context: dg.AssetCheckExecutionContext, what: str) -> list[str]:
    """The partition keys a check run covers (as ``run_partition_keys``); a run without partitions is
    refused, saying which partition (``what``, e.g. "session (YYYY-MM-DD)") it needs."""
    op = context.op_execution_context
    try:
        return [op.partition_key] if op.has_partition_key else list(op.partition_keys)
    except dg.DagsterInvariantViolationError:
        raise dg.Failure(f"this check is evaluated per {what}") from None


def run_sessions(context: dg.AssetExecutionContext) -> list[Session]:
    """The sessions this run materializes: one for a partition run, several for a range run."""
    sessions = []
    for key in run_partition_keys(context):
        try:  # Dagster accepts holiday keys submitted by hand (dagster-notes §5)
            sessions.append(nyse().require_session(parse_session_date(key)))
        except NotASessionError as exc:
            raise dg.Failure(f"{exc}; nothing to materialize") from None
    return sessions


def slot_starts(keys: Iterable[str]) -> list[dt.datetime]:
    """The slot starts of intraday partition keys; a key that is not a slot fails the run by name."""
    slots = []
    for key in keys:
        try:
            start = parse_slot_key(key)
            nyse().slot(start)  # Dagster accepts excluded keys submitted by hand (dagster-notes §5)
        except ValueError as exc:
            raise dg.Failure(f"{key} is not an intraday slot: {exc}", allow_retries=False) from None
        slots.append(start)
    return slots


def run_symbols(context: dg.AssetExecutionContext, universe: list[str]) -> list[str]:
    """The universe, or the subset named by the run's ``aegis/symbols`` tag."""
    return select_symbols(universe, context.run.tags.get(SYMBOLS_TAG))


def progress_logger(
    context: dg.AssetExecutionContext, what: str, every_s: float = 5.0
) -> Callable[[int, int, str], None]:
    """A progress callback logging ``done/total`` at most every ``every_s`` seconds, and at the end."""
    last = [0.0]

    def report(done: int, total: int, symbol: str) -> None:
        now = time.monotonic()
        if done == total or now - last[0] >= every_s:
            last[0] = now
            context.log.info(f"{what}: {done}/{total} symbols ({symbol})")

    return report


def failures_metadata(failures: Mapping[str, str]) -> dict[str, Any]:
    if not failures:
        return {"symbols_failed": dg.MetadataValue.text("none")}
    return {
        "symbols_failed": dg.MetadataValue.json(dict(sorted(failures.items()))),
        "symbols_failed_count": len(failures),
    }


def markdown_table(rows: Iterable[Mapping[str, Any]], limit: int = 15) -> dg.MetadataValue:
    rows = list(rows)[:limit]
    if not rows:
        return dg.MetadataValue.md("_no rows_")
    head = list(rows[0])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        lines.append("| " + " | ".join(_cell(row[h]) for h in head) + " |")
    return dg.MetadataValue.md("\n".join(lines))


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1e4 else f"{value:,.0f}"
    return str(value)


def per_partition_result(
    context: dg.AssetExecutionContext, per_partition: Mapping[str, Mapping[str, Any]]
) -> dg.MaterializeResult:
    """Each partition's own figures on its own materialization event.

    A range run (a back-fill is one run for its sessions) records one materialization per partition;
    metadata given to the ``MaterializeResult`` would be copied onto every one of them, so each
    partition's figures are attached to its own event instead (``add_asset_metadata(partition_key=)``)
    and Dagster's per-partition views, plots and "latest materialization" read that session's rows,
    coverage and duration. Dagster emits the events in key order, so the latest session's is last.
    """
    for key, metadata in per_partition.items():
        context.add_asset_metadata(dict(metadata), partition_key=key)
    return dg.MaterializeResult()
