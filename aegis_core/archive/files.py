"""Parquet files of the archive, written atomically and durably (``aegis_core.base.atomic``).

A reader never sees a half-written file, a crash leaves none behind, and a file reported written
survives a crash (the file and its folder are fsynced). Temporaries left by a crashed writer are swept
the next time that file is written; a live writer's never are.
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from aegis_core.archive.schemas import Artefact
from aegis_core.base.atomic import replace_file

METADATA_KEY = b"aegis"
DIGEST_KEY = "digest"  # in the AEGIS metadata: the content digest of the file's rows, taken as written
# Polars' row hash is stable within one release only: a digest names the release that took it, and a
# digest of another release is taken again from the rows (see ``file_digest``).
DIGEST_ALGORITHM = f"rowhash-polars{pl.__version__}"


def digests(frame: pl.DataFrame | pa.Table, by: str | None = "symbol") -> dict[str, str]:
    """``symbol -> content digest`` of ``frame``'s rows (``by=None``: ``{"": digest}`` of all rows).

    A digest is the count and the sum (mod 2^64, in two 32-bit halves) of each row's hash over every
    column, so it does not depend on the order of the rows: the files and the lake give the same digest
    for the same rows whatever order their readers return them in."""
    if isinstance(frame, pa.Table):  # one chunk: hashing a many-chunked table costs far more than this
        converted = pl.from_arrow(frame.replace_schema_metadata(None).combine_chunks())
        assert isinstance(converted, pl.DataFrame)
        frame = converted
    hashes = frame.hash_rows(seed=0)
    if by is None:
        return {
            "": _digest(frame.height, int(hashes.__mod__(2**32).sum()), int(hashes.__floordiv__(2**32).sum()))
        }
    summed = (
        pl.DataFrame({"key": frame.get_column(by), "h": hashes})
        .group_by("key")
        .agg(
            pl.len().alias("n"),
            (pl.col("h") % 2**32).sum().alias("lo"),
            (pl.col("h") // 2**32).sum().alias("hi"),
        )
    )
    return {str(key): _digest(n, lo, hi) for key, n, lo, hi in summed.iter_rows()}


def _digest(rows: int, lo: int, hi: int) -> str:
    return f"{DIGEST_ALGORITHM}:{rows}:{hi & 0xFFFFFFFFFFFFFFFF:016x}{lo & 0xFFFFFFFFFFFFFFFF:016x}"


def table_digest(table: pa.Table) -> str:
    """The content digest of all of ``table``'s rows (see ``digests``)."""
    return digests(table, by=None)[""]


def write_table(path: Path, table: pa.Table, metadata: dict[str, str]) -> int:
    """Write ``table`` to ``path`` atomically with AEGIS metadata; return the file size in bytes.

    The metadata always carries the digest of the rows written (taken here, never copied from
    elsewhere), which ``lake_consistency`` compares with the lake's rows without reading the file."""
    existing = table.schema.metadata or {}
    meta = {**metadata, DIGEST_KEY: table_digest(table)}
    table = table.replace_schema_metadata({**existing, METADATA_KEY: json.dumps(meta, sort_keys=True)})
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
