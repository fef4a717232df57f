"""A session's per-symbol files written by a process of their own, beside the fetch.

The fetch is bound by one interpreter lock: the event loop, the HTTP client and the parsing threads
share it, and parquet encoding, fsyncs and the lake's stream took a third of it when they ran in the
same process. ``SymbolFilesProcess`` has the interface of ``SymbolFiles`` (``add``, ``close``,
``symbols``, a context manager) and hands each chain, as an Arrow IPC stream, to a child interpreter
that runs an ordinary ``SymbolFiles``: same files, same lake transaction, same guarantees.

- Back-pressure: the child reads a chain only when its writer has room; until then the parent's
  ``add`` waits on the socket, as it would on the writer's own bound.
- Nothing half-done: leaving the block on an exception, or the parent dying (the child reads the end
  of the stream), abandons the write in the child, which commits nothing to the lake.
- Errors: the child's error (a failed write, the guard's refusal) is raised by the parent's next
  ``add`` or by ``close``, with the child's traceback as a note.
- The child gets the writer's tunables (``FILE_THREADS``, ``MAX_PENDING``, ``LAKE_BATCH_ROWS``) as the
  parent's module has them, so a test that narrows them narrows the child's.
- Secrets (lake storage options) go through the socket, never the command line or the environment.
"""

from __future__ import annotations

import contextlib
import io
import logging
import pickle
import socket
import subprocess
import sys
import traceback
from collections.abc import Sequence
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any

import polars as pl
import pyarrow as pa

from aegis_core.archive import symbol_files
from aegis_core.archive.schemas import Artefact
from aegis_core.archive.symbol_files import WriteReport, refuse_handover

if TYPE_CHECKING:
    from aegis_core.archive.store import Archive

log = logging.getLogger(__name__)

TUNABLES = ("FILE_THREADS", "MAX_PENDING", "LAKE_BATCH_ROWS")
EXIT_WAIT_S = 60.0  # a child that neither answers nor exits after the parent is done is killed


class WriterProcessError(RuntimeError):
    """The writer process ended without an answer (killed, out of memory)."""


def _ipc(frame: pl.DataFrame | pa.Table) -> bytes:
    buffer = io.BytesIO()
    if isinstance(frame, pa.Table):
        with pa.ipc.new_stream(buffer, frame.schema) as stream:
            stream.write_table(frame)
    else:
        frame.write_ipc_stream(buffer, compression="uncompressed")
    return buffer.getvalue()


class SymbolFilesProcess:
    """``archive.<opener>(*args)`` (a ``SymbolFiles``) run in a child process; see the module notes."""

    def __init__(self, archive: Archive, artefact: Artefact, opener: str, args: Sequence[Any]) -> None:
        archive.claim(artefact)  # the guard refuses here, before the child starts
        self._artefact = artefact
        self._covered = set(args[-1])  # every opener takes the covered symbols last
        self._added: set[str] = set()
        self._done = False
        ours, theirs = socket.socketpair()
        self._proc = subprocess.Popen(
            [sys.executable, "-m", __name__, str(theirs.fileno())], pass_fds=(theirs.fileno(),)
        )
        theirs.close()
        self._conn = Connection(ours.detach())
        tunables = {name: getattr(symbol_files, name) for name in TUNABLES}
        self._send(("open", archive, opener, tuple(args), tunables))

    def __enter__(self) -> SymbolFilesProcess:
        return self

    def __exit__(self, kind, *_: object) -> None:
        if not self._done:  # left before close(): the child abandons the write
            self._done = True
            try:
                self._conn.send(("abort",))
                self._conn.recv()  # its answer: the write abandoned, or the error that ended it first
            except Exception:  # the error that left the block is the one to raise
                pass
        self._end()

    @property
    def symbols(self) -> set[str]:
        """The symbols handed over so far (each gets a file)."""
        return set(self._added)

    def add(self, symbol: str, frame: pl.DataFrame | pa.Table) -> None:
        """As ``SymbolFiles.add``: the rows go to the child, which writes them on its threads."""
        if not len(frame):
            return
        refuse_handover(self._artefact, symbol, self._covered, self._added)
        self._send(("add", symbol, _ipc(frame)))
        self._added.add(symbol)

    def close(self) -> WriteReport:
        """Wait for every file and the lake commit in the child; its first error is raised here."""
        self._done = True
        self._send(("close",))
        report = self._answer()
        self._end()
        assert isinstance(report, WriteReport)
        return report

    def _send(self, message: tuple) -> None:
        try:
            self._conn.send(message)
        except OSError:  # the child ended: it said why before it went
            self._done = True
            self._answer()
            raise WriterProcessError(f"{self._artefact.name}: the writer process ended") from None

    def _answer(self) -> object:
        try:
            kind, value, logged = self._conn.recv()
        except (OSError, EOFError):
            code = self._proc.wait(timeout=EXIT_WAIT_S)
            raise WriterProcessError(
                f"{self._artefact.name}: the writer process ended without an answer (exit status {code})"
            ) from None
        for name, level, text in logged:
            logging.getLogger(name).log(level, "%s", text)
        if kind == "error":
            raise value
        return value

    def _end(self) -> None:
        self._conn.close()
        try:
            self._proc.wait(timeout=EXIT_WAIT_S)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()


# --- the child -----------------------------------------------------------------------------------------


class _Abandoned(RuntimeError):
    """The parent left its block before close(), or went away."""


class _Kept(logging.Handler):
    """The child's warnings, sent back with its answer for the parent's log."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[tuple[str, int, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append((record.name, record.levelno, record.getMessage()))


def _picklable(exc: BaseException) -> BaseException:
    note = "in the writer process:\n" + "".join(traceback.format_exception(exc)).rstrip()
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:
        exc = RuntimeError(f"{type(exc).__name__}: {exc}")
    exc.add_note(note)
    return exc


def serve(conn: Connection) -> None:
    """Run one ``SymbolFiles`` on what the parent sends; answer ``close`` with the report."""
    kept = _Kept()
    logging.getLogger().addHandler(kept)
    try:
        _, archive, opener, args, tunables = conn.recv()
        for name, value in tunables.items():
            setattr(symbol_files, name, value)
        with getattr(archive, opener)(*args) as files:
            while True:
                try:
                    message = conn.recv()
                except EOFError:
                    raise _Abandoned("the parent went away") from None
                if message[0] == "add":
                    files.add(message[1], pa.ipc.open_stream(message[2]).read_all())
                elif message[0] == "close":
                    conn.send(("report", files.close(), kept.records))
                    return
                else:
                    raise _Abandoned("the parent abandoned the write")
    except BaseException as exc:  # every error goes to the parent, if it is still there
        with contextlib.suppress(OSError):
            conn.send(("error", _picklable(exc), kept.records))


def main() -> None:
    serve(Connection(int(sys.argv[1])))


if __name__ == "__main__":
    # Through the module's own name, so that what the child pickles (its errors) names a module the
    # parent can import, not ``__main__``.
    from aegis_core.archive.writer_process import main as run_child

    run_child()
