"""Archive and lake agree (issues 12, 24): per artefact and symbol, the files and the lake hold the same
rows: as many, of the same capture, with the same values.

The files are the contract with consumers and the lake is what history-wide work reads; a run that
updates one and not the other (a subset run that replaced a whole lake partition, a crash between the
two writes) leaves them telling different stories. ``lake_consistency`` names every difference.

Counting rows is not enough: a chain captured again usually has as many contracts as before, so a run
that died after some of its new files landed and before its lake commit leaves equal counts over two
different captures. Each symbol's latest ``timestamp`` (a chain's capture time, a bar's time) is compared
too, and so is the content: a digest of the rows (``aegis_core.archive.files.digests``) over every contract
column, which a re-capture with other values and the same times (the simulated market's, or a second
capture within the same second) cannot share. For per-symbol files the latest timestamp comes from the
footer's column statistics and the digest from the footer's metadata, taken by the writer as it wrote
the file, so those files are still not read; the lake's side is taken from the lake's own rows.
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
from aegis_core.archive.files import DIGEST_ALGORITHM, DIGEST_KEY, METADATA_KEY, digests, read_columns
from aegis_core.archive.lake import Lake
from aegis_core.archive.schemas import ARTEFACTS
from aegis_core.base.gates import GateResult, name_list

LAKE_CONSISTENCY = "lake_consistency"
CONSISTENCY_ARTEFACTS = ("vix", "stocks", "options", "gex_summary", "iv_rank")
_PER_SYMBOL_FILES = {"stocks": layout.stock_file, "options": layout.options_file}
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True)
class Tally:
    """A symbol's rows for the session, their latest ``timestamp`` (microseconds since the epoch) and
    the digest of their content."""

    rows: int
    latest: int | None = None
    digest: str | None = None

    def __str__(self) -> str:
        content = f", content {self.digest.rsplit(':', 1)[-1][-8:]}" if self.digest else ""
        if self.latest is None:
            return f"{self.rows} row(s){content}"
        instant = _EPOCH + dt.timedelta(microseconds=self.latest)
        return f"{self.rows} row(s) up to {instant:%Y-%m-%dT%H:%M:%S}Z{content}"


_NONE = Tally(0)


def _contract(frame: pl.DataFrame, artefact: str) -> pl.DataFrame | None:
    """``frame``'s contract columns in the contract's order and types (what the writer digested); None
    for a frame off the contract (``schema_contract`` names it), which then has no digest."""
    schema = ARTEFACTS[artefact].polars_schema
    if any(c not in frame.columns for c in schema):
        return None
    try:
        return frame.select(pl.col(c).cast(t) for c, t in schema.items())
    except pl.exceptions.PolarsError:
        return None


def _tallies(frame: pl.DataFrame, artefact: str) -> dict[str, Tally]:
    """``symbol -> Tally`` of a frame with ``symbol`` and ``timestamp`` (and, on contract, a digest)."""
    contract = _contract(frame, artefact)
    content = digests(contract) if contract is not None else {}
    per_symbol = frame.group_by("symbol").agg(pl.len(), pl.col("timestamp").max().dt.epoch("us"))
    return {str(s): Tally(int(n), t, content.get(str(s))) for s, n, t in per_symbol.iter_rows()}


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


def _footer_digest(meta: pq.FileMetaData) -> str | None:
    """The writer's digest in the footer's AEGIS metadata; None when absent or of another algorithm."""
    raw = (meta.metadata or {}).get(METADATA_KEY)
    try:
        digest = json.loads(raw).get(DIGEST_KEY) if raw else None
    except (ValueError, AttributeError):
        return None
    return digest if isinstance(digest, str) and digest.startswith(DIGEST_ALGORITHM + ":") else None


def _file_tally(path: Path, artefact: str) -> Tally:
    """One per-symbol file: its footer, or its rows where the footer cannot tell (no statistics, a file
    from before the digest, or one digested by another release of the hash)."""
    meta = pq.read_metadata(path)
    if "timestamp" not in meta.schema.names:  # off contract (schema_contract names it): rows only
        return Tally(meta.num_rows)
    latest, digest = _footer_latest(meta), _footer_digest(meta)
    if latest is None:
        column = read_columns(path, ["timestamp"]).column("timestamp")
        latest = pc.max(column.cast(pa.timestamp("us", tz="UTC")).cast(pa.int64())).as_py()
    if digest is None:
        frame = pl.from_arrow(read_columns(path).replace_schema_metadata(None))
        assert isinstance(frame, pl.DataFrame)
        contract = _contract(frame, artefact)
        digest = digests(contract, by=None)[""] if contract is not None and contract.height else None
    return Tally(meta.num_rows, latest, digest)


def file_tallies(root: Path, artefact: str, session: dt.date) -> dict[str, Tally]:
    """``symbol -> Tally`` of the session's end-of-day files (per-symbol files: their footers only)."""
    if artefact in _PER_SYMBOL_FILES:
        path_of = _PER_SYMBOL_FILES[artefact]
        out = {}
        for symbol in layout.symbols_with(root, artefact):
            path = path_of(root, symbol, session)
            if path.is_file():
                out[symbol] = _file_tally(path, artefact)
        return out
    path = layout.daily_file(root, artefact, session)
    if not path.is_file():
        return {}
    frame = pl.from_arrow(read_columns(path).replace_schema_metadata(None))
    assert isinstance(frame, pl.DataFrame)
    return _tallies(frame, artefact)


def lake_tallies(lake: Lake, artefact: str, session: dt.date) -> dict[str, Tally]:
    """``symbol -> Tally`` of the session in the artefact's Delta table (empty when the table is absent):
    its rows, read in one partition-pruned scan, digested as the writer digested the files."""
    frame = lake.read_sessions(artefact, session, session, ARTEFACTS[artefact].column_names)
    return {} if frame is None else _tallies(frame, artefact)


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
        if f.rows != k.rows:
            return f"{symbol} ({f.rows} vs {k.rows})"
        return f"{symbol} (another capture)" if f.latest != k.latest else f"{symbol} (other values)"

    summary = (
        f"{artefact} {session}: files and lake disagree for {len(differ)} of {len(symbols)} symbol(s): "
        f"{name_list([short(s) for s in differ], 5)}"
    )
    return GateResult(artefact, LAKE_CONSISTENCY, False, summary, tuple(differ), details)


def lake_consistency(root: Path, lake: Lake, artefact: str, session: dt.date) -> GateResult:
    """Rows, latest timestamp and content digest per symbol of ``artefact`` for ``session``: the files
    under ``root`` against the lake table."""
    if artefact not in CONSISTENCY_ARTEFACTS:
        raise ValueError(f"lake_consistency: {artefact!r} is not one of {list(CONSISTENCY_ARTEFACTS)}")
    try:
        files = file_tallies(root, artefact, session)
    except (OSError, pa.ArrowException) as exc:
        return GateResult(
            artefact, LAKE_CONSISTENCY, False, f"{artefact} {session}: files unreadable ({exc})"
        )
    return compare_tallies(artefact, session, files, lake_tallies(lake, artefact, session))
