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

from aegis_core.archive import guard, layout
from aegis_core.archive.files import write_artefact
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

    def _write_files(
        self, artefact: Artefact, items: Iterable[tuple[Path, pl.DataFrame]], meta: dict
    ) -> WriteReport:
        guard.claim(self.root, self.source)
        report = WriteReport(artefact.name)
        items = list(items)
        with ThreadPoolExecutor(_FILE_THREADS) as pool:
            sizes = list(pool.map(lambda it: write_artefact(it[0], artefact, it[1], meta), items))
        report.files = [p for p, _ in items]
        report.rows = sum(f.height for _, f in items)
        report.bytes = sum(sizes)
        return report

    def _mirror(
        self,
        report: WriteReport,
        artefact: Artefact,
        frame: pl.DataFrame,
        session: dt.date,
        slot: str | None = None,
    ) -> None:
        frame = frame.with_columns(pl.lit(session).alias(SESSION_COLUMN))
        if slot is not None:
            frame = frame.with_columns(pl.lit(slot).alias(SLOT_COLUMN))
        report.lake_version = self.lake.replace(
            artefact,
            frame,
            sessions=[session],
            slot=slot,
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
        groups = frame.partition_by("symbol", as_dict=True, maintain_order=True) if frame.height else {}
        items = [(path_of(key[0]), part) for key, part in groups.items()]
        report = self._write_files(artefact, items, self._metadata(session, **meta))
        self._mirror(report, artefact, frame, session, slot)
        report.seconds = time.perf_counter() - start
        return report

    def _daily(self, artefact: Artefact, frame: pl.DataFrame, session: dt.date) -> WriteReport:
        start = time.perf_counter()
        frame = artefact.conform(frame)
        report = self._write_files(
            artefact, [(layout.daily_file(self.root, artefact.name, session), frame)], self._metadata(session)
        )
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
