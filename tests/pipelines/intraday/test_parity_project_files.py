"""Intraday parity checks on snapshots the project wrote (simulated market) against a reference copy.

The reference is the same slots as the Rust daemon would file them: same content, another capture
second in the name. The Dagster checks on ``ldas/intraday_cadence`` and ``aegis parity --types
intraday`` read the same two archives and agree gate by gate.
"""

import datetime as dt
import json
import shutil

import dagster as dg

from aegis_core.archive import layout
from aegis_core.base.settings import load_settings
from aegis_pipelines.cli import main
from aegis_pipelines.ldas.eod import eod_definitions
from aegis_pipelines.ldas.intraday import intraday_definitions
from aegis_pipelines.ldas.quality import quality_definitions
from tests.pipelines.intraday.conftest import run_job

SESSION = "2026-11-20"
SESSION_DAY = dt.date(2026, 11, 20)
RANGE = {
    "dagster/asset_partition_range_start": f"{SESSION}-09:35",
    "dagster/asset_partition_range_end": f"{SESSION}-10:05",
}


def defs_with_reference(monkeypatch, reference) -> dg.Definitions:
    monkeypatch.setenv("AEGIS_PARITY_ROOT", str(reference))
    settings = load_settings()
    return dg.Definitions.merge(
        eod_definitions(settings), quality_definitions(settings), intraday_definitions(settings)
    )


def as_rust_daemon(archive, reference) -> None:
    """A copy of the archive whose snapshots carry the capture second 47 instead of 00."""
    shutil.copytree(archive / "options", reference / "options")
    for path in (reference / "options").rglob("*_pt_*00.parquet"):
        path.rename(path.with_name(path.name.replace("00.parquet", "47.parquet")))


def parity(defs, instance) -> dict[str, dg.AssetCheckEvaluation]:
    result = run_job(defs, instance, "ldas_intraday_cadence_job", SESSION)
    assert result.success
    return {
        e.check_name.removeprefix("parity_"): e
        for e in result.get_asset_check_evaluations()
        if e.check_name.startswith("parity_")
    }


def cli(archive, reference, capsys) -> dict[str, bool]:
    roots = ["--python-archive", str(archive), "--rust-archive", str(reference)]
    main(["parity", *roots, "--date", SESSION, "--types", "intraday", "--json"])
    return {g["gate"]: g["passed"] for g in json.loads(capsys.readouterr().out)["gates"]}


def test_parity_on_project_written_snapshots(defs, instance, tmp_path, monkeypatch, capsys):
    archive, reference = tmp_path / "archive", tmp_path / "rust"
    assert run_job(defs, instance, "ldas_intraday_job", tags=RANGE).success  # 3 slots × 3 symbols
    as_rust_daemon(archive, reference)
    checked = defs_with_reference(monkeypatch, reference)

    checks = parity(checked, instance)
    assert all(c.passed for c in checks.values()), {g: c.description for g, c in checks.items()}
    assert checks["file_names"].description == "9 symbol/slot(s) match 1:1"
    assert cli(archive, reference, capsys) == {g: True for g in checks}

    # The reference missed CORN's 09:50 slot (3 slots × 3 symbols were captured: 9 files per side).
    (missing,) = [
        p for t, p in layout.intraday_files(reference, "CORN", SESSION_DAY).items() if t.minute == 50
    ]
    missing.unlink()
    checks = parity(checked, instance)
    failed = {g for g, c in checks.items() if not c.passed}
    assert failed == {"file_names", "slots_per_symbol", "cadence"}
    assert "CORN" in checks["slots_per_symbol"].description
    # 8 against 9 files overall and 2 against 3 for CORN stay within the runbook's ±1.
    assert checks["file_count"].passed and checks["files_per_symbol"].passed
    assert cli(archive, reference, capsys) == {g: c.passed for g, c in checks.items()}
