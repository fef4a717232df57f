"""One session's (or slot's) per-symbol files, written as the symbols arrive, then mirrored to the lake.

A chain is written to its file as soon as it is fetched, on a few threads beside the fetch, and then
dropped: memory holds the chains in flight, never the session. When every chain is in, the lake gets
the files just written, read back one at a time, in one transaction. What each write saw (rows, bytes,
schema, strike range) is kept as ``FileStats`` for the checks of the same run.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from aegis_core.archive.files import write_table
from aegis_core.archive.schemas import Artefact

if TYPE_CHECKING:
    from aegis_core.archive.store import Archive

FILE_THREADS = 4  # parquet encoding releases the GIL; a few threads hide fsync latency
MAX_PENDING = 16  # chains handed over but not yet written: beyond this, add() waits (back-pressure)


@dataclass(frozen=True)
class FileStats:
    """What one file write saw: its rows, size, Arrow schema and (chains) the strike range."""

    path: Path
    rows: int
    bytes: int
    schema: pa.Schema
    strikes: tuple[float, float] | None = None


@dataclass
class WriteReport:
    artefact: str
    files: list[Path] = field(default_factory=list)
    rows: int = 0
    bytes: int = 0
    replaced: int = 0
    lake_version: int | None = None
    seconds: float = 0.0
    stats: dict[str, FileStats] = field(default_factory=dict)  # per-symbol writes: symbol -> stats

    @property
    def symbols(self) -> int:
        return len(self.files)


def _strike_range(table: pa.Table) -> tuple[float, float] | None:
    if "strike_price" not in table.column_names or not table.num_rows:
        return None
    bounds = pc.min_max(table.column("strike_price"))
    lo, hi = bounds["min"].as_py(), bounds["max"].as_py()
    return None if lo is None else (float(lo), float(hi))


class SymbolFiles:
    """Write ``artefact``'s per-symbol files for one session (and slot) as the symbols are added.

    Use as a context manager: ``add(symbol, frame)`` for each symbol, then ``close()`` mirrors the
    written files to the lake and returns the report. Leaving the block on an exception waits for the
    writes in flight and commits nothing to the lake (the run failed: the files written stay, each whole).
    """

    def __init__(
        self,
        archive: Archive,
        artefact: Artefact,
        path_of: Callable[[str], Path],
        session,
        slot: str | None,
        metadata: dict[str, str],
    ) -> None:
        archive.claim(artefact)  # the guard, before the first file
        self._archive, self._artefact, self._path_of = archive, artefact, path_of
        self._session, self._slot, self._metadata = session, slot, metadata
        self._started = time.perf_counter()
        self._pool = ThreadPoolExecutor(FILE_THREADS, thread_name_prefix=f"write-{artefact.name}")
        self._room = threading.BoundedSemaphore(MAX_PENDING)
        self._writes: dict[str, Future[FileStats]] = {}

    def __enter__(self) -> SymbolFiles:
        return self

    def __exit__(self, kind, *_: object) -> None:
        self._pool.shutdown(wait=True, cancel_futures=kind is not None)

    @property
    def symbols(self) -> set[str]:
        """The symbols handed over so far (each gets a file)."""
        return set(self._writes)

    def add(self, symbol: str, frame: pl.DataFrame) -> None:
        """Write ``symbol``'s rows (contract columns) to its file, on a writer thread; no rows, no file."""
        if not frame.height:
            return
        if symbol in self._writes:
            raise ValueError(f"{self._artefact.name}: {symbol} handed over twice")
        self._room.acquire()  # back-pressure: the fetch waits when the disk falls behind
        future = self._pool.submit(self._write, symbol, frame)
        future.add_done_callback(lambda _: self._room.release())
        self._writes[symbol] = future

    def _write(self, symbol: str, frame: pl.DataFrame) -> FileStats:
        table = self._artefact.to_arrow(frame)
        path = self._path_of(symbol)
        size = write_table(path, table, self._metadata)
        return FileStats(path, table.num_rows, size, table.schema, _strike_range(table))

    def close(self) -> WriteReport:
        """Wait for every file (the first write error is raised), then mirror them to the lake."""
        report = WriteReport(self._artefact.name)
        for symbol, future in self._writes.items():
            report.stats[symbol] = future.result()
        self._pool.shutdown(wait=True)
        report.files = [s.path for s in report.stats.values()]
        report.rows = sum(s.rows for s in report.stats.values())
        report.bytes = sum(s.bytes for s in report.stats.values())
        # Subset semantics: the symbols written replace their own rows only; every other symbol's rows
        # of the session stay, as their files do (a subset run, or a symbol that failed).
        symbols = sorted(report.stats)
        if symbols:
            report.lake_version = self._archive.lake.replace_batches(
                self._artefact,
                lambda: self._batches([report.stats[s].path for s in symbols]),
                sessions=[self._session],
                slot=self._slot,
                symbols=symbols,
                metadata=self._archive.lake_metadata(self._session),
            )
        else:  # nothing written: the table is left as it is
            report.lake_version = self._archive.lake.version(self._artefact.name)
        report.seconds = time.perf_counter() - self._started
        return report

    def _batches(self, paths: list[Path]) -> Iterator[pa.RecordBatch]:
        """The files just written, one at a time, with the lake's partition columns."""
        for path in paths:
            table = pq.read_table(path).replace_schema_metadata(None)
            yield from self._archive.lake.with_partition_columns(
                self._artefact, table, self._session, self._slot
            ).to_batches()
