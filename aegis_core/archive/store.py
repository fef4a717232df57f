"""The archive as one object: contract-checked parquet files plus their Delta tables.

Every write goes through here, so the layout, the column contract, atomicity, the sim/real guard
and the lake mirror are applied the same way for every artefact.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
import pyarrow as pa

from aegis_core.archive import guard, layout
from aegis_core.archive.files import write_table
from aegis_core.archive.lake import SESSION_COLUMN, SLOT_COLUMN, Lake
from aegis_core.archive.schemas import (
    ATM_IV,
    GEX_SUMMARY,
    IV_RANK,
    OPTIONS,
    OPTIONS_INTRADAY,
    STOCKS,
    VIX,
    Artefact,
)
from aegis_core.calendar import NY, SLOT_LENGTH

WRITER = "aegis-pipelines"
_FILE_THREADS = 4  # parquet encoding releases the GIL; a few threads hide fsync latency
FILE_BATCH_ROWS = 65_536  # per-symbol files are converted to Arrow and written this many rows at a time


@dataclass
class WriteReport:
    artefact: str
    files: list[Path] = field(default_factory=list)
    rows: int = 0
    bytes: int = 0
    replaced: int = 0
    lake_version: int | None = None
    seconds: float = 0.0

    @property
    def symbols(self) -> int:
        return len(self.files)


@dataclass(frozen=True)
class Archive:
    root: Path
    lake: Lake
    source: str  # "sim" or a real source name ("polygon")

    def _metadata(self, session: dt.date, **extra: str) -> dict[str, str]:
        return {
            "source": guard.data_kind(self.source),
            "provider": self.source,
            "writer": WRITER,
            "session": session.isoformat(),
            **extra,
        }

    def preflight(self) -> None:
        """Refuse now, before anything is fetched, a run the guard would refuse at its first write."""
        guard.preflight(self.root, self.lake, self.source)

    def _claim(self, artefact: Artefact) -> None:
        """The one guard for both stores, before anything is written: same kind of data, contract schema."""
        guard.claim(self.root, self.source)
        guard.check_lake(self.lake, self.source, artefact)

    def _write_files(
        self, artefact: Artefact, items: Iterable[tuple[Path, pa.Table]], meta: dict
    ) -> WriteReport:
        """Write already-conformed Arrow tables, one file each, on a few threads."""
        self._claim(artefact)
        report = WriteReport(artefact.name)
        items = list(items)
        with ThreadPoolExecutor(_FILE_THREADS) as pool:
            sizes = list(pool.map(lambda it: write_table(it[0], it[1], meta), items))
        report.files = [p for p, _ in items]
        report.rows = sum(t.num_rows for _, t in items)
        report.bytes = sum(sizes)
        return report

    def _mirror(
        self,
        report: WriteReport,
        artefact: Artefact,
        frame: pl.DataFrame,
        session: dt.date,
        slot: str | None = None,
        symbols: list[str] | None = None,
    ) -> None:
        if symbols is not None and not symbols:  # nothing written: the table is left as it is
            report.lake_version = self.lake.version(artefact.name)
            return
        frame = frame.with_columns(pl.lit(session).alias(SESSION_COLUMN))
        if slot is not None:
            frame = frame.with_columns(pl.lit(slot).alias(SLOT_COLUMN))
        report.lake_version = self.lake.replace(
            artefact,
            frame,
            sessions=[session],
            slot=slot,
            symbols=symbols,
            metadata={"aegis.source": guard.data_kind(self.source), "aegis.session": session.isoformat()},
        )

    def _per_symbol(
        self,
        artefact: Artefact,
        frame: pl.DataFrame,
        path_of: Callable[[str], Path],
        session: dt.date,
        slot: str | None = None,
        **meta: str,
    ) -> WriteReport:
        start = time.perf_counter()
        frame = artefact.conform(frame)
        metadata = self._metadata(session, **meta)
        report = WriteReport(artefact.name)
        symbols: list[str] = []
        # In groups of whole symbols of about FILE_BATCH_ROWS rows: only one group's Arrow copy is held.
        for group in _symbol_groups(frame, FILE_BATCH_ROWS):
            tables = _tables_by_symbol(artefact, group)
            part = self._write_files(
                artefact, [(path_of(symbol), table) for symbol, table in tables], metadata
            )
            symbols += [symbol for symbol, _ in tables]
            report.files += part.files
            report.rows += part.rows
            report.bytes += part.bytes
            del tables
        # Subset semantics: the symbols written replace their own rows only; every other symbol's
        # rows of the session stay, as their files do (a subset run, or a symbol that failed).
        self._mirror(report, artefact, frame, session, slot, symbols=symbols)
        report.seconds = time.perf_counter() - start
        return report

    def _daily(self, artefact: Artefact, frame: pl.DataFrame, session: dt.date) -> WriteReport:
        start = time.perf_counter()
        frame = artefact.conform(frame)
        path = layout.daily_file(self.root, artefact.name, session)
        report = self._write_files(artefact, [(path, artefact.to_arrow(frame))], self._metadata(session))
        self._mirror(report, artefact, frame, session)
        report.seconds = time.perf_counter() - start
        return report

    # --- one method per artefact -------------------------------------------------------------

    def write_vix(self, frame: pl.DataFrame, session: dt.date) -> WriteReport:
        return self._daily(VIX, frame, session)

    def write_stocks(self, frame: pl.DataFrame, session: dt.date) -> WriteReport:
        return self._per_symbol(STOCKS, frame, lambda s: layout.stock_file(self.root, s, session), session)

    def write_options(self, frame: pl.DataFrame, session: dt.date) -> WriteReport:
        return self._per_symbol(OPTIONS, frame, lambda s: layout.options_file(self.root, s, session), session)

    def write_gex_summary(self, frame: pl.DataFrame, session: dt.date) -> WriteReport:
        return self._daily(GEX_SUMMARY, frame, session)

    def write_iv_rank(self, frame: pl.DataFrame, session: dt.date) -> WriteReport:
        return self._daily(IV_RANK, frame, session)

    def write_atm_iv(self, frame: pl.DataFrame, session: dt.date) -> WriteReport:
        """Lake only: ATM IV has no file in the archive contract."""
        start = time.perf_counter()
        frame = ATM_IV.conform(frame)
        self._claim(ATM_IV)
        report = WriteReport(ATM_IV.name, rows=frame.height)
        self._mirror(report, ATM_IV, frame, session)
        report.seconds = time.perf_counter() - start
        return report

    def write_intraday(
        self, frame: pl.DataFrame, slot_start: dt.datetime, captured_at: dt.datetime
    ) -> WriteReport:
        """One slot's snapshots; older files of the same slot are removed after the new ones land."""
        local = slot_start.astimezone(NY)
        session = local.date()
        report = self._per_symbol(
            OPTIONS_INTRADAY,
            frame,
            lambda s: layout.intraday_file(self.root, s, captured_at),
            session,
            slot=f"{local:%H:%M}",
            captured_at=captured_at.isoformat(),
        )
        keep = set(report.files)
        for path in report.files:
            symbol = path.parts[-4]
            for t, old in layout.intraday_files(self.root, symbol, session).items():
                when = dt.datetime.combine(session, t, NY)
                if local <= when < local + SLOT_LENGTH and old not in keep:
                    old.unlink(missing_ok=True)
                    report.replaced += 1
        return report


