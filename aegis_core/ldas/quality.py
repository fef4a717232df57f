"""The end-of-day archive gates of one session: schema contract per file, universe coverage, GEX sanity.

Each gate is a pure function returning a ``GateResult`` (``aegis_core.base.gates``); the ``archive_*``
functions read the session's files from the archive root. The column contract itself is
``aegis_core.ldas.schema_contract``, freshness ``aegis_core.ldas.freshness``, the intraday cadence
``aegis_core.ldas.cadence``.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from aegis_core.archive import layout
from aegis_core.archive.files import read_columns
from aegis_core.archive.schemas import GEX_REGIMES
from aegis_core.base.gates import GateResult, name_list
from aegis_core.ldas.schema_contract import SCHEMA_CONTRACT, files_schema_contract

UNIVERSE_COVERAGE = "universe_coverage"
GEX_SANITY = "gex_sanity"

# Float sums (net vs abs gex, walls on strike grids) are compared with this relative slack.
_REL_TOL = 1e-9


# --- coverage ---------------------------------------------------------------------------------------

_PER_SYMBOL_FILES = {"stocks": layout.stock_file, "options": layout.options_file}
_PER_SYMBOL_ROWS = ("gex_summary", "iv_rank")


def universe_coverage(
    root: Path, artefact: str, session: dt.date, universe: Iterable[str], threshold: float
) -> GateResult:
    """Share of the universe with the session's file (stocks/options) or row (gex_summary/iv_rank)."""
    symbols = sorted(set(universe))
    if not symbols:
        raise ValueError("universe_coverage: the universe is empty")
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"universe_coverage: threshold {threshold} is not a share between 0 and 1")
    notes: list[str] = []
    if artefact in _PER_SYMBOL_FILES:
        path_of = _PER_SYMBOL_FILES[artefact]
        present = {s for s in symbols if path_of(root, s, session).is_file()}
    elif artefact in _PER_SYMBOL_ROWS:
        path = layout.daily_file(root, artefact, session)
        present, note = _symbols_in(path)
        notes += [note] if note else []
    else:
        raise ValueError(
            f"universe_coverage: artefact {artefact!r} has no per-symbol coverage; "
            f"expected one of {sorted([*_PER_SYMBOL_FILES, *_PER_SYMBOL_ROWS])}"
        )
    missing = [s for s in symbols if s not in present]
    share = (len(symbols) - len(missing)) / len(symbols)
    passed = share >= threshold
    summary = (
        f"{artefact} {session}: {len(symbols) - len(missing)}/{len(symbols)} universe symbols "
        f"({share:.1%}, threshold {threshold:.1%})"
    )
    if missing:
        summary += f"; missing {name_list(missing)}"
    details = [*notes, *([f"missing: {', '.join(missing)}"] if missing else [])]
    return GateResult(artefact, UNIVERSE_COVERAGE, passed, summary, tuple(missing), tuple(details))


def _symbols_in(path: Path) -> tuple[set[str], str | None]:
    if not path.is_file():
        return set(), f"{path} does not exist"
    try:
        column = read_columns(path, ["symbol"]).column("symbol")
    except (OSError, pa.ArrowException, KeyError) as exc:
        return set(), f"{path}: cannot read the symbol column ({exc})"
    return {s for s in column.to_pylist() if s is not None}, None


# --- GEX sanity -------------------------------------------------------------------------------------

StrikeRanges = Mapping[str, tuple[float, float]]
_GEX_COLUMNS = ("symbol", "net_gex", "abs_gex", "zero_gamma_level", "gamma_wall", "put_wall", "gex_regime")


def strike_ranges(chains: pl.DataFrame) -> dict[str, tuple[float, float]]:
    """``symbol -> (lowest strike, highest strike)`` of option chains (rows of the options contract)."""
    missing = [c for c in ("symbol", "strike_price") if c not in chains.columns]
    if missing:
        raise ValueError(f"chains frame lacks column(s) {missing}")
    agg = chains.group_by("symbol").agg(
        pl.col("strike_price").min().alias("lo"), pl.col("strike_price").max().alias("hi")
    )
    return {r["symbol"]: (r["lo"], r["hi"]) for r in agg.iter_rows(named=True) if r["lo"] is not None}


def gex_sanity(gex: pl.DataFrame | pa.Table, chains: pl.DataFrame | StrikeRanges) -> GateResult:
    """Values of a gex_summary frame make sense against the chains they came from.

    Per symbol: one row; no null, NaN or infinite values; abs_gex ≥ |net_gex|; gamma_wall and put_wall inside
    the chain's strike range, or 0.0 (undefined); zero_gamma_level 0.0 or inside the 0.8–1.2 × spot
    grid it is searched on (contract §6); gex_regime matches the sign of net_gex.
    """
    frame = gex if isinstance(gex, pl.DataFrame) else pl.from_arrow(gex)
    assert isinstance(frame, pl.DataFrame)
    missing = [c for c in (*_GEX_COLUMNS, "underlying_price") if c not in frame.columns]
    if missing:
        raise ValueError(f"gex_sanity: gex frame lacks column(s) {missing}")
    ranges = strike_ranges(chains) if isinstance(chains, pl.DataFrame) else dict(chains)

    problems: dict[str, list[str]] = defaultdict(list)
    counts = frame.group_by("symbol").len()
    for sym, n in counts.iter_rows():
        if n > 1:
            problems[str(sym)].append(f"{n} rows (expected one per symbol)")
    for row in frame.iter_rows(named=True):
        sym = str(row["symbol"])
        problems[sym] += _gex_row_problems(row, ranges.get(sym))
    offenders = sorted(s for s, p in problems.items() if p)
    details = tuple(f"{s}: {'; '.join(problems[s])}" for s in offenders)
    if offenders:
        summary = (
            f"gex_summary: {len(offenders)} of {counts.height} symbol(s) fail sanity: {name_list(offenders)}"
        )
    else:
        summary = f"gex_summary: all {counts.height} symbol(s) pass sanity"
    return GateResult("gex_summary", GEX_SANITY, not offenders, summary, tuple(offenders), details)


