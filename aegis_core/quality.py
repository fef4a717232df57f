"""Data-quality checks on one archive for one session (SPEC §7).

Each check is a pure function returning a ``GateResult``: passed or not, a one-line summary fit for
an alert, and the offenders by name (files, columns, symbols, slots), so one result maps onto one
Dagster asset check with its metadata. The parity comparison (``aegis_core.parity``) returns the
same type.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from aegis_core.archive import layout
from aegis_core.archive.schemas import ARTEFACTS, GEX_REGIMES, Artefact
from aegis_core.calendar import FIRST_SLOT, NY, SLOT_LENGTH

# Check names (stable: they become Dagster asset-check names).
SCHEMA_CONTRACT = "schema_contract"
UNIVERSE_COVERAGE = "universe_coverage"
GEX_SANITY = "gex_sanity"
INTRADAY_CADENCE = "intraday_cadence"
FRESHNESS = "freshness"

EOD_DEADLINE = dt.time(18, 0)
FRESHNESS_ARTEFACTS = ("gex_summary", "iv_rank")

_UTC_ALIASES = {"UTC", "Etc/UTC", "Etc/UCT", "UCT", "Z", "+00:00", "utc", "GMT", "Etc/GMT"}
# Float sums (net vs abs gex, walls on strike grids) are compared with this relative slack.
_REL_TOL = 1e-9


@dataclass(frozen=True)
class GateResult:
    """The outcome of one check or parity gate.

    ``offenders`` are bare names (file paths relative to the archive root, column names, symbols,
    ``SYMBOL@HH:MM`` slots); ``details`` are one readable line per finding with the values seen.
    ``pending`` marks a check that cannot fail yet (freshness before its deadline).
    """

    artefact: str
    gate: str
    passed: bool
    summary: str
    offenders: tuple[str, ...] = ()
    details: tuple[str, ...] = ()
    pending: bool = False

    @property
    def name(self) -> str:
        return f"{self.artefact}_{self.gate}"

    @property
    def status(self) -> str:
        if self.pending:
            return "pending"
        return "passed" if self.passed else "failed"

    def to_dict(self) -> dict[str, Any]:
        return {
            "artefact": self.artefact,
            "gate": self.gate,
            "status": self.status,
            "passed": self.passed,
            "summary": self.summary,
            "offenders": list(self.offenders),
            "details": list(self.details),
        }


# --- schema comparison (shared with parity) --------------------------------------------------------


def logical_type(arrow_type: pa.DataType) -> str:
    """The type a reader sees, ignoring physical variants (large/view strings, dictionaries)."""
    t = arrow_type
    if pa.types.is_dictionary(t):
        return logical_type(t.value_type)
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return "string"
    if pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_binary_view(t):
        return "binary"
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_list_view(t):
        return f"list<{logical_type(t.value_type)}>"
    if pa.types.is_struct(t):
        inner = ", ".join(f"{t.field(i).name}: {logical_type(t.field(i).type)}" for i in range(t.num_fields))
        return f"struct<{inner}>"
    if pa.types.is_timestamp(t):
        # Parquet stores only "adjusted to UTC"; spellings of UTC are the same column to a reader.
        tz = "UTC" if t.tz in _UTC_ALIASES else t.tz
        return f"timestamp[{t.unit}, tz={tz}]" if tz else f"timestamp[{t.unit}]"
    return str(t)


def describe_field(field: pa.Field | None) -> str:
    if field is None:
        return "absent"
    return f"{logical_type(field.type)} {'nullable' if field.nullable else 'not null'}"


def schema_differences(left: pa.Schema, right: pa.Schema) -> list[tuple[str, str, str]]:
    """``(column, left, right)`` for every column whose presence, type or nullability differs.

    Columns are matched by name in both directions; order is ignored (readers select by name).
    """
    lf = {f.name: f for f in left}
    rf = {f.name: f for f in right}
    out = []
    for name in [*lf, *(n for n in rf if n not in lf)]:
        a, b = describe_field(lf.get(name)), describe_field(rf.get(name))
        if a != b:
            out.append((name, a, b))
    return out


def artefact_contract(artefact: str | Artefact) -> Artefact:
    """The contract for an artefact name (``intraday`` is the intraday snapshot table)."""
    if isinstance(artefact, Artefact):
        return artefact
    name = "options_intraday" if artefact == "intraday" else artefact
    if name not in ARTEFACTS:
        raise ValueError(f"unknown artefact {artefact!r}; expected one of {sorted(ARTEFACTS)} or 'intraday'")
    return ARTEFACTS[name]


def schema_contract(source: Path | str | pa.Table | pa.Schema, artefact: str | Artefact) -> GateResult:
    """The file's (or table's) columns, types and nullability equal the artefact's contract."""
    contract = artefact_contract(artefact)
    label = str(source) if isinstance(source, Path | str) else f"{contract.name} table"
    try:
        schema = _schema_of(source)
    except (OSError, pa.ArrowException) as exc:
        return GateResult(
            contract.name, SCHEMA_CONTRACT, False, f"{label}: unreadable parquet ({exc})", (label,)
        )
    diffs = schema_differences(schema, contract.arrow_schema)
    if not diffs:
        return GateResult(
            contract.name, SCHEMA_CONTRACT, True, f"{label}: matches the {contract.name} contract"
        )
    names = ", ".join(d[0] for d in diffs)
    return GateResult(
        contract.name,
        SCHEMA_CONTRACT,
        False,
        f"{label}: {len(diffs)} column(s) differ from the {contract.name} contract: {names}",
        tuple(d[0] for d in diffs),
        tuple(f"{col}: file {got}, contract {want}" for col, got, want in diffs),
    )


