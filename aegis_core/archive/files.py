"""Parquet files of the archive, written atomically and durably (``aegis_core.atomic``).

A reader never sees a half-written file, a crash leaves none behind, and a file reported written
survives a crash (the file and its folder are fsynced). Temporaries left by a crashed writer are swept
the next time that file is written; a live writer's never are.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from aegis_core.archive.schemas import Artefact
from aegis_core.atomic import replace_file

METADATA_KEY = b"aegis"


def write_table(path: Path, table: pa.Table, metadata: dict[str, str]) -> int:
    """Write ``table`` to ``path`` atomically with AEGIS metadata; return the file size in bytes."""
    existing = table.schema.metadata or {}
    table = table.replace_schema_metadata({**existing, METADATA_KEY: json.dumps(metadata, sort_keys=True)})
    return replace_file(path, lambda fh: pq.write_table(table, fh, compression="zstd"))


def write_artefact(path: Path, artefact: Artefact, frame, metadata: dict[str, str]) -> int:
    """Conform a polars frame to ``artefact``'s contract and write it atomically."""
    return write_table(path, artefact.to_arrow(frame), metadata)


def read_columns(path: Path, columns: list[str] | None = None) -> pa.Table:
    """One parquet file (or some of its columns). ``ParquetFile`` rather than ``pq.read_table``: the
    latter goes through the dataset layer, whose first use imports pandas (about a second)."""
    with pq.ParquetFile(path) as file:
        return file.read(columns=columns)


def read_metadata(path: Path) -> dict[str, str]:
    """The AEGIS metadata of a parquet file (empty for files written by other tools)."""
    raw = (pq.read_schema(path).metadata or {}).get(METADATA_KEY)
    return json.loads(raw) if raw else {}
