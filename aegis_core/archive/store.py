"""The archive as one object: contract-checked parquet files plus their Delta tables.

Every write goes through here, so the layout, the column contract, atomicity, the sim/real guard
and the lake mirror are applied the same way for every artefact.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pyarrow as pa

from aegis_core.archive import guard, layout
from aegis_core.archive.files import write_table
from aegis_core.archive.lake import KIND_PROPERTY, SESSION_COLUMN, Lake
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
from aegis_core.archive.symbol_files import SymbolFiles, WriteReport
from aegis_core.archive.writer_process import SymbolFilesProcess
from aegis_core.calendar import NY, SLOT_LENGTH

WRITER = "aegis-pipelines"
SessionFiles = SymbolFiles | SymbolFilesProcess  # one interface, in this process or a child of its own


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

    def lake_metadata(self, session: dt.date) -> dict[str, str]:
        """What every lake commit records: the kind of data (the guard reads it) and the session."""
        return {KIND_PROPERTY: guard.data_kind(self.source), "aegis.session": session.isoformat()}

    def claim(self, artefact: Artefact) -> None:
        """The one guard for both stores, before anything is written: same kind of data, contract schema."""
        guard.claim(self.root, self.source)
        guard.check_lake(self.lake, self.source, artefact)

    def _write_file(self, artefact: Artefact, path: Path, table: pa.Table, meta: dict) -> WriteReport:
        self.claim(artefact)
        size = write_table(path, table, meta)
        return WriteReport(artefact.name, files=[path], rows=table.num_rows, bytes=size)

    def _mirror(
        self,
        report: WriteReport,
        artefact: Artefact,
        frame: pl.DataFrame,
        session: dt.date,
    ) -> None:
        frame = frame.with_columns(pl.lit(session).alias(SESSION_COLUMN))
        report.lake_version = self.lake.replace(
            artefact, frame, sessions=[session], metadata=self.lake_metadata(session)
        )

    def _session_files(
        self, artefact: Artefact, path_of: Callable[[str], Path], session: dt.date, symbols: Sequence[str]
    ) -> SymbolFiles:
        def existing(symbol: str) -> list[Path]:
            return [path] if (path := path_of(symbol)).is_file() else []

        meta = self._metadata(session)
        return SymbolFiles(self, artefact, path_of, session, None, meta, symbols, existing)

    def options_files(
        self, session: dt.date, symbols: Sequence[str], *, own_process: bool = False
    ) -> SessionFiles:
        """The writer of the session's chain files for ``symbols``, fed a chain at a time as they arrive;
        ``own_process``: it runs in a process of its own, off the fetch's interpreter lock."""
        if own_process:
            return SymbolFilesProcess(self, OPTIONS, "options_files", (session, list(symbols)))
        path_of = lambda s: layout.options_file(self.root, s, session)  # noqa: E731
        return self._session_files(OPTIONS, path_of, session, symbols)

    def intraday_files(
        self,
        slot_start: dt.datetime,
        captured_at: dt.datetime,
        symbols: Sequence[str],
        *,
        own_process: bool = False,
    ) -> SessionFiles:
        """The writer of one slot's snapshot files; ``finish_intraday`` then removes the slot's older ones.
        ``own_process`` as for ``options_files``."""
        if own_process:
            args = (slot_start, captured_at, list(symbols))
            return SymbolFilesProcess(self, OPTIONS_INTRADAY, "intraday_files", args)
        local = slot_start.astimezone(NY)
        return SymbolFiles(
            self,
            OPTIONS_INTRADAY,
            lambda s: layout.intraday_file(self.root, s, captured_at),
            local.date(),
            f"{local:%H:%M}",
            self._metadata(local.date(), captured_at=captured_at.isoformat()),
            symbols,
            lambda s: self._slot_files(s, slot_start),
        )

    def _slot_files(self, symbol: str, slot_start: dt.datetime) -> list[Path]:
        """``symbol``'s snapshot files inside the slot starting at ``slot_start``."""
        local = slot_start.astimezone(NY)
        session = local.date()
        return [
            path
            for t, path in sorted(layout.intraday_files(self.root, symbol, session).items())
            if local <= dt.datetime.combine(session, t, NY) < local + SLOT_LENGTH
        ]

    def _daily(self, artefact: Artefact, frame: pl.DataFrame, session: dt.date) -> WriteReport:
        start = time.perf_counter()
        frame = artefact.conform(frame)
        path = layout.daily_file(self.root, artefact.name, session)
        report = self._write_file(artefact, path, artefact.to_arrow(frame), self._metadata(session))
        self._mirror(report, artefact, frame, session)
        report.seconds = time.perf_counter() - start
        return report

    # --- one method per artefact -------------------------------------------------------------

    def write_vix(self, frame: pl.DataFrame, session: dt.date) -> WriteReport:
        return self._daily(VIX, frame, session)

    def write_stocks(self, frame: pl.DataFrame, session: dt.date) -> WriteReport:
        def writer(covered: list[str]) -> SymbolFiles:
            path_of = lambda s: layout.stock_file(self.root, s, session)  # noqa: E731
            return self._session_files(STOCKS, path_of, session, covered)

        return _write_by_symbol(STOCKS, frame, writer)

    def write_options(self, frame: pl.DataFrame, session: dt.date) -> WriteReport:
        return _write_by_symbol(OPTIONS, frame, lambda covered: self.options_files(session, covered))

    def write_gex_summary(self, frame: pl.DataFrame, session: dt.date) -> WriteReport:
        return self._daily(GEX_SUMMARY, frame, session)

    def write_iv_rank(self, frame: pl.DataFrame, session: dt.date) -> WriteReport:
        return self._daily(IV_RANK, frame, session)

    def write_atm_iv(self, frame: pl.DataFrame, session: dt.date) -> WriteReport:
        """Lake only: ATM IV has no file in the archive contract."""
        start = time.perf_counter()
        frame = ATM_IV.conform(frame)
        self.claim(ATM_IV)
        report = WriteReport(ATM_IV.name, rows=frame.height)
        self._mirror(report, ATM_IV, frame, session)
        report.seconds = time.perf_counter() - start
        return report

    def write_intraday(
        self, frame: pl.DataFrame, slot_start: dt.datetime, captured_at: dt.datetime
    ) -> WriteReport:
        """One slot's snapshots from one frame; older files of the same slot are removed after."""

        def writer(covered: list[str]) -> SessionFiles:
            return self.intraday_files(slot_start, captured_at, covered)

        report = _write_by_symbol(OPTIONS_INTRADAY, frame, writer)
        return self.finish_intraday(report, slot_start)

    def finish_intraday(self, report: WriteReport, slot_start: dt.datetime) -> WriteReport:
        """Remove the slot's files that the new snapshots (``report``) replace: a re-captured slot keeps
        one file per symbol. Only after the new ones landed, so a slot is never left without."""
        keep = set(report.files)
        for path in report.files:
            for old in self._slot_files(path.parts[-4], slot_start):
                if old not in keep:
                    old.unlink(missing_ok=True)
                    report.replaced += 1
        return report


def _write_by_symbol(
    artefact: Artefact, frame: pl.DataFrame, writer: Callable[[list[str]], SessionFiles]
) -> WriteReport:
    """Every symbol of ``frame`` (in order of first appearance, rows in their order) through the writer
    covering those symbols. The frame is converted to Arrow once and each symbol's table is a zero-copy
    slice of it: converting 712 small frames one by one costs more than encoding their files."""
    tables = _tables_by_symbol(artefact, frame)
    with writer([symbol for symbol, _ in tables]) as files:
        for symbol, table in tables:
            files.add(symbol, table)
        return files.close()


def _tables_by_symbol(artefact: Artefact, frame: pl.DataFrame) -> list[tuple[str, pa.Table]]:
    """One Arrow table per symbol of ``frame`` (symbols in order of first appearance, rows in order)."""
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
        out.append((str(symbol), table.slice(offset, length)))
        offset += length
    return out
