"""The archive as one object: contract-checked parquet files plus their Delta tables.

Every write goes through here, so the layout, the column contract, atomicity, the sim/real guard
and the lake mirror are applied the same way for every artefact.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pyarrow as pa

from aegis_core.archive import guard, layout
from aegis_core.archive.files import write_table
from aegis_core.archive.lake import SESSION_COLUMN, Lake
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
from aegis_core.calendar import NY, SLOT_LENGTH

WRITER = "aegis-pipelines"


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
        return {"aegis.source": guard.data_kind(self.source), "aegis.session": session.isoformat()}

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

    def _symbol_files(
        self,
        artefact: Artefact,
        path_of: Callable[[str], Path],
        session: dt.date,
        slot: str | None = None,
        **meta: str,
    ) -> SymbolFiles:
        return SymbolFiles(self, artefact, path_of, session, slot, self._metadata(session, **meta))

    def options_files(self, session: dt.date) -> SymbolFiles:
        """The writer of the session's chain files, fed one symbol at a time as chains arrive."""
        return self._symbol_files(OPTIONS, lambda s: layout.options_file(self.root, s, session), session)

    def intraday_files(self, slot_start: dt.datetime, captured_at: dt.datetime) -> SymbolFiles:
        """The writer of one slot's snapshot files; ``finish_intraday`` then removes the slot's older ones."""
        local = slot_start.astimezone(NY)
        return self._symbol_files(
            OPTIONS_INTRADAY,
            lambda s: layout.intraday_file(self.root, s, captured_at),
            local.date(),
            slot=f"{local:%H:%M}",
            captured_at=captured_at.isoformat(),
        )

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
        files = self._symbol_files(STOCKS, lambda s: layout.stock_file(self.root, s, session), session)
        return _write_by_symbol(files, frame)

    def write_options(self, frame: pl.DataFrame, session: dt.date) -> WriteReport:
        return _write_by_symbol(self.options_files(session), frame)

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
        report = _write_by_symbol(self.intraday_files(slot_start, captured_at), frame)
        return self.finish_intraday(report, slot_start)

    def finish_intraday(self, report: WriteReport, slot_start: dt.datetime) -> WriteReport:
        """Remove the slot's files that the new snapshots (``report``) replace: a re-captured slot keeps
        one file per symbol. Only after the new ones landed, so a slot is never left without."""
        local = slot_start.astimezone(NY)
        session = local.date()
        keep = set(report.files)
        for path in report.files:
            symbol = path.parts[-4]
            for t, old in layout.intraday_files(self.root, symbol, session).items():
                when = dt.datetime.combine(session, t, NY)
                if local <= when < local + SLOT_LENGTH and old not in keep:
                    old.unlink(missing_ok=True)
                    report.replaced += 1
        return report


def _write_by_symbol(files: SymbolFiles, frame: pl.DataFrame) -> WriteReport:
    """Every symbol of ``frame`` (in order of first appearance, rows in their order) through ``files``."""
    with files:
        if frame.height:
            for (symbol,), rows in frame.partition_by("symbol", maintain_order=True, as_dict=True).items():
                files.add(str(symbol), rows)
        return files.close()
