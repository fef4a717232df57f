"""Quality of one intraday slot's snapshots (contract §2, §5, §7): contract, coverage, capture window.

A slot's snapshots are the ``options/SYMBOL/YYYY/MM/DD_pt_HHMMSS.parquet`` files whose HHMMSS (the
capture time, New York) falls inside the slot's 15-minute window. Each check returns a
``GateResult`` naming its offenders (files, columns, symbols), so one result maps onto one Dagster
asset check on a slot partition of ``ldas/pt_snapshots``.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from aegis_core.archive import layout
from aegis_core.archive.files import read_columns
from aegis_core.archive.schemas import OPTIONS_INTRADAY
from aegis_core.base.gates import GateResult, name_list
from aegis_core.calendar import NY, SLOT_LENGTH
from aegis_core.ldas.schema_contract import SCHEMA_CONTRACT, files_schema_contract

# Check names (stable: they become Dagster asset-check names and alert keys).
SLOT_COVERAGE = "slot_coverage"
CAPTURE_WINDOW = "capture_window"
ARTEFACT = "intraday"


def _local(slot: dt.datetime) -> dt.datetime:
    if slot.tzinfo is None:
        raise ValueError(f"slot start {slot} is naive; pass an aware datetime")
    return slot.astimezone(NY)


def _label(slot: dt.datetime) -> str:
    return f"slot {_local(slot):%Y-%m-%d %H:%M}"


def slot_files(root: Path, slot: dt.datetime, symbols: Iterable[str] | None = None) -> dict[str, list[Path]]:
    """``symbol -> snapshot files`` captured inside the slot's window (every symbol folder by default)."""
    start = _local(slot)
    end = start + SLOT_LENGTH
    names = sorted(set(symbols)) if symbols is not None else layout.symbols_with(root, "options")
    out: dict[str, list[Path]] = {}
    for symbol in names:
        files = [
            path
            for captured, path in layout.intraday_files(root, symbol, start.date()).items()
            if start <= dt.datetime.combine(start.date(), captured, NY) < end
        ]
        out[symbol] = files
    return out


def slot_coverage(root: Path, slot: dt.datetime, universe: Iterable[str], threshold: float) -> GateResult:
    """The share of the universe with a snapshot in the slot meets ``threshold``; names the missing.

    Symbols with more than one snapshot in the slot are reported (details), not counted twice.
    """
    symbols = sorted(set(universe))
    if not symbols:
        raise ValueError("slot_coverage: the universe is empty")
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"slot_coverage: threshold {threshold} is not a share between 0 and 1")
    files = slot_files(root, slot, symbols)
    missing = [s for s, f in files.items() if not f]
    doubled = [s for s, f in files.items() if len(f) > 1]
    covered = len(symbols) - len(missing)
    share = covered / len(symbols)
    summary = (
        f"{_label(slot)}: {covered}/{len(symbols)} universe symbols captured "
        f"({share:.1%}, threshold {threshold:.1%})"
    )
    if missing:
        summary += f"; missing {name_list(missing)}"
    details = [f"missing: {', '.join(missing)}"] if missing else []
    details += [
        f"{s}: {len(files[s])} snapshots in the slot ({', '.join(p.name for p in files[s])})" for s in doubled
    ]
    return GateResult(ARTEFACT, SLOT_COVERAGE, share >= threshold, summary, tuple(missing), tuple(details))


def files_per_symbol(root: Path, slot: dt.datetime, universe: Iterable[str]) -> dict[str, int]:
    """``{files in the slot: number of universe symbols}`` (metadata: how even the slot is)."""
    counts = Counter(len(f) for f in slot_files(root, slot, universe).values())
    return {str(k): v for k, v in sorted(counts.items())}


def slot_schema_contract(
    root: Path, slot: dt.datetime, known: Mapping[Path, pa.Schema] | None = None
) -> GateResult:
    """Every snapshot of the slot has exactly the intraday contract's columns, types and nullability
    (``known``: schemas of snapshots the same run wrote, not read again)."""
    files = [p for paths in slot_files(root, slot).values() for p in paths]
    if not files:
        return GateResult(ARTEFACT, SCHEMA_CONTRACT, False, f"{_label(slot)}: no snapshot file", ())
    return files_schema_contract(
        root, files, OPTIONS_INTRADAY, artefact=ARTEFACT, label=_label(slot), noun="snapshot", known=known
    )


def _capture_range(path: Path) -> tuple[dt.datetime, dt.datetime] | str | None:
    """(earliest, latest) ``timestamp`` of a snapshot; None when it has no rows; a string when unreadable."""
    try:
        column = read_columns(path, ["timestamp"]).column("timestamp")
    except (OSError, pa.ArrowException, KeyError) as exc:
        return f"cannot read its timestamp column ({exc})"
    if not pa.types.is_timestamp(column.type) or column.type.tz is None:
        return f"timestamp column is {column.type}, not a UTC timestamp"
    if len(column) == 0 or column.null_count == len(column):
        return None
    bounds = pc.min_max(column)
    return bounds["min"].as_py(), bounds["max"].as_py()


def capture_window(
    root: Path, slot: dt.datetime, known: Mapping[Path, tuple[dt.datetime, dt.datetime]] | None = None
) -> GateResult:
    """Every snapshot of the slot was captured inside the slot's window.

    The file name places a snapshot in the slot; its rows' ``timestamp`` (the capture moment, UTC)
    must agree: inside ``[slot start, slot start + 15 min)``. A snapshot named inside the window but
    stamped outside it (a late capture filed under the slot, a stale chain) fails, naming the file.
    ``known``: the (earliest, latest) timestamps of snapshots the same run wrote, not read again.
    """
    known = known or {}
    start = _local(slot)
    end = start + SLOT_LENGTH
    files = [p for paths in slot_files(root, slot).values() for p in paths]
    window = f"{start:%H:%M}–{end:%H:%M} ET"
    if not files:
        return GateResult(ARTEFACT, CAPTURE_WINDOW, False, f"{_label(slot)}: no snapshot file", ())
    offenders, details = [], []
    for path in files:
        rel = path.relative_to(root).as_posix()
        seen = known[path] if path in known else _capture_range(path)
        if seen is None:
            offenders.append(rel)
            details.append(f"{rel}: no rows, so no capture time")
        elif isinstance(seen, str):
            offenders.append(rel)
            details.append(f"{rel}: {seen}")
        else:
            lo, hi = (t.astimezone(NY) for t in seen)
            if not (start <= lo and hi < end):
                offenders.append(rel)
                details.append(
                    f"{rel}: captured {lo:%H:%M:%S}"
                    + (f"–{hi:%H:%M:%S}" if hi != lo else "")
                    + f" ET, outside {window}"
                )
    if offenders:
        summary = (
            f"{_label(slot)}: {len(offenders)} of {len(files)} snapshot(s) captured outside {window}: "
            + name_list(offenders, 5)
        )
    else:
        summary = f"{_label(slot)}: all {len(files)} snapshot(s) captured inside {window}"
    return GateResult(ARTEFACT, CAPTURE_WINDOW, not offenders, summary, tuple(offenders), tuple(details))
