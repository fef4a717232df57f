"""The end-of-day archive is byte-for-byte what the code produced before the issue-18 changes.

``tests/fixtures/eod_golden/digests.json`` was recorded at the commit before those changes (the
simulated market is deterministic): every archive file's SHA-256 and a digest of every lake table's
rows. Re-record deliberately with ``AEGIS_RECORD_GOLDEN=1`` only when a change of output is intended.
"""

import datetime as dt
import hashlib
import json
import os

import dagster as dg
import pytest

from aegis_core import derived
from aegis_core.archive import symbol_files
from aegis_core.archive.lake import Lake
from aegis_core.archive.schemas import ARTEFACTS
from aegis_core.settings import load_settings
from aegis_pipelines.definitions import build_definitions
from tests.conftest import PROJECT

GOLDEN = PROJECT / "tests/fixtures/eod_golden/digests.json"
DAY = dt.date(2026, 11, 20)


def archive_digests(root):
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def lake_digests(root):
    lake = Lake(str(root))
    out = {}
    for table in ARTEFACTS:
        rows = lake.read_sessions(table, DAY, DAY)
        if rows is None:
            continue
        rows = rows.select(sorted(rows.columns))
        rows = rows.sort(rows.columns)
        out[table] = {
            "rows": rows.height,
            "schema": {k: str(v) for k, v in rows.schema.items()},
            "sha256": hashlib.sha256(rows.write_csv().encode()).hexdigest(),
        }
    return out


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
    if os.environ.get("AEGIS_RECORD_GOLDEN") == "1" and not small:
        GOLDEN.write_text(json.dumps(found, indent=1, sort_keys=True) + "\n")
    expected = json.loads(GOLDEN.read_text())
    assert found["archive"] == expected["archive"]
    assert found["lake"] == expected["lake"]
