"""Atomic parquet files: a reader never sees a half-written file, a crash leaves none behind.

Each file is written to a hidden temporary file in its own folder, fsynced, and renamed over the
target. Temporaries left by a crashed writer are swept the next time that file is written.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from aegis_core.archive.schemas import Artefact

METADATA_KEY = b"aegis"


def _temp_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.tmp")


def sweep_temps(path: Path) -> int:
    """Remove temporaries a crashed writer left for ``path``; return how many."""
    removed = 0
    if path.parent.is_dir():
        for stale in path.parent.glob(f".{path.name}.*.tmp"):
            stale.unlink(missing_ok=True)
            removed += 1
    return removed


def write_table(path: Path, table: pa.Table, metadata: dict[str, str]) -> int:
    """Write ``table`` to ``path`` atomically with AEGIS metadata; return the file size in bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sweep_temps(path)
    existing = table.schema.metadata or {}
    table = table.replace_schema_metadata({**existing, METADATA_KEY: json.dumps(metadata, sort_keys=True)})
    tmp = _temp_name(path)
    try:
        with open(tmp, "wb") as fh:
            pq.write_table(table, fh, compression="zstd")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path.stat().st_size


def write_artefact(path: Path, artefact: Artefact, frame, metadata: dict[str, str]) -> int:
    """Conform a polars frame to ``artefact``'s contract and write it atomically."""
    return write_table(path, artefact.to_arrow(frame), metadata)


def read_metadata(path: Path) -> dict[str, str]:
    """The AEGIS metadata of a parquet file (empty for files written by other tools)."""
    raw = (pq.read_schema(path).metadata or {}).get(METADATA_KEY)
    return json.loads(raw) if raw else {}


def fsync_dir(folder: Path) -> None:
    """Make renames inside ``folder`` durable."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
