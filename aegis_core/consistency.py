"""Archive and lake agree (issue 12): rows per artefact and symbol in the files equal those in the lake.

The files are the contract with consumers and the lake is what history-wide work reads; a run that
updates one and not the other (a subset run that replaced a whole lake partition, a crash between the
two writes) leaves them telling different stories. ``lake_consistency`` names every difference.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path

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


def file_rows(root: Path, artefact: str, session: dt.date) -> dict[str, int]:
    """``symbol -> rows`` in the session's end-of-day files (per-symbol files: their footers only)."""
    if artefact in _PER_SYMBOL_FILES:
        path_of = _PER_SYMBOL_FILES[artefact]
        out = {}
        for symbol in layout.symbols_with(root, artefact):
            path = path_of(root, symbol, session)
            if path.is_file():
                out[symbol] = pq.read_metadata(path).num_rows
        return out
    path = layout.daily_file(root, artefact, session)
    if not path.is_file():
        return {}
    counts = pc.value_counts(read_columns(path, ["symbol"]).column("symbol")).to_pylist()
    return {str(c["values"]): int(c["counts"]) for c in counts}


def lake_rows(lake: Lake, artefact: str, session: dt.date) -> dict[str, int]:
    """``symbol -> rows`` of the session in the artefact's Delta table (empty when the table is absent)."""
    frame = lake.read_sessions(artefact, session, session, ["symbol"])
    if frame is None or frame.height == 0:
        return {}
    return {str(s): int(n) for s, n in frame.group_by("symbol").len().iter_rows()}


def compare_rows(
    artefact: str, session: dt.date, files: Mapping[str, int], lake: Mapping[str, int]
) -> GateResult:
    """One line per symbol whose row count differs between the files and the lake."""
    symbols = sorted(set(files) | set(lake))
    differ = [s for s in symbols if files.get(s, 0) != lake.get(s, 0)]
    details = tuple(
        f"{s}: {files.get(s, 0)} row(s) in the files, {lake.get(s, 0)} in the lake" for s in differ
    )
    if not differ:
        return GateResult(
            artefact,
            LAKE_CONSISTENCY,
            True,
            f"{artefact} {session}: files and lake agree "
            f"({len(symbols)} symbol(s), {sum(files.values())} rows)",
        )
    summary = (
        f"{artefact} {session}: files and lake disagree for {len(differ)} of {len(symbols)} symbol(s): "
        f"{name_list([d.split(':')[0] + f' ({files.get(d, 0)} vs {lake.get(d, 0)})' for d in differ], 5)}"
    )
    return GateResult(artefact, LAKE_CONSISTENCY, False, summary, tuple(differ), details)


def lake_consistency(root: Path, lake: Lake, artefact: str, session: dt.date) -> GateResult:
    """Rows per symbol of ``artefact`` for ``session``: files under ``root`` vs the lake table."""
    if artefact not in CONSISTENCY_ARTEFACTS:
        raise ValueError(f"lake_consistency: {artefact!r} is not one of {list(CONSISTENCY_ARTEFACTS)}")
    try:
        files = file_rows(root, artefact, session)
    except (OSError, pa.ArrowException) as exc:
        return GateResult(
            artefact, LAKE_CONSISTENCY, False, f"{artefact} {session}: files unreadable ({exc})"
        )
    return compare_rows(artefact, session, files, lake_rows(lake, artefact, session))
