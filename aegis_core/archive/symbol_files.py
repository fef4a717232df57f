"""One session's (or slot's) per-symbol files, written as the symbols arrive, and their lake rows.

A chain is written to its file as soon as it is fetched, on a few threads beside the fetch, and then
handed to the lake writer, which streams it into the table's one transaction for the session: memory
holds the chains in flight, never the session, and the commit comes right after the last chain. What
each write saw (rows, bytes, schema, strike range) is kept as ``FileStats`` for the checks of the run.

The lake rows replaced are those of the symbols the write covers. A covered symbol that gets no new
file (it failed at the source, or every row was rejected) keeps its old file, and the lake gets that
file's rows again: the lake mirrors the files, symbol by symbol, whatever happened.
"""

from __future__ import annotations

import datetime as dt
import logging
import queue
import threading
import time
from collections.abc import Callable, Collection, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from aegis_core.archive.files import read_columns, write_table
from aegis_core.archive.schemas import Artefact

if TYPE_CHECKING:
    from aegis_core.archive.store import Archive

log = logging.getLogger(__name__)

FILE_THREADS = 4  # parquet encoding releases the GIL; a few threads hide fsync latency
MAX_PENDING = 16  # chains handed over but not yet written: beyond this, add() waits (back-pressure)
LAKE_BATCH_ROWS = 65_536  # written chains are handed to the lake writer in batches of about this size


@dataclass(frozen=True)
class FileStats:
    """What one file write saw: its rows, size, Arrow schema and (chains) the strike range and the
    earliest and latest capture ``timestamp``."""

    path: Path
    rows: int
    bytes: int
    schema: pa.Schema
    strikes: tuple[float, float] | None = None
    captured: tuple[dt.datetime, dt.datetime] | None = None


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


def _bounds(table: pa.Table, column: str) -> tuple[Any, Any] | None:
    """(lowest, highest) of ``column``; None when the table has no such column or no value in it."""
    if column not in table.column_names or not table.num_rows:
        return None
    values = table.column(column)
    kind = values.type
    if pa.types.is_timestamp(kind):  # as integers: a zoned timestamp's as_py() imports pandas (~1 s)
        bounds = pc.min_max(values.cast(pa.int64()))
        lo, hi = bounds["min"].as_py(), bounds["max"].as_py()
        return None if lo is None else (_instant(lo, kind), _instant(hi, kind))
    bounds = pc.min_max(values)
    lo, hi = bounds["min"].as_py(), bounds["max"].as_py()
    return None if lo is None else (lo, hi)


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MICROS_PER = {"s": 1_000_000, "ms": 1_000, "us": 1}


def _instant(value: int, kind: pa.TimestampType) -> dt.datetime:
    """A timestamp column's integer as the aware datetime ``as_py`` gives (UTC; microseconds)."""
    micros = value // 1000 if kind.unit == "ns" else value * _MICROS_PER[kind.unit]
    instant = _EPOCH + dt.timedelta(microseconds=micros)
    return instant if kind.tz else instant.replace(tzinfo=None)


def refuse_handover(
    artefact: Artefact, symbol: str, covered: Collection[str], handed: Collection[str]
) -> None:
    """Raise when ``symbol`` is not one the write covers, or has been handed over already."""
    if symbol not in covered:
        raise ValueError(f"{artefact.name}: {symbol} is not one of the symbols this write covers")
    if symbol in handed:
        raise ValueError(f"{artefact.name}: {symbol} handed over twice")


class _Aborted(RuntimeError):
    """The write was abandoned (the run failed): the lake transaction must not commit."""


_END = object()