def _schema_of(source: Path | str | pa.Table | pa.Schema) -> pa.Schema:
    if isinstance(source, pa.Schema):
        return source
    if isinstance(source, pa.Table):
        return source.schema
    return pq.read_schema(source)


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
        column = pq.read_table(path, columns=["symbol"]).column("symbol")
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

    Per symbol: one row; no null/NaN values; abs_gex ≥ |net_gex|; gamma_wall and put_wall inside
    the chain's strike range, or 0.0 (undefined); zero_gamma_level 0.0 or inside the 0.8–1.2 × spot
    grid it is searched on (SPEC §6); gex_regime matches the sign of net_gex.
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
    bad = [c for c in numeric if row[c] is None or math.isnan(row[c])]
    if bad:
        return [f"{c} is null/NaN" for c in bad]
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


# --- intraday cadence -------------------------------------------------------------------------------


def slot_of(capture: dt.time) -> dt.time | None:
    """The start of the 15-minute slot whose window holds ``capture`` (ET); None before 09:35."""
    index = slot_index(capture)
    return None if index is None else slot_start(index)


def slot_start(index: int) -> dt.time:
    """The start time of slot ``index`` (0 is 09:35)."""
    return (dt.datetime.combine(dt.date.min, FIRST_SLOT) + index * SLOT_LENGTH).time()


def slot_index(capture: dt.time) -> int | None:
    """0 for 09:35:00–09:49:59, 1 for 09:50–10:04:59, …; None before the first slot."""
    seconds = _seconds(capture) - _seconds(FIRST_SLOT)
    if seconds < 0:
        return None
    return seconds // int(SLOT_LENGTH.total_seconds())


def _seconds(t: dt.time) -> int:
    return t.hour * 3600 + t.minute * 60 + t.second


def _slot_time(slot: dt.datetime | dt.time) -> dt.time:
    if isinstance(slot, dt.datetime):
        if slot.tzinfo is None:
            raise ValueError(f"expected slot {slot} is naive; pass an aware datetime or a New York time")
        return slot.astimezone(NY).time().replace(tzinfo=None)
    return slot


