"""What a run wrote, kept for the checks of the same run.

The fetch assets record the writer's report (each file's rows, schema and strike range, seen as it was
written); a check of the same run takes those figures instead of reading the files back, which gives
the same answer and saves reading hundreds of footers. Checks that compare the stored data with
something else (files against the lake) still read. The record lives in this process: the in-process
executor runs a run's steps in one process; a check run on its own (``ldas_checks_job``) or in another
process finds nothing here and reads the files, as it always did.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from pathlib import Path

import pyarrow as pa

from aegis_core.archive.store import WriteReport

_KEEP_RUNS = 4  # runs remembered at once (a daemon-less process runs one at a time; tests a few)

_lock = threading.Lock()
_runs: OrderedDict[str, dict[tuple[str, str], WriteReport]] = OrderedDict()


def remember(run_id: str, partition: str, report: WriteReport) -> None:
    """Record ``report`` (one artefact's write for the ``partition`` key, a session or a slot)."""
    with _lock:
        _runs.setdefault(run_id, {})[(report.artefact, partition)] = report
        _runs.move_to_end(run_id)
        while len(_runs) > _KEEP_RUNS:
            _runs.popitem(last=False)


def written(run_id: str, artefact: str, partition: str) -> WriteReport | None:
    with _lock:
        return _runs.get(run_id, {}).get((artefact, partition))


def known_schemas(run_id: str, artefact: str, partition: str) -> dict[Path, pa.Schema]:
    """``path -> schema`` of the files of ``artefact`` this run wrote for ``partition`` (empty: none)."""
    report = written(run_id, artefact, partition)
    return {s.path: s.schema for s in report.stats.values()} if report else {}


def known_capture_ranges(
    run_id: str, artefact: str, partition: str
) -> dict[Path, tuple[dt.datetime, dt.datetime]]:
    """``path -> (earliest, latest) timestamp`` of the files of ``artefact`` this run wrote for
    ``partition``."""
    report = written(run_id, artefact, partition)
    if report is None:
        return {}
    return {s.path: s.captured for s in report.stats.values() if s.captured is not None}


def known_strike_ranges(run_id: str, session: str) -> dict[str, tuple[float, float]]:
    """``symbol -> (lowest, highest strike)`` of the chain files this run wrote for ``session``."""
    report = written(run_id, "options", session)
    if report is None:
        return {}
    return {symbol: s.strikes for symbol, s in report.stats.items() if s.strikes is not None}
