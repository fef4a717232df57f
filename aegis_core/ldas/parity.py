"""Archive-vs-archive parity: the migration runbook's gates between two archives (contract §7).

Two archives with the same layout (the Python one and the Rust reference) are compared for one
session, artefact by artefact. Every gate is a ``GateResult`` naming its offenders, so each one can
become a Dagster asset check. Reading is cheap: file listings and parquet footers (row counts,
schemas); column values are read only where the gate compares values (gex_regime, iv_rank).

Intraday snapshot names carry the capture second, which two daemons never share, so intraday files
are matched by symbol and 15-minute slot (``SPY@09:35``) rather than by exact name.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import math
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from aegis_core.archive import layout
from aegis_core.archive.files import read_columns
from aegis_core.archive.schemas import GEX_REGIMES, IV_RANK
from aegis_core.base.gates import GateResult, name_list
from aegis_core.base.settings import PARITY_COUNT, PARITY_IV_RANK
from aegis_core.calendar import FIRST_SLOT
from aegis_core.ldas.schema_contract import schema_differences
from aegis_core.ldas.slots import slot_index, slot_of, slot_start

__all__ = [
    "CADENCE",
    "FILES_PER_SYMBOL",
    "FILE_COUNT",
    "FILE_NAMES",
    "IV_RANK_VALUES",
    "PARITY_ARTEFACTS",
    "REGIME_DISTRIBUTION",
    "ROW_COUNT",
    "SCHEMA",
    "SLOTS_PER_SYMBOL",
    "GateResult",
    "ParityReport",
    "ParityTolerances",
    "SameArchiveError",
    "check_distinct_roots",
    "compare_archives",
    "gates_for",
]

PARITY_ARTEFACTS = ("vix", "stocks", "options", "gex_summary", "iv_rank", "intraday")

# Gate names (stable: they become Dagster asset-check names).
FILE_COUNT = "file_count"
FILE_NAMES = "file_names"
ROW_COUNT = "row_count"
SCHEMA = "schema"
REGIME_DISTRIBUTION = "regime_distribution"
IV_RANK_VALUES = "iv_rank_values"
SLOTS_PER_SYMBOL = "slots_per_symbol"
FILES_PER_SYMBOL = "files_per_symbol"
CADENCE = "cadence"

_COMMON_GATES = (FILE_COUNT, FILE_NAMES, ROW_COUNT, SCHEMA)
_EXTRA_GATES = {
    "gex_summary": (REGIME_DISTRIBUTION,),
    "iv_rank": (IV_RANK_VALUES,),
    "intraday": (SLOTS_PER_SYMBOL, FILES_PER_SYMBOL, CADENCE),
}
SIDES = ("python", "rust")
_FOOTER_THREADS = 4  # hides the latency of network/RAID storage; parsing holds the GIL
_DETAIL_LINES = 12


def gates_for(artefact: str) -> tuple[str, ...]:
    """The gates ``compare_archives`` evaluates for ``artefact``, in report order."""
    _check_artefact(artefact)
    return _COMMON_GATES + _EXTRA_GATES.get(artefact, ())


@dataclass(frozen=True)
class ParityTolerances:
    file_count: int = 1
    row_count: int = 5
    regime: int = 1
    iv_rank_abs: float = 1e-9

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():  # the profile's ranges (NaN and infinity refused)
            (PARITY_IV_RANK if name == "iv_rank_abs" else PARITY_COUNT).check(
                value, f"parity tolerance {name}"
            )


@dataclass(frozen=True)
class ParityReport:
    python_root: Path
    rust_root: Path
    session: dt.date
    artefacts: tuple[str, ...]
    tolerances: ParityTolerances
    gates: tuple[GateResult, ...] = field(default_factory=tuple)

    @property
    def passed(self) -> bool:
        return all(g.passed for g in self.gates)

    def failures(self) -> list[GateResult]:
        return [g for g in self.gates if not g.passed]

    def gate(self, artefact: str, gate: str) -> GateResult:
        for g in self.gates:
            if g.artefact == artefact and g.gate == gate:
                return g
        raise KeyError(f"no gate {artefact}/{gate} in this report")

    def to_dict(self) -> dict[str, Any]:
        return {
            "session": self.session.isoformat(),
            "python_root": str(self.python_root),
            "rust_root": str(self.rust_root),
            "artefacts": list(self.artefacts),
            "tolerances": asdict(self.tolerances),
            "passed": self.passed,
            "failed_gates": [g.name for g in self.failures()],
            "gates": [g.to_dict() for g in self.gates],
        }

    def render_table(self, max_details: int = _DETAIL_LINES) -> str:
        """A plain-text table; failed gates are followed by their findings (up to ``max_details``)."""
        t = self.tolerances
        lines = [
            f"Parity {self.session}  python={self.python_root}  rust={self.rust_root}",
            f"tolerances: files ±{t.file_count}, rows ±{t.row_count}, regime ±{t.regime}, "
            f"iv_rank ±{t.iv_rank_abs:g}",
            "",
        ]
        wa = max([len("ARTEFACT"), *(len(g.artefact) for g in self.gates)])
        wg = max([len("GATE"), *(len(g.gate) for g in self.gates)])
        lines.append(f"{'ARTEFACT':<{wa}}  {'GATE':<{wg}}  RESULT  SUMMARY")
        lines.append(f"{'-' * wa}  {'-' * wg}  ------  -------")
        for g in self.gates:
            lines.append(
                f"{g.artefact:<{wa}}  {g.gate:<{wg}}  {'PASS' if g.passed else 'FAIL':<6}  {g.summary}"
            )
            if not g.passed:
                pad = " " * (wa + wg + 12)
                lines += [f"{pad}- {d}" for d in g.details[:max_details]]
                if len(g.details) > max_details:
                    lines.append(f"{pad}… {len(g.details) - max_details} more (use --json for all)")
        failed = self.failures()
        lines.append("")
        if failed:
            lines.append(
                f"PARITY FAILED: {len(failed)} of {len(self.gates)} gate(s): "
                + ", ".join(g.name for g in failed)
            )
        else:
            lines.append(f"PARITY PASSED: all {len(self.gates)} gate(s)")
        return "\n".join(lines)


class SameArchiveError(ValueError):
    """Both sides of a comparison are one archive (the same folder, a symbolic link to it, or the
    reference root set to the archive root): every gate would pass by construction."""


def check_distinct_roots(python_root: Path, rust_root: Path) -> None:
    """Refuse comparing an archive with itself: the two roots must resolve to different folders."""
    python_real, rust_real = Path(python_root).resolve(), Path(rust_root).resolve()
    if python_real == rust_real:
        same = f"{python_root}" if Path(python_root) == Path(rust_root) else f"{python_root} and {rust_root}"
        through = "" if Path(python_root) == python_real == Path(rust_root) else f" (both are {python_real})"
        raise SameArchiveError(
            f"refusing to compare archive {same} with itself{through}: parity needs the reference "
            "(Rust) archive beside the Python one (AEGIS_PARITY_ROOT must not be the archive root)"
        )


def artefact_gates(
    python_root: Path, reference_root: Path, session: dt.date, artefact: str, tolerances: ParityTolerances
) -> dict[str, GateResult]:
    """``gate -> result`` of one artefact for one session; a missing or unusable root fails every gate
    of the artefact, naming the reference root (what the parity asset checks report)."""
    try:
        report = compare_archives(python_root, reference_root, session, [artefact], tolerances)
    except (FileNotFoundError, NotADirectoryError, SameArchiveError) as exc:
        return {
            g: GateResult(artefact, g, False, f"{session}: {exc}", (str(reference_root),))
            for g in gates_for(artefact)
        }
    return {g.gate: g for g in report.gates}


def compare_archives(
    python_root: Path,
    rust_root: Path,
    session: dt.date,
    artefacts: Sequence[str],
    tolerances: ParityTolerances = ParityTolerances(),  # frozen, so sharing the default is safe
) -> ParityReport:
    """Compare the two archives for ``session``, gate by gate, for each of ``artefacts``."""
    roots = {"python": Path(python_root), "rust": Path(rust_root)}
    for side, root in roots.items():
        if not root.exists():
            raise FileNotFoundError(f"{side} archive root not found: {root}")
        if not root.is_dir():
            raise NotADirectoryError(f"{side} archive root is not a directory: {root}")
    check_distinct_roots(roots["python"], roots["rust"])
    chosen = tuple(dict.fromkeys(artefacts))
    for a in chosen:
        _check_artefact(a)
    if not chosen:
        raise ValueError(f"no artefacts to compare; expected some of {', '.join(PARITY_ARTEFACTS)}")
    gates: list[GateResult] = []
    for artefact in chosen:
        gates += _ArtefactComparison(artefact, roots, session, tolerances).run()
    return ParityReport(roots["python"], roots["rust"], session, chosen, tolerances, tuple(gates))


def session_file_count(root: Path, artefact: str, session: dt.date) -> int:
    """How many ``artefact`` files ``root`` holds for ``session`` (as the gates list them)."""
    _check_artefact(artefact)
    return len(_listing(Path(root), artefact, session))


def _check_artefact(artefact: str) -> None:
    if artefact not in PARITY_ARTEFACTS:
        raise ValueError(
            f"unknown parity artefact {artefact!r}; expected one of {', '.join(PARITY_ARTEFACTS)}"
        )


# --- listing ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Entry:
    key: str  # what is matched across archives: the relative path, or SYMBOL@HH:MM for intraday
    path: Path
    rel: str
    symbol: str | None = None
    captured: dt.time | None = None


def _listing(root: Path, artefact: str, session: dt.date) -> dict[str, _Entry]:
    def entry(key: str | None, path: Path, **kw: Any) -> _Entry:
        rel = path.relative_to(root).as_posix()
        return _Entry(key or rel, path, rel, **kw)

    if artefact in ("vix", "gex_summary", "iv_rank"):
        path = layout.daily_file(root, artefact, session)
        return {e.key: e for e in [entry(None, path)] if path.is_file()}
    if artefact in ("stocks", "options"):
        path_of: Callable[[Path, str, dt.date], Path] = (
            layout.stock_file if artefact == "stocks" else layout.options_file
        )
        out = {}
        for sym in layout.symbols_with(root, artefact):
            path = path_of(root, sym, session)
            if path.is_file():
                e = entry(None, path, symbol=sym)
                out[e.key] = e
        return out
    out = {}
    for sym in layout.symbols_with(root, "options"):
        per_slot: dict[str, int] = defaultdict(int)
        for captured, path in layout.intraday_files(root, sym, session).items():
            slot = slot_of(captured)
            base = f"{sym}@{slot:%H:%M}" if slot else f"{sym}@{captured:%H:%M:%S}"
            per_slot[base] += 1
            key = base if per_slot[base] == 1 else f"{base}#{per_slot[base]}"
            out[key] = entry(key, path, symbol=sym, captured=captured)
    return out


@dataclass(frozen=True)
class _Footer:
    rows: int | None = None
    schema: pa.Schema | None = None
    error: str | None = None


def _read_footer(path: Path) -> _Footer:
    try:
        meta = pq.read_metadata(path)
        # Without metadata, the few distinct schemas of an archive hash alike (see _differences).
        return _Footer(meta.num_rows, meta.schema.to_arrow_schema().remove_metadata())
    except (OSError, pa.ArrowException) as exc:
        return _Footer(error=f"unreadable parquet: {exc}")


# --- the comparison of one artefact -----------------------------------------------------------------


class _ArtefactComparison:
    def __init__(
        self, artefact: str, roots: dict[str, Path], session: dt.date, tolerances: ParityTolerances
    ) -> None:
        self.artefact, self.roots, self.session, self.tol = artefact, roots, session, tolerances
        self.files = {side: _listing(root, artefact, session) for side, root in roots.items()}
        py, rs = self.files["python"], self.files["rust"]
        self.matched = sorted(set(py) & set(rs))
        self.only = {"python": sorted(set(py) - set(rs)), "rust": sorted(set(rs) - set(py))}
        paths = [self.files[s][k].path for k in self.matched for s in SIDES]
        with ThreadPoolExecutor(max_workers=_FOOTER_THREADS) as pool:
            self.footers = dict(zip(paths, pool.map(_read_footer, paths), strict=True))

    def run(self) -> list[GateResult]:
        gates = {
            FILE_COUNT: self.file_count,
            FILE_NAMES: self.file_names,
            ROW_COUNT: self.row_count,
            SCHEMA: self.schema,
            REGIME_DISTRIBUTION: self.regime_distribution,
            IV_RANK_VALUES: self.iv_rank_values,
            SLOTS_PER_SYMBOL: self.slots_per_symbol,
            FILES_PER_SYMBOL: self.files_per_symbol,
            CADENCE: self.cadence,
        }
        return [gates[g]() for g in gates_for(self.artefact)]

    def _result(self, gate: str, passed: bool, summary: str, offenders=(), details=()) -> GateResult:
        return GateResult(self.artefact, gate, passed, summary, tuple(offenders), tuple(details))

    def _one_side_lines(self) -> list[str]:
        out = []
        for side in SIDES:
            for key in self.only[side]:
                e = self.files[side][key]
                label = e.rel if e.key == e.rel else f"{e.key} ({e.rel})"
                out.append(f"{side} only: {label}")
        return out

    def _one_side_names(self) -> list[str]:
        return [self.files[side][k].rel for side in SIDES for k in self.only[side]]

    def _nothing_to_compare(self, gate: str) -> GateResult:
        return self._result(
            gate,
            False,
            f"nothing to compare: no {self.artefact} file for {self.session} on both sides",
            self._one_side_names(),
            self._one_side_lines(),
        )

    def file_count(self) -> GateResult:
        n_py, n_rs = len(self.files["python"]), len(self.files["rust"])
        summary = f"python {n_py}, rust {n_rs} file(s) for {self.session} (±{self.tol.file_count})"
        if n_py == n_rs == 0:
            return self._result(
                FILE_COUNT, False, f"no {self.artefact} files for {self.session} in either archive"
            )
        passed = abs(n_py - n_rs) <= self.tol.file_count
        return self._result(FILE_COUNT, passed, summary, self._one_side_names(), self._one_side_lines())

    def file_names(self) -> GateResult:
        n_py, n_rs = len(self.only["python"]), len(self.only["rust"])
        what = "symbol/slot" if self.artefact == "intraday" else "file name"
        if not n_py and not n_rs:
            return self._result(FILE_NAMES, True, f"{len(self.matched)} {what}(s) match 1:1")
        names = self._one_side_names()
        summary = f"{n_py} python-only, {n_rs} rust-only {what}(s): {name_list(names)}"
        return self._result(FILE_NAMES, False, summary, names, self._one_side_lines())

    @functools.cached_property
    def _pairs(self) -> list[tuple[str, str, _Footer, _Footer]]:
        """``(name, label, python footer, rust footer)`` per matched file.

        The name is the relative path, or ``SYMBOL@HH:MM`` for intraday, whose two file names differ;
        the label adds both file names then.
        """
        out = []
        for k in self.matched:
            py, rs = self.files["python"][k], self.files["rust"][k]
            label = py.rel if py.rel == rs.rel else f"{k} (python {py.rel}, rust {rs.rel})"
            out.append((k, label, self.footers[py.path], self.footers[rs.path]))
        return out

    @staticmethod
    def _unreadable(label: str, py: _Footer, rs: _Footer) -> list[str]:
        return [f"{label} {side}: {f.error}" for side, f in zip(SIDES, (py, rs), strict=True) if f.error]

    def row_count(self) -> GateResult:
        if not self.matched:
            return self._nothing_to_compare(ROW_COUNT)
        offenders, details, unreadable = [], [], []
        for name, label, py, rs in self._pairs:
            if py.rows is None or rs.rows is None:
                unreadable.append(name)  # a corrupt file is reported as such, not as a row difference
                details += self._unreadable(label, py, rs)
            elif abs(py.rows - rs.rows) > self.tol.row_count:
                offenders.append(name)
                details.append(
                    f"{label}: python {py.rows} rows, rust {rs.rows} rows ({rs.rows - py.rows:+d})"
                )
        n = len(self.matched)
        parts = []
        if unreadable:
            parts.append(
                f"{len(unreadable)} of {n} file(s) unreadable (corrupt parquet): {name_list(unreadable)}"
            )
        if offenders:
            parts.append(
                f"{len(offenders)} of {n} file(s) differ by more than ±{self.tol.row_count} rows: "
                + name_list(offenders)
            )
        offenders = unreadable + offenders
        summary = "; ".join(parts) or f"all {n} file(s) within ±{self.tol.row_count} rows"
        return self._result(ROW_COUNT, not offenders, summary, offenders, details)

    def schema(self) -> GateResult:
        if not self.matched:
            return self._nothing_to_compare(SCHEMA)
        # One line per distinct column difference, naming the files that show it. An archive has
        # few distinct schemas, so each pair is compared once (thousands of intraday files).
        differences = functools.cache(schema_differences)
        differing: dict[tuple[str, str, str], list[str]] = defaultdict(list)
        unreadable: list[str] = []
        bad_files: list[str] = []
        for name, label, py, rs in self._pairs:
            if py.schema is None or rs.schema is None:
                unreadable += self._unreadable(label, py, rs)
                bad_files.append(name)
                continue
            diffs = differences(py.schema, rs.schema)
            for d in diffs:
                differing[d].append(name)
            if diffs:
                bad_files.append(name)
        columns = sorted({col for col, _, _ in differing})
        details = [
            f"{col}: python {a}, rust {b} — {len(files)} file(s): {name_list(files, 5)}"
            for (col, a, b), files in sorted(differing.items())
        ] + unreadable
        if not details:
            return self._result(SCHEMA, True, f"all {len(self.matched)} file(s) have compatible schemas")
        summary = f"{len(bad_files)} of {len(self.matched)} file(s) differ"
        summary += f" in column(s) {', '.join(columns)}" if columns else ""
        summary += f"; {len(unreadable)} unreadable" if unreadable else ""
        return self._result(SCHEMA, False, summary, columns + bad_files, details)

    def _both_tables(
        self, gate: str, columns: list[str]
    ) -> tuple[dict[str, pa.Table] | None, GateResult | None]:
        """The single daily file of each side, read for ``columns``; or the failed gate saying why."""
        if not self.matched:
            return None, self._nothing_to_compare(gate)
        tables = {}
        for side in SIDES:
            e = self.files[side][self.matched[0]]
            try:
                schema = self.footers[e.path].schema
                missing = [c for c in columns if schema is None or c not in schema.names]
                if missing:
                    return None, self._result(
                        gate,
                        False,
                        f"{side} {e.rel} lacks column(s) {', '.join(missing)}",
                        missing,
                    )
                tables[side] = read_columns(e.path, columns)
            except (OSError, pa.ArrowException) as exc:
                return None, self._result(gate, False, f"{side} {e.rel}: unreadable ({exc})", [e.rel])
        return tables, None

    def regime_distribution(self) -> GateResult:
        tables, failed = self._both_tables(REGIME_DISTRIBUTION, ["symbol", "gex_regime"])
        if failed:
            return failed
        assert tables is not None
        regimes = {side: _by_symbol(t) for side, t in tables.items()}
        counts = {side: Counter(_regime_names(t)) for side, t in tables.items()}
        names = list(GEX_REGIMES) + sorted({k for c in counts.values() for k in c} - set(GEX_REGIMES))
        off_regimes = [n for n in names if abs(counts["python"][n] - counts["rust"][n]) > self.tol.regime]
        py, rs = regimes["python"], regimes["rust"]
        changed = sorted(s for s in set(py) | set(rs) if py.get(s) != rs.get(s))
        details = [
            f"{n}: python {counts['python'][n]}, rust {counts['rust'][n]}"
            f" ({counts['rust'][n] - counts['python'][n]:+d})"
            for n in names
        ] + [f"{s}: python {py.get(s, 'absent')}, rust {rs.get(s, 'absent')}" for s in changed]
        dist = ", ".join(f"{n} {counts['python'][n]}/{counts['rust'][n]}" for n in names)
        if off_regimes:
            summary = (
                f"regime counts differ beyond ±{self.tol.regime} in {', '.join(off_regimes)} "
                f"(python/rust: {dist}); symbols: {name_list(changed)}"
            )
            return self._result(REGIME_DISTRIBUTION, False, summary, changed, details)
        summary = f"within ±{self.tol.regime} per regime (python/rust: {dist})"
        return self._result(REGIME_DISTRIBUTION, True, summary, changed, details)

    def iv_rank_values(self) -> GateResult:
        # Every value column of the contract (timestamps are capture times and may differ).
        value_cols = [c for c in IV_RANK.column_names if c not in ("timestamp", "symbol")]
        tables, failed = self._both_tables(IV_RANK_VALUES, ["symbol", *value_cols])
        if failed:
            return failed
        assert tables is not None
        rows = {side: _rows_by_symbol(t) for side, t in tables.items()}
        py, rs = rows["python"], rows["rust"]
        offenders, details = [], []
        for sym in sorted(set(py) | set(rs)):
            if sym not in py or sym not in rs:
                offenders.append(sym)
                details.append(f"{sym}: only in {'python' if sym in py else 'rust'}")
                continue
            if py[sym] is None or rs[sym] is None:
                offenders.append(sym)
                details.append(f"{sym}: duplicated rows in {'python' if py[sym] is None else 'rust'}")
                continue
            diffs = [
                f"{c} python {py[sym][c]!r}, rust {rs[sym][c]!r}"  # type: ignore[index]
                for c in value_cols
                if not _same(py[sym][c], rs[sym][c], self.tol.iv_rank_abs)  # type: ignore[index]
            ]
            if diffs:
                offenders.append(sym)
                details.append(f"{sym}: {'; '.join(diffs)}")
        n = len(set(py) | set(rs))
        if offenders:
            summary = (
                f"{len(offenders)} of {n} symbol(s) differ beyond {self.tol.iv_rank_abs:g}: "
                + name_list(offenders)
            )
        else:
            summary = f"all {n} symbol(s) identical within {self.tol.iv_rank_abs:g}"
        return self._result(IV_RANK_VALUES, not offenders, summary, offenders, details)

    def _captures(self, side: str) -> dict[str, list[dt.time]]:
        out: dict[str, list[dt.time]] = defaultdict(list)
        for e in self.files[side].values():
            out[e.symbol].append(e.captured)  # type: ignore[index, arg-type]
        return {s: sorted(v) for s, v in out.items()}

    def slots_per_symbol(self) -> GateResult:
        captures = {side: self._captures(side) for side in SIDES}
        symbols = sorted(set(captures["python"]) | set(captures["rust"]))
        if not symbols:
            return self._result(
                SLOTS_PER_SYMBOL, False, f"no intraday snapshots for {self.session} on either side"
            )
        slots = {
            side: {s: len({slot_of(t) or t for t in captures[side].get(s, [])}) for s in symbols}
            for side in SIDES
        }
        offenders = [s for s in symbols if slots["python"][s] != slots["rust"][s]]
        details = [
            f"{s}: python {slots['python'][s]} slot(s), rust {slots['rust'][s]} slot(s)" for s in offenders
        ]
        if offenders:
            summary = (
                f"{len(offenders)} of {len(symbols)} symbol(s) captured a different number of slots: "
                + name_list(offenders)
            )
        else:
            summary = f"all {len(symbols)} symbol(s) captured the same number of slots on both sides"
        return self._result(SLOTS_PER_SYMBOL, not offenders, summary, offenders, details)

    def files_per_symbol(self) -> GateResult:
        """Snapshot files per symbol within the runbook's file-count tolerance (±1 by default)."""
        counts = {side: Counter(str(e.symbol) for e in self.files[side].values()) for side in SIDES}
        symbols = sorted(set(counts["python"]) | set(counts["rust"]))
        if not symbols:
            return self._result(
                FILES_PER_SYMBOL, False, f"no intraday snapshots for {self.session} on either side"
            )
        tol = self.tol.file_count
        offenders = [s for s in symbols if abs(counts["python"][s] - counts["rust"][s]) > tol]
        details = [
            f"{s}: python {counts['python'][s]} file(s), rust {counts['rust'][s]} file(s)" for s in offenders
        ]
        if offenders:
            summary = (
                f"{len(offenders)} of {len(symbols)} symbol(s) differ by more than ±{tol} snapshot file(s): "
                + name_list(offenders)
            )
        else:
            summary = f"all {len(symbols)} symbol(s) within ±{tol} snapshot file(s)"
        return self._result(FILES_PER_SYMBOL, not offenders, summary, offenders, details)

    def cadence(self) -> GateResult:
        offenders, details = [], []
        n_symbols = 0
        for side in SIDES:
            for sym, times in sorted(self._captures(side).items()):
                n_symbols += 1
                problems = _cadence_problems(times)
                if problems:
                    offenders.append(f"{sym} ({side})")
                    details += [f"{sym} ({side}): {p}" for p in problems]
        if not n_symbols:
            return self._result(CADENCE, False, f"no intraday snapshots for {self.session} on either side")
        if offenders:
            summary = f"{len(offenders)} symbol/side(s) break the 15-minute cadence: {name_list(offenders)}"
        else:
            summary = "every symbol captured every 15 minutes on both sides"
        return self._result(CADENCE, not offenders, summary, offenders, details)