def _symbol_groups(frame: pl.DataFrame, rows: int) -> list[pl.DataFrame]:
    """``frame`` in zero-copy slices of whole symbols, each of about ``rows`` rows (a symbol larger
    than that alone), symbols in order of first appearance with their rows in their order."""
    if not frame.height:
        return [frame]
    runs = frame.get_column("symbol").rle().struct.unnest()
    if runs.get_column("value").n_unique() < runs.height:  # a symbol in several runs: gather its rows
        first_row = pl.col("_row").min().over("symbol")
        frame = frame.with_row_index("_row").sort(first_row, maintain_order=True).drop("_row")
        runs = frame.get_column("symbol").rle().struct.unnest()
    out, offset, size = [], 0, 0
    for length in runs.get_column("len"):
        if size and size + length > rows:
            out.append(frame.slice(offset, size))
            offset, size = offset + size, 0
        size += length
    out.append(frame.slice(offset, size))
    return out


def _tables_by_symbol(artefact: Artefact, frame: pl.DataFrame) -> list[tuple[str, pa.Table]]:
    """One Arrow table per symbol (symbols in order of first appearance, rows in their order).

    The frame is converted to Arrow once and each symbol's table is a zero-copy slice of it: converting
    712 small frames one by one cost more than encoding their parquet files.
    """
    if not frame.height:
        return []
    runs = frame.get_column("symbol").rle().struct.unnest()
    if runs.get_column("value").n_unique() < runs.height:  # a symbol in several runs: gather its rows
        first_row = pl.col("_row").min().over("symbol")
        frame = frame.with_row_index("_row").sort(first_row, maintain_order=True).drop("_row")
        runs = frame.get_column("symbol").rle().struct.unnest()
    table = artefact.to_arrow(frame)
    out, offset = [], 0
    for length, symbol in runs.iter_rows():
        out.append((symbol, table.slice(offset, length)))
        offset += length
    return out
