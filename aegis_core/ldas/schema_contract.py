"""The column contract: a file's (or table's) columns, types and nullability against its artefact's.

``schema_differences`` is shared with the parity comparison and the archive guard.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from aegis_core.archive.schemas import ARTEFACTS, Artefact, logical_type
from aegis_core.base.gates import GateResult, name_list

SCHEMA_CONTRACT = "schema_contract"


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


def files_schema_contract(
    root: Path,
    files: Sequence[Path],
    contract: str | Artefact,
    *,
    artefact: str,
    label: str,
    noun: str,
    known: Mapping[Path, pa.Schema] | None = None,
) -> GateResult:
    """Every one of ``files`` (under ``root``) meets ``contract``; a failure groups the files by finding.

    ``artefact`` names the gate's artefact, ``label`` what the files are of (a session, a slot), ``noun``
    what to call them ("stocks file", "snapshot"). ``known``: the schemas of files the same run has just
    written (the writer's own record), used instead of reading those files' footers again."""
    known = known or {}
    by_problem: dict[str, list[str]] = defaultdict(list)  # finding -> files showing it
    columns: set[str] = set()
    bad: list[str] = []
    for path in files:
        rel = path.relative_to(root).as_posix()
        result = schema_contract(known.get(path, path), contract)
        if result.passed:
            continue
        bad.append(rel)
        if result.details:
            columns.update(result.offenders)
            for line in result.details:
                by_problem[line].append(rel)
        else:  # unreadable
            by_problem[result.summary.replace(str(path), rel)].append(rel)
    if not bad:
        return GateResult(
            artefact, SCHEMA_CONTRACT, True, f"{label}: all {len(files)} {noun}(s) meet the contract"
        )
    summary = f"{label}: {len(bad)} of {len(files)} {noun}(s) break the contract"
    summary += f" in column(s) {', '.join(sorted(columns))}" if columns else ""
    summary += f": {name_list(bad, 5)}"
    details = tuple(f"{line} — {name_list(rels, 5)}" for line, rels in sorted(by_problem.items()))
    return GateResult(artefact, SCHEMA_CONTRACT, False, summary, (*sorted(columns), *bad), details)
