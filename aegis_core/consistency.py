"""Archive and lake agree (issue 12): per artefact and symbol, the files and the lake hold the same number
of rows of the same capture.

The files are the contract with consumers and the lake is what history-wide work reads; a run that
updates one and not the other (a subset run that replaced a whole lake partition, a crash between the
two writes) leaves them telling different stories. ``lake_consistency`` names every difference.

Counting rows is not enough: a chain captured again usually has as many contracts as before, so a run
that died after some of its new files landed and before its lake commit leaves equal counts over two
different captures. Each symbol's latest ``timestamp`` (a chain's capture time, a bar's time) is compared
too; for per-symbol files it comes from the footer's column statistics, so those files are still not read.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from aegis_core.archive import layout
from aegis_core.archive.files import read_columns
from aegis_core.archive.lake import Lake
from aegis_core.gates import GateResult, name_list

LAKE_CONSISTENCY = "lake_consistency"
CONSISTENCY_ARTEFACTS = ("vix", "stocks", "options", "gex_summary", "iv_rank")
_PER_SYMBOL_FILES = {"stocks": layout.stock_file, "options": layout.options_file}
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True)
class Tally:
    """A symbol's rows for the session and their latest ``timestamp``, in microseconds since the epoch."""

    rows: int
    latest: int | None = None

    def __str__(self) -> str:
        if self.latest is None:
            return f"{self.rows} row(s)"
        instant = _EPOCH + dt.timedelta(microseconds=self.latest)
        return f"{self.rows} row(s) up to {instant:%Y-%m-%dT%H:%M:%S}Z"


_NONE = Tally(0)


def _tallies(frame: pl.DataFrame) -> dict[str, Tally]:
    """``symbol -> Tally`` of a frame with ``symbol`` and ``timestamp``."""
    per_symbol = frame.group_by("symbol").agg(pl.len(), pl.col("timestamp").max().dt.epoch("us"))
    return {str(s): Tally(int(n), t) for s, n, t in per_symbol.iter_rows()}


def _footer_latest(meta: pq.FileMetaData) -> int | None:
    """The latest ``timestamp`` by the row groups' statistics; None when they cannot tell (no statistics,
    or not in microseconds)."""
    latest = None
    for i in range(meta.num_row_groups):
        group = meta.row_group(i)
        names = [group.column(j).path_in_schema for j in range(group.num_columns)]
        stats = group.column(names.index("timestamp")).statistics
        if stats is None or not stats.has_min_max or stats.logical_type is None:
            return None
        if json.loads(stats.logical_type.to_json()).get("timeUnit") != "microseconds":
            return None
        latest = stats.max_raw if latest is None else max(latest, stats.max_raw)
    return latest


def _file_tally(path: Path) -> Tally:
    """One per-symbol file: its footer, or its ``timestamp`` column where the footer cannot tell."""
    meta = pq.read_metadata(path)
    if "timestamp" not in meta.schema.names:  # off contract (schema_contract names it): rows only
        return Tally(meta.num_rows)
    latest = _footer_latest(meta)
    if latest is None:
        column = read_columns(path, ["timestamp"]).column("timestamp")
        latest = pc.max(column.cast(pa.timestamp("us", tz="UTC")).cast(pa.int64())).as_py()
    return Tally(meta.num_rows, latest)


def file_tallies(root: Path, artefact: str, session: dt.date) -> dict[str, Tally]:
    """``symbol -> Tally`` of the session's end-of-day files (per-symbol files: their footers only)."""
    if artefact in _PER_SYMBOL_FILES:
        path_of = _PER_SYMBOL_FILES[artefact]
        out = {}
        for symbol in layout.symbols_with(root, artefact):
            path = path_of(root, symbol, session)
            if path.is_file():
                out[symbol] = _file_tally(path)
        return out
    path = layout.daily_file(root, artefact, session)
    if not path.is_file():
        return {}
    frame = pl.from_arrow(read_columns(path, ["symbol", "timestamp"]))
    assert isinstance(frame, pl.DataFrame)
    return _tallies(frame)


def lake_tallies(lake: Lake, artefact: str, session: dt.date) -> dict[str, Tally]:
    """``symbol -> Tally`` of the session in the artefact's Delta table (empty when the table is absent)."""
    frame = lake.read_sessions(artefact, session, session, ["symbol", "timestamp"])
    return {} if frame is None else _tallies(frame)


def compare_tallies(
    artefact: str, session: dt.date, files: Mapping[str, Tally], lake: Mapping[str, Tally]
) -> GateResult:
    """One line per symbol whose rows or latest timestamp differ between the files and the lake."""
    symbols = sorted(set(files) | set(lake))
    differ = [s for s in symbols if files.get(s, _NONE) != lake.get(s, _NONE)]
    details = tuple(
        f"{s}: {files.get(s, _NONE)} in the files, {lake.get(s, _NONE)} in the lake" for s in differ
    )
    if not differ:
        return GateResult(
            artefact,
            LAKE_CONSISTENCY,
            True,
            f"{artefact} {session}: files and lake agree "
            f"({len(symbols)} symbol(s), {sum(t.rows for t in files.values())} rows)",
        )

    def short(symbol: str) -> str:
        f, k = files.get(symbol, _NONE), lake.get(symbol, _NONE)
        return f"{symbol} ({f.rows} vs {k.rows})" if f.rows != k.rows else f"{symbol} (another capture)"

    summary = (
        f"{artefact} {session}: files and lake disagree for {len(differ)} of {len(symbols)} symbol(s): "
        f"{name_list([short(s) for s in differ], 5)}"
    )
    return GateResult(artefact, LAKE_CONSISTENCY, False, summary, tuple(differ), details)


def lake_consistency(root: Path, lake: Lake, artefact: str, session: dt.date) -> GateResult:
    """Rows and latest timestamp per symbol of ``artefact`` for ``session``: files under ``root`` vs the
    lake table."""
    if artefact not in CONSISTENCY_ARTEFACTS:
        raise ValueError(f"lake_consistency: {artefact!r} is not one of {list(CONSISTENCY_ARTEFACTS)}")
    try:
        files = file_tallies(root, artefact, session)
    except (OSError, pa.ArrowException) as exc:
        return GateResult(
            artefact, LAKE_CONSISTENCY, False, f"{artefact} {session}: files unreadable ({exc})"
        )
    return compare_tallies(artefact, session, files, lake_tallies(lake, artefact, session))