class SymbolFiles:
    """Write ``artefact``'s per-symbol files for one session (and slot) as the symbols are added.

    Use as a context manager: ``add(symbol, frame)`` for each symbol, then ``close()`` waits for the
    files and the lake commit and returns the report. ``symbols``: the symbols this write covers (their
    lake rows are replaced); ``existing(symbol)``: the files such a symbol already has, mirrored again
    when it gets no new one. Leaving the block on an exception commits nothing to the lake (the files
    written by then stay, each whole; the lake_consistency check names them).
    """

    def __init__(
        self,
        archive: Archive,
        artefact: Artefact,
        path_of: Callable[[str], Path],
        session: dt.date,
        slot: str | None,
        metadata: dict[str, str],
        symbols: Sequence[str],
        existing: Callable[[str], list[Path]],
    ) -> None:
        archive.claim(artefact)  # the guard, before the first file
        self._archive, self._artefact, self._path_of = archive, artefact, path_of
        self._session, self._slot, self._metadata = session, slot, metadata
        self._covered, self._existing = sorted(set(symbols)), existing
        self._started = time.perf_counter()
        self._pool = ThreadPoolExecutor(FILE_THREADS, thread_name_prefix=f"write-{artefact.name}")
        self._room = threading.BoundedSemaphore(MAX_PENDING)
        self._writes: dict[str, Future[FileStats]] = {}
        self._to_lake: queue.Queue[object] = queue.Queue(MAX_PENDING)
        self._lake_thread = ThreadPoolExecutor(1, thread_name_prefix=f"lake-{artefact.name}")
        self._lake: Future[int] | None = None  # the lake transaction, started with the first file

    def __enter__(self) -> SymbolFiles:
        return self

    def __exit__(self, kind, *_: object) -> None:
        if self._lake is not None and not self._lake.done():  # left before close(): commit nothing
            self._offer(_Aborted("the write was abandoned"))
        self._pool.shutdown(wait=True, cancel_futures=kind is not None)
        self._lake_thread.shutdown(wait=True)

    @property
    def symbols(self) -> set[str]:
        """The symbols handed over so far (each gets a file)."""
        return set(self._writes)

    def add(self, symbol: str, frame: pl.DataFrame | pa.Table) -> None:
        """Write ``symbol``'s rows to its file, on a writer thread; no rows, no file. ``frame``: the
        contract's columns, as a polars frame or an Arrow table (``Artefact.arrow_table``)."""
        if not len(frame):
            return
        refuse_handover(self._artefact, symbol, self._covered, self._writes)
        if self._lake is None:
            self._lake = self._lake_thread.submit(self._commit)
        self._room.acquire()  # back-pressure: the fetch waits when the disk falls behind
        future = self._pool.submit(self._write, symbol, frame)
        future.add_done_callback(lambda _: self._room.release())
        self._writes[symbol] = future

    def _write(self, symbol: str, frame: pl.DataFrame | pa.Table) -> FileStats:
        artefact = self._artefact
        table = artefact.arrow_table(frame) if isinstance(frame, pa.Table) else artefact.to_arrow(frame)
        path = self._path_of(symbol)
        size = write_table(path, table, self._metadata)
        self._offer(table)
        strikes, captured = _bounds(table, "strike_price"), _bounds(table, "timestamp")
        return FileStats(path, table.num_rows, size, table.schema, strikes, captured)

    def _offer(self, item: object) -> None:
        """Hand ``item`` to the lake writer, unless it has already stopped (its error is raised at close)."""
        assert self._lake is not None
        while not self._lake.done():
            try:
                self._to_lake.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def close(self) -> WriteReport:
        """Wait for every file (the first write error is raised) and for the lake commit."""
        report = WriteReport(self._artefact.name)
        for symbol, future in self._writes.items():
            report.stats[symbol] = future.result()
        self._pool.shutdown(wait=True)
        report.files = [s.path for s in report.stats.values()]
        report.rows = sum(s.rows for s in report.stats.values())
        report.bytes = sum(s.bytes for s in report.stats.values())
        if self._lake is None:  # nothing written: the table is left as it is
            report.lake_version = self._archive.lake.version(self._artefact.name)
        else:
            for path in self._kept_files():
                if (table := self._read_kept(path)) is not None:
                    self._offer(table)
            self._offer(_END)
            report.lake_version = self._lake.result()
        report.seconds = time.perf_counter() - self._started
        return report

    def _kept_files(self) -> list[Path]:
        """The files of covered symbols that got no new one: their rows go to the lake again."""
        return [p for s in self._covered if s not in self._writes for p in self._existing(s)]

    def _read_kept(self, path: Path) -> pa.Table | None:
        """An old file's rows in the contract; None (said in the log) when it cannot be: its lake rows
        are then dropped and lake_consistency names the file."""
        try:
            return _read(path).select(self._artefact.column_names).cast(self._artefact.arrow_schema)
        except (OSError, pa.ArrowException, KeyError, ValueError) as exc:
            log.warning("%s: %s cannot be mirrored to the lake again: %s", self._artefact.name, path, exc)
            return None

    def _commit(self) -> int:
        tries = iter([self._streamed])

        def batches() -> Iterator[pa.RecordBatch]:
            # The first try takes the tables as they are written; a retry after a lost commit race
            # reads the files, which by then hold the same rows.
            return next(tries, self._reread)()

        return self._archive.lake.replace_batches(
            self._artefact,
            batches,
            sessions=[self._session],
            slot=self._slot,
            symbols=self._covered,
            metadata=self._archive.lake_metadata(self._session),
        )

    def _streamed(self) -> Iterator[pa.RecordBatch]:
        """The tables as they are written, gathered into batches of about ``LAKE_BATCH_ROWS`` rows
        (whole symbols, in order): one small batch per symbol costs the lake writer more than the rows."""
        held: list[pa.Table] = []
        rows = 0
        while (item := self._to_lake.get()) is not _END:
            if isinstance(item, _Aborted):
                raise item
            assert isinstance(item, pa.Table)
            held.append(item)
            rows += item.num_rows
            if rows >= LAKE_BATCH_ROWS:
                yield from self._lake_batches(held)
                held, rows = [], 0
        if held:
            yield from self._lake_batches(held)

    def _reread(self) -> Iterator[pa.RecordBatch]:
        """Every covered symbol's rows from the files, as the stream would have had them."""
        for symbol in self._covered:
            if (written := self._writes.get(symbol)) is not None:
                yield from self._lake_batches([_read(written.result().path)])
            else:
                kept = (self._read_kept(path) for path in self._existing(symbol))
                yield from self._lake_batches([t for t in kept if t is not None])

    def _lake_batches(self, tables: list[pa.Table]) -> list[pa.RecordBatch]:
        """``tables`` (whole symbols) as one batch with the lake's partition columns."""
        if not tables:
            return []
        table = pa.concat_tables(tables).combine_chunks()
        lake = self._archive.lake
        return lake.with_partition_columns(self._artefact, table, self._session, self._slot).to_batches()


def _read(path: Path) -> pa.Table:
    return read_columns(path).replace_schema_metadata(None)
