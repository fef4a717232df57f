"""Keep simulated and real market data apart, in both stores (contract §2).

An archive root records the kind of data it holds in a marker file. A root without a marker that
already contains parquet files is a pre-existing (real) archive, unless its files say otherwise.
A lake records the kind as the table property ``aegis.source`` of each table (set when the table is
created; the table's metadata is carried by every later commit and checkpoint, so maintenance commits
never lose it) and in every commit it makes (commit metadata ``aegis.source``, read through a table's
whole history where the property is missing), which works the same on a local folder and on object
storage. Writing one kind of data into a store that
holds the other is refused before anything is written, and so is writing into a lake table whose
existing schema is not the column contract.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pyarrow as pa

from aegis_core.archive.files import read_metadata
from aegis_core.archive.lake import Lake, lake_columns
from aegis_core.archive.schemas import ARTEFACTS, Artefact, logical_type
from aegis_core.base.atomic import replace_bytes
from aegis_core.base.store_errors import store_error
from aegis_core.base.user_files import TOKEN_MAX_BYTES, UserFileError, read_user_file

MARKER = ".aegis-archive.json"
SIM, REAL = "sim", "real"


class ArchiveKindError(RuntimeError):
    pass


class LakeSchemaError(RuntimeError):
    pass


_WHAT = {SIM: "simulated", REAL: "real"}


def data_kind(source: str) -> str:
    """``sim`` for the simulated market, ``real`` for every real data source."""
    return SIM if source == SIM else REAL


def _first_parquet(root: Path) -> Path | None:
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in files:
            if name.endswith(".parquet") and not name.startswith("."):
                return Path(folder) / name
    return None


def recorded_kind(root: Path) -> str | None:
    """The kind of data ``root`` holds, or None for an empty/new archive."""
    marker = root / MARKER
    if marker.exists():
        return _marker_kind(marker)
    sample = _first_parquet(root) if root.is_dir() else None
    if sample is None:
        return None
    try:
        metadata = read_metadata(sample)
    except Exception as exc:  # a corrupt file: named, not an ArrowInvalid that names nothing
        raise store_error(f"archive {root}", f"file {sample}", exc) from None
    return SIM if metadata.get("source") == SIM else REAL


def _marker_kind(marker: Path) -> str:
    """The kind a marker file records; one clear line naming the file when it is unusable."""
    try:
        doc = json.loads(read_user_file(marker, max_bytes=TOKEN_MAX_BYTES, what="archive marker"))
    except UserFileError as exc:  # a FIFO, a device, a runaway file: never waited on or read whole
        raise ArchiveKindError(f'{exc}: it must be JSON like {{"kind": "real"}}: fix or remove it') from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ArchiveKindError(
            f"archive marker {marker} is unreadable ({type(exc).__name__}: {exc}); it must be JSON like "
            f'{{"kind": "sim"}} or {{"kind": "real"}}: fix or remove it'
        ) from None
    kind = doc.get("kind") if isinstance(doc, dict) else None
    if kind not in (SIM, REAL):
        raise ArchiveKindError(
            f'archive marker {marker} does not record a kind ("kind": "sim" or "real"), got '
            f"{json.dumps(doc)[:80]}: fix or remove it"
        )
    return str(kind)


def _refuse_other_kind(root: Path, kind: str, held: str | None) -> None:
    if held is not None and held != kind:
        raise ArchiveKindError(
            f"refusing to write {_WHAT[kind]} data into archive {root}: it already holds {_WHAT[held]} "
            f"market data. Point AEGIS_ARCHIVE_ROOT at another folder."
        )


def claim(root: Path, source: str) -> str:
    """Check that ``root`` may receive data from ``source`` and record its kind; return the kind."""
    kind = data_kind(source)
    _refuse_other_kind(root, kind, recorded_kind(root))
    marker = root / MARKER
    if not marker.exists():
        replace_bytes(marker, (json.dumps({"kind": kind}) + "\n").encode())
    return kind


def check_lake(lake: Lake, source: str, artefact: Artefact, held: dict[str, str] | None = None) -> None:
    """Refuse (before anything is written) a lake that holds the other kind of data, or whose table
    for ``artefact`` does not have the contract's schema. A new lake or table passes. ``held``: the
    lake's kinds when the caller already read them."""
    kind = data_kind(source)
    held = lake.kinds(required=artefact.name) if held is None else held
    other = {t: k for t, k in held.items() if k != kind}
    if other:
        tables = ", ".join(sorted(other))
        raise ArchiveKindError(
            f"refusing to write {_WHAT[kind]} data into lake {lake.root}: its table(s) {tables} already "
            f"hold {_WHAT[next(iter(other.values()))]} market data. Point AEGIS_LAKE_ROOT at another lake."
        )
    found = lake.arrow_schema(artefact.name)
    if found is None:
        return
    wanted = pa.schema([c.arrow_field for c in lake_columns(artefact)])
    diffs = [(n, a, b) for n, a, b in _schema_differences(found, wanted)]
    if diffs:
        listed = "; ".join(f"{n}: table has {a}, contract wants {b}" for n, a, b in diffs[:8])
        raise LakeSchemaError(
            f"refusing to write into lake table {lake.uri(artefact.name)}: its schema does not match the "
            f"{artefact.name} column contract ({listed}). Migrate or move the table first."
        )


def _schema_differences(found: pa.Schema, wanted: pa.Schema) -> list[tuple[str, str, str]]:
    # Delta stores every column as nullable; compare names and logical types only.
    have = {f.name: logical_type(f.type) for f in found}
    want = {f.name: logical_type(f.type) for f in wanted}
    return [
        (n, have.get(n, "absent"), want.get(n, "absent"))
        for n in [*want, *(n for n in have if n not in want)]
        if have.get(n) != want.get(n)
    ]


def preflight(root: Path, lake: Lake, source: str) -> None:
    """Every refusal ``claim``/``check_lake`` would make, made before a run fetches anything, and
    without writing the marker: one clear error instead of one per asset after the fetch."""
    _refuse_other_kind(root, data_kind(source), recorded_kind(root))
    held = lake.kinds()
    for artefact in ARTEFACTS.values():
        check_lake(lake, source, artefact, held)
