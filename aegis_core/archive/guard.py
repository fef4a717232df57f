"""Keep simulated and real market data apart (SPEC §2).

An archive root records the kind of data it holds in a marker file. A root without a marker that
already contains parquet files is a pre-existing (real) archive, unless its files say otherwise.
Writing one kind of data into a root that holds the other is refused before anything is written.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from aegis_core.archive.files import read_metadata

MARKER = ".aegis-archive.json"
SIM, REAL = "sim", "real"


class ArchiveKindError(RuntimeError):
    pass


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
        return json.loads(marker.read_text())["kind"]
    sample = _first_parquet(root) if root.is_dir() else None
    if sample is None:
        return None
    return SIM if read_metadata(sample).get("source") == SIM else REAL


def claim(root: Path, source: str) -> str:
    """Check that ``root`` may receive data from ``source`` and record its kind; return the kind."""
    kind = data_kind(source)
    held = recorded_kind(root)
    if held is not None and held != kind:
        what = {SIM: "simulated", REAL: "real"}
        raise ArchiveKindError(
            f"refusing to write {what[kind]} data into archive {root}: it already holds {what[held]} "
            f"market data. Point AEGIS_ARCHIVE_ROOT at another folder."
        )
    marker = root / MARKER
    if not marker.exists():
        root.mkdir(parents=True, exist_ok=True)
        tmp = root / f".{MARKER}.tmp"
        tmp.write_text(json.dumps({"kind": kind}) + "\n")
        os.replace(tmp, marker)
    return kind