def intraday_cadence(
    root: Path, session: dt.date, universe: Iterable[str], expected_slots: Sequence[dt.datetime | dt.time]
) -> GateResult:
    """Every symbol has exactly one snapshot per expected slot of ``session``.

    A file belongs to the slot whose 15-minute window holds its HHMMSS. Gaps are listed by slot
    (with the symbols) and duplicates by symbol and slot; snapshots outside every expected slot are
    reported in the details but do not fail the check (the caller may expect only slots so far).
    """
    symbols = sorted(set(universe))
    if not symbols:
        raise ValueError("intraday_cadence: the universe is empty")
    slots = sorted({_slot_time(s) for s in expected_slots})
    expected = set(slots)
    gaps: dict[dt.time, list[str]] = defaultdict(list)
    duplicates: list[tuple[str, dt.time, list[Path]]] = []
    strays: list[str] = []
    for sym in symbols:
        in_slot: dict[dt.time, list[Path]] = defaultdict(list)
        for captured, path in layout.intraday_files(root, sym, session).items():
            slot = slot_of(captured)
            if slot in expected:
                in_slot[slot].append(path)
            else:
                strays.append(f"{sym}: {path.name} is outside every expected slot")
        for slot in slots:
            if not in_slot[slot]:
                gaps[slot].append(sym)
            elif len(in_slot[slot]) > 1:
                duplicates.append((sym, slot, in_slot[slot]))
    offenders = sorted(
        [f"{s}@{slot:%H:%M}" for slot, syms in gaps.items() for s in syms]
        + [f"{s}@{slot:%H:%M}" for s, slot, _ in duplicates]
    )
    details = [f"gap {slot:%H:%M}: {', '.join(syms)}" for slot, syms in sorted(gaps.items())]
    details += [
        f"duplicate {s} {slot:%H:%M}: {', '.join(p.name for p in paths)}" for s, slot, paths in duplicates
    ]
    details += strays
    n_gaps = sum(len(v) for v in gaps.values())
    scope = f"{len(symbols)} symbol(s) × {len(slots)} slot(s)"
    if not n_gaps and not duplicates:
        summary = f"intraday {session}: one snapshot per slot for {scope}"
    else:
        summary = (
            f"intraday {session}: {n_gaps} gap(s) in {len(gaps)} slot(s), {len(duplicates)} duplicate(s) "
            f"over {scope}: {name_list(offenders)}"
        )
    passed = not n_gaps and not duplicates
    return GateResult("intraday", INTRADAY_CADENCE, passed, summary, tuple(offenders), tuple(details))


# --- freshness --------------------------------------------------------------------------------------


def freshness(
    root: Path,
    session: dt.date,
    now: dt.datetime,
    deadline: dt.time | dt.datetime = EOD_DEADLINE,
    artefacts: Sequence[str] = FRESHNESS_ARTEFACTS,
) -> GateResult:
    """The session's gex_summary and iv_rank files exist by the deadline (18:00 ET on the session).

    Before the deadline a missing file is pending (``passed`` and ``pending``), not a failure.
    """
    if now.tzinfo is None:
        raise ValueError(f"freshness: now={now} is naive; pass an aware datetime")
    if isinstance(deadline, dt.datetime):
        if deadline.tzinfo is None:
            raise ValueError(f"freshness: deadline={deadline} is naive; pass an aware datetime")
        due = deadline
    else:
        due = dt.datetime.combine(session, deadline, tzinfo=NY)
    paths = {a: layout.daily_file(root, a, session) for a in artefacts}
    missing = [a for a, p in paths.items() if not p.is_file()]
    rel = {a: p.relative_to(root).as_posix() for a, p in paths.items()}
    details = [f"{rel[a]}: written {_mtime_ny(paths[a])}" for a in artefacts if a not in missing]
    details += [f"{rel[a]}: missing" for a in missing]
    label = ",".join(artefacts)
    due_text = f"{due.astimezone(NY):%Y-%m-%d %H:%M} ET"
    if not missing:
        return GateResult(
            label, FRESHNESS, True, f"{session}: {label} present (due {due_text})", (), tuple(details)
        )
    names = tuple(rel[a] for a in missing)
    if now < due:
        left = int((due - now).total_seconds() // 60)
        summary = (
            f"{session}: pending — {', '.join(missing)} not written yet; due {due_text} ({left} min left)"
        )
        return GateResult(label, FRESHNESS, True, summary, names, tuple(details), pending=True)
    summary = f"{session}: {', '.join(missing)} missing after the deadline {due_text}"
    return GateResult(label, FRESHNESS, False, summary, names, tuple(details))


def _mtime_ny(path: Path) -> str:
    stamp = dt.datetime.fromtimestamp(path.stat().st_mtime, tz=dt.UTC).astimezone(NY)
    return f"{stamp:%Y-%m-%d %H:%M:%S} ET"


def name_list(names: Sequence[str], limit: int = 10) -> str:
    """``A, B, C (+N more)`` for summaries that must stay one line."""
    shown = ", ".join(names[:limit])
    return shown if len(names) <= limit else f"{shown} (+{len(names) - limit} more)"