def _cadence_problems(times: list[dt.time]) -> list[str]:
    """Captures of one symbol must fall in consecutive 15-minute slots, the first at/after 09:35."""
    out = []
    if times and slot_index(times[0]) is None:
        out.append(f"first capture {times[0]:%H:%M:%S} is before {FIRST_SLOT:%H:%M}")
    for prev, cur in itertools.pairwise(times):
        a, b = slot_index(prev), slot_index(cur)
        if a is None or b is None:
            continue
        if b == a:
            out.append(f"two captures in slot {slot_of(cur):%H:%M} ({prev:%H:%M:%S}, {cur:%H:%M:%S})")
        elif b > a + 1:
            missing = [slot_start(i) for i in range(a + 1, b)]
            out.append(
                f"gap: no capture in slot(s) {', '.join(f'{m:%H:%M}' for m in missing)} "
                f"(between {prev:%H:%M:%S} and {cur:%H:%M:%S})"
            )
    return out


def _regime_names(table: pa.Table) -> list[str]:
    return ["null" if r is None else str(r) for r in table.column("gex_regime").to_pylist()]


def _by_symbol(table: pa.Table) -> dict[str, str]:
    return dict(zip(table.column("symbol").to_pylist(), _regime_names(table), strict=True))


def _rows_by_symbol(table: pa.Table) -> dict[str, dict[str, Any] | None]:
    """Rows keyed by symbol; a symbol with more than one row maps to None (it cannot be matched)."""
    out: dict[str, dict[str, Any] | None] = {}
    for row in table.to_pylist():
        sym = row.pop("symbol")
        out[sym] = None if sym in out else row
    return out


def _same(a: Any, b: Any, tol: float) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return abs(a - b) <= tol