def _gex_row_problems(row: dict[str, Any], strikes: tuple[float, float] | None) -> list[str]:
    numeric = ("net_gex", "abs_gex", "zero_gamma_level", "gamma_wall", "put_wall", "underlying_price")
    bad = [c for c in numeric if row[c] is None or not math.isfinite(row[c])]
    if bad:
        return [f"{c} is {'null' if row[c] is None else repr(row[c])} (must be a finite number)" for c in bad]
    out = []
    net, absolute = row["net_gex"], row["abs_gex"]
    if not _leq(abs(net), absolute):
        out.append(f"abs_gex {absolute!r} < |net_gex| {abs(net)!r}")
    for wall in ("gamma_wall", "put_wall"):
        value = row[wall]
        if value == 0.0:
            continue
        if strikes is None:
            out.append(f"{wall} {value!r} but no chain strikes to check it against")
        elif not (_leq(strikes[0], value) and _leq(value, strikes[1])):
            out.append(f"{wall} {value!r} outside the chain's strikes {strikes[0]!r}–{strikes[1]!r}")
    zero, spot = row["zero_gamma_level"], row["underlying_price"]
    if zero != 0.0 and not (_leq(0.8 * spot, zero) and _leq(zero, 1.2 * spot)):
        out.append(f"zero_gamma_level {zero!r} outside 0.8–1.2 × spot {spot!r}")
    expected = "positive" if net > 0 else "negative" if net < 0 else "neutral"
    if row["gex_regime"] != expected:
        out.append(f"gex_regime {row['gex_regime']!r} but net_gex {net!r} says {expected!r}")
    if row["gex_regime"] not in GEX_REGIMES:
        out.append(f"gex_regime {row['gex_regime']!r} is not one of {list(GEX_REGIMES)}")
    return out


def _leq(a: float, b: float) -> bool:
    return a <= b + _REL_TOL * max(1.0, abs(a), abs(b))


# --- the archive side: a session's files -----------------------------------------------------------


def session_files(root: Path, artefact: str, session: dt.date) -> list[Path]:
    """The session's end-of-day files of ``artefact`` (not intraday snapshots)."""
    if artefact in ("stocks", "options"):
        path_of = layout.stock_file if artefact == "stocks" else layout.options_file
        candidates = [path_of(root, s, session) for s in layout.symbols_with(root, artefact)]
        return [p for p in candidates if p.is_file()]
    path = layout.daily_file(root, artefact, session)
    return [path] if path.is_file() else []


def archive_schema_contract(
    root: Path, artefact: str, session: dt.date, known: Mapping[Path, pa.Schema] | None = None
) -> GateResult:
    """Every end-of-day file of the session meets the artefact's column contract (``known``: schemas
    of files the same run wrote, not read again)."""
    files = session_files(root, artefact, session)
    if not files:
        where = (
            layout.daily_file(root, artefact, session).relative_to(root).as_posix()
            if artefact not in ("stocks", "options")
            else f"{artefact}/*/{session:%Y/%m/%d}*"
        )
        return GateResult(
            artefact, SCHEMA_CONTRACT, False, f"{session}: no {artefact} file ({where} missing)", (where,)
        )
    return files_schema_contract(
        root, files, artefact, artefact=artefact, label=str(session), noun=f"{artefact} file", known=known
    )


def archive_gex_sanity(
    root: Path, session: dt.date, known: Mapping[str, tuple[float, float]] | None = None
) -> GateResult:
    """gex_sanity of the session's gex_summary file against the strikes of the session's chains
    (``known``: strike ranges the same run gathered as it wrote the chain files, not read again)."""
    path = layout.daily_file(root, "gex_summary", session)
    rel = path.relative_to(root).as_posix()
    if not path.is_file():
        return GateResult("gex_summary", GEX_SANITY, False, f"{session}: {rel} missing", (rel,))
    try:
        table = read_columns(path)
        symbols = table.column("symbol").to_pylist()
        return gex_sanity(table, chain_strike_ranges(root, session, symbols, known))
    except (OSError, pa.ArrowException, KeyError, ValueError) as exc:
        return GateResult(
            "gex_summary", GEX_SANITY, False, f"{session}: {rel} cannot be checked ({exc})", (rel,)
        )


def chain_strike_ranges(
    root: Path,
    session: dt.date,
    symbols: Iterable[str],
    known: Mapping[str, tuple[float, float]] | None = None,
) -> dict[str, tuple[float, float]]:
    """``symbol -> (lowest, highest strike)`` from the session's chain files (absent ones are left out);
    ``known`` ranges (gathered when the same run wrote those files) are taken as they are."""
    out, known = {}, known or {}
    for sym in sorted({s for s in symbols if s and layout.is_valid_symbol(s)}):
        path = layout.options_file(root, sym, session)
        if sym in known:
            out[sym] = known[sym]
        elif path.is_file():
            bounds = pc.min_max(read_columns(path, ["strike_price"]).column("strike_price"))
            lo, hi = bounds["min"].as_py(), bounds["max"].as_py()
            if lo is not None:
                out[sym] = (lo, hi)
    return out
