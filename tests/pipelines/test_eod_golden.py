"""The end-of-day archive is what the code produced before the issue-18 changes.

Recorded at the commit before those changes (the simulated market is deterministic):

- ``reference/``: that run's archive files and lake rows. Every run is compared with them value by
  value: same files, schemas, metadata, rows and order; floats within 1e-9 relative. The simulated
  prices go through numpy's exp/log, whose last bit depends on the CPU's vector unit (AVX-512 or
  not), so the same code gives different bytes on different machines.
- ``digests.json``: per kind of CPU (``float_platform()``), every archive file's SHA-256 and a digest
  of every lake table's rows. Where this machine's kind was recorded, the run must match it byte for
  byte as well.

Re-record deliberately with ``AEGIS_RECORD_GOLDEN=1`` only when a change of output is intended (or to
add this machine's kind, at the commit before the changes).
"""

import datetime as dt
import hashlib
import json
import os
import platform
import shutil

import dagster as dg
import numpy as np
import polars as pl
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from aegis_core.archive import files, symbol_files
from aegis_core.archive.lake import Lake
from aegis_core.archive.schemas import ARTEFACTS
from aegis_core.base.settings import load_settings
from aegis_core.ldas import derived
from aegis_pipelines.definitions import build_definitions
from tests.conftest import PROJECT

GOLDEN = PROJECT / "tests/fixtures/eod_golden/digests.json"
REFERENCE = PROJECT / "tests/fixtures/eod_golden/reference"
DAY = dt.date(2026, 11, 20)


def archive_digests(root):
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def lake_rows(root) -> dict[str, pl.DataFrame]:
    """Every table's rows of the session, columns and rows in a canonical order."""
    lake, out = Lake(str(root)), {}
    for table in ARTEFACTS:
        rows = lake.read_sessions(table, DAY, DAY)
        if rows is not None:
            rows = rows.select(sorted(rows.columns))
            out[table] = rows.sort(rows.columns)
    return out


def lake_digests(root):
    out = {}
    for table, rows in lake_rows(root).items():
        out[table] = {
            "rows": rows.height,
            "schema": {k: str(v) for k, v in rows.schema.items()},
            "sha256": hashlib.sha256(rows.write_csv().encode()).hexdigest(),
        }
    return out


def float_platform() -> str:
    """The kind of machine whose floating-point results a digest holds: architecture and numpy's
    highest vector level (``x86_64 X86_V4`` with AVX-512, ``x86_64 X86_V3`` with AVX2)."""
    simd = np.show_config(mode="dicts")["SIMD Extensions"]
    levels = sorted(x for x in [*simd["baseline"], *simd["found"]] if x.startswith("X86_V"))
    return f"{platform.machine()} {levels[-1] if levels else 'baseline'}"


def assert_same_values(found: pl.DataFrame, expected: pl.DataFrame, what: str) -> None:
    assert found.schema == expected.schema, what
    assert found.height == expected.height, what
    for name, dtype in expected.schema.items():
        a, b = found.get_column(name), expected.get_column(name)
        if dtype.is_float():
            assert a.is_null().equals(b.is_null()), f"{what}: {name} nulls differ"
            x, y = a.drop_nulls().to_numpy(), b.drop_nulls().to_numpy()
            assert np.allclose(x, y, rtol=1e-9, atol=1e-12, equal_nan=True), f"{what}: {name} differs"
        else:
            assert a.equals(b, null_equal=True), f"{what}: {name} differs"


def assert_same_metadata(found, expected, what: str) -> None:
    """The AEGIS metadata as recorded, but for the content digest (issue 24, added after the recording):
    it must be the digest of the file's own rows, which differs in the last bits from one kind of CPU to
    another as the floats do."""
    have, want = (json.loads(t.schema.metadata[files.METADATA_KEY]) for t in (found, expected))
    digest = have.pop(files.DIGEST_KEY, None)
    want.pop(files.DIGEST_KEY, None)
    assert have == want, what
    if digest is not None:  # absent only from the reference's own files (the comparison's self-test)
        rows = found.replace_schema_metadata(None)
        assert digest == files.table_digest(rows), f"{what}: digest of other rows"
    rest = {k: v for k, v in (found.schema.metadata or {}).items() if k != files.METADATA_KEY}
    assert rest == {k: v for k, v in (expected.schema.metadata or {}).items() if k != files.METADATA_KEY}


def assert_like_reference(archive, lake) -> None:
    files = sorted(
        p.relative_to(REFERENCE / "archive") for p in (REFERENCE / "archive").rglob("*") if p.is_file()
    )
    assert sorted(p.relative_to(archive) for p in archive.rglob("*") if p.is_file()) == files
    for relative in files:
        if relative.suffix != ".parquet":
            assert (archive / relative).read_bytes() == (REFERENCE / "archive" / relative).read_bytes()
            continue
        found, expected = pq.read_table(archive / relative), pq.read_table(REFERENCE / "archive" / relative)
        assert found.schema.equals(expected.schema, check_metadata=False), relative
        assert_same_metadata(found, expected, str(relative))
        assert_same_values(pl.from_arrow(found), pl.from_arrow(expected), str(relative))
    tables = lake_rows(lake)
    assert sorted(tables) == sorted(p.stem for p in (REFERENCE / "lake").glob("*.parquet"))
    for table, rows in tables.items():
        assert_same_values(rows, pl.read_parquet(REFERENCE / "lake" / f"{table}.parquet"), f"lake {table}")


@pytest.mark.parametrize("small", [False, True], ids=["default-batches", "small-batches-and-groups"])
def test_eod_archive_and_lake_identical_to_the_recorded_run(sim_env, tmp_path, monkeypatch, small):
    if small:  # two chains in hand at a time, lake batches of ~100 rows, the analytics symbol by symbol
        monkeypatch.setattr(symbol_files, "MAX_PENDING", 2)
        monkeypatch.setattr(symbol_files, "LAKE_BATCH_ROWS", 100)
        monkeypatch.setattr(derived, "GROUP_CONTRACTS", 100)
    defs = build_definitions(load_settings())
    with dg.instance_for_test() as instance:
        result = defs.resolve_job_def("ldas_eod_job").execute_in_process(
            partition_key=DAY.isoformat(), instance=instance, raise_on_error=False
        )
    assert result.success
    found = {"archive": archive_digests(tmp_path / "archive"), "lake": lake_digests(tmp_path / "lake")}
    assert found["archive"] and found["lake"]
    recorded = json.loads(GOLDEN.read_text())
    if os.environ.get("AEGIS_RECORD_GOLDEN") == "1" and not small:
        recorded[float_platform()] = found
        GOLDEN.write_text(json.dumps(recorded, indent=1, sort_keys=True) + "\n")
    assert_like_reference(tmp_path / "archive", tmp_path / "lake")
    if float_platform() in recorded:  # byte for byte where this kind of machine was recorded
        assert found["archive"] == recorded[float_platform()]["archive"]
        assert found["lake"] == recorded[float_platform()]["lake"]


def test_the_reference_comparison_tells_a_price_off_by_a_millionth(tmp_path):
    archive = tmp_path / "archive"
    shutil.copytree(REFERENCE / "archive", archive)
    chain = archive / "options/CORN/2026/11/20.parquet"
    table = pq.read_table(chain)
    column = table.schema.get_field_index("bid")
    table = table.set_column(column, table.schema.field(column), pc.multiply(table.column(column), 1.000001))
    files.write_table(chain, table.replace_schema_metadata(None), files.read_metadata(chain))  # as the writer
    with pytest.raises(AssertionError, match="bid differs"):
        assert_like_reference(archive, tmp_path / "lake")
