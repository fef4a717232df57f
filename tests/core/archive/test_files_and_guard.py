import datetime as dt
import os
import subprocess
import sys

import polars as pl
import pyarrow.parquet as pq
import pytest

from aegis_core.archive import files, guard
from aegis_core.archive.files import read_metadata, write_artefact
from aegis_core.archive.schemas import GEX_SUMMARY, VIX


def vix_frame(close=17.5):
    return pl.DataFrame(
        {
            "timestamp": [dt.datetime(2026, 11, 20, 5, tzinfo=dt.UTC)],
            "symbol": ["VIX"],
            "open": [17.0],
            "high": [18.0],
            "low": [16.5],
            "close": [close],
        }
    )


def test_written_file_carries_the_contract_and_metadata(tmp_path):
    path = tmp_path / "vix/2026/11/20.parquet"
    write_artefact(path, VIX, vix_frame(), {"source": "sim"})
    schema = pq.read_schema(path)
    assert schema.names == VIX.column_names
    assert all(not schema.field(n).nullable for n in VIX.column_names)
    assert schema.field("timestamp").type.unit == "us" and schema.field("timestamp").type.tz == "UTC"
    # The writer's own digest of the rows written, whatever the caller passed as metadata.
    digest = files.table_digest(pq.read_table(path).replace_schema_metadata(None))
    assert read_metadata(path) == {"source": "sim", "digest": digest}
    write_artefact(path, VIX, vix_frame(), {"source": "sim", "digest": "copied from elsewhere"})
    assert read_metadata(path)["digest"] == digest
    assert list(tmp_path.rglob("*.tmp")) == []


def test_contract_violation_writes_nothing(tmp_path):
    path = tmp_path / "gex_summary/2026/11/20.parquet"
    bad = pl.DataFrame(
        {
            "timestamp": [dt.datetime(2026, 11, 20, tzinfo=dt.UTC)],
            "symbol": ["SPY"],
            "net_gex": [1.0],
            "abs_gex": [1.0],
            "zero_gamma_level": [None],
            "gamma_wall": [1.0],
            "put_wall": [1.0],
            "gex_regime": ["positive"],
            "underlying_price": [1.0],
        }
    )
    with pytest.raises(ValueError, match="zero_gamma_level"):
        write_artefact(path, GEX_SUMMARY, bad, {})
    assert not any(p.is_file() for p in tmp_path.rglob("*"))


def test_rewrite_replaces_and_a_reader_of_the_old_file_is_not_disturbed(tmp_path):
    path = tmp_path / "vix/2026/11/20.parquet"
    write_artefact(path, VIX, vix_frame(17.5), {})
    with open(path, "rb") as old:  # a consumer that opened the file before the re-run
        write_artefact(path, VIX, vix_frame(19.0), {})
        assert pl.read_parquet(old)["close"].to_list() == [17.5]  # the old file, whole
    assert pl.read_parquet(path)["close"].to_list() == [19.0]
    assert [p.name for p in path.parent.iterdir()] == ["20.parquet"]


def test_killed_writer_leaves_no_partial_file_and_is_swept(tmp_path):
    # A writer killed after writing its temporary but before the rename.
    path = tmp_path / "vix/2026/11/20.parquet"
    code = f"""
import os, signal, polars as pl, datetime as dt
from aegis_core.archive import files
from aegis_core.archive.schemas import VIX
os.replace = lambda *a: os.kill(os.getpid(), signal.SIGKILL)
frame = pl.DataFrame({{"timestamp": [dt.datetime(2026,11,20,tzinfo=dt.UTC)], "symbol": ["VIX"], "open": [1.0],
                      "high": [1.0], "low": [1.0], "close": [1.0]}})
files.write_artefact(__import__("pathlib").Path({str(path)!r}), VIX, frame, {{}})
"""
    proc = subprocess.run([sys.executable, "-c", code], cwd=os.getcwd())
    assert proc.returncode == -9
    assert not path.exists()
    leftovers = list(path.parent.glob(".*.tmp"))
    assert len(leftovers) == 1  # invisible to readers of *.parquet
    write_artefact(path, VIX, vix_frame(), {})  # the writer is gone: its temporary is swept
    assert list(path.parent.glob(".*.tmp")) == [] and path.exists()


def test_guard_refuses_simulated_data_in_a_real_archive(tmp_path):
    legacy = tmp_path / "vix/2026/11/19.parquet"
    write_artefact(legacy, VIX, vix_frame(), {})  # a pre-existing archive without our marker
    with pytest.raises(guard.ArchiveKindError, match=r"refusing to write simulated data .* real market data"):
        guard.claim(tmp_path, "sim")
    assert guard.claim(tmp_path, "polygon") == "real"


def test_guard_marks_new_archives_and_keeps_kinds_apart(tmp_path):
    assert guard.claim(tmp_path / "new", "sim") == "sim"
    assert guard.recorded_kind(tmp_path / "new") == "sim"
    with pytest.raises(guard.ArchiveKindError, match=r"real data .* simulated"):
        guard.claim(tmp_path / "new", "polygon")
