"""The intraday checks and the readiness asset on archives written by the independent pyarrow writer.

The archive under test and the reference (Rust) archive come from ``tests/parity/archive_builder``;
the Dagster checks and ``aegis parity`` / ``aegis parity readiness`` are run on the same files and
must agree gate by gate.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pyarrow as pa
import pytest

from aegis_assets.ldas.intraday_checks import CAPTURE_WINDOW_CHECK, SLOT_COVERAGE_CHECK, SLOT_SCHEMA_CHECK
from aegis_core.base.settings import load_settings
from aegis_core.calendar import NY
from aegis_core.ldas.parity import gates_for
from aegis_pipelines.cli import main
from aegis_pipelines.definitions import build_definitions
from tests.conftest import PROJECT
from tests.parity.archive_builder import (
    PYTHON,
    RUST,
    SESSION,
    SYMBOLS,
    build_archive,
    rewrite,
    set_column,
    snapshot_of,
)

SLOT = "2026-04-10-10:05"
SESSION_KEY = SESSION.isoformat()


@dataclass(frozen=True)
class Archives:
    python: Path
    rust: Path


@pytest.fixture
def archives(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Archives:
    python, rust = build_archive(tmp_path / "archive", PYTHON), build_archive(tmp_path / "rust", RUST)
    universe = tmp_path / "universe.txt"
    universe.write_text("\n".join(SYMBOLS) + "\n")
    env = {
        "AEGIS_CONFIG": str(PROJECT / "configs/local.yaml"),
        "AEGIS_ARCHIVE_ROOT": str(python),
        "AEGIS_LAKE_ROOT": str(tmp_path / "lake"),
        "AEGIS_UNIVERSE_FILE": str(universe),
        "AEGIS_PARITY_ROOT": str(rust),
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    for key in ("SLACK_BOT_TOKEN", "AEGIS_SLACK_CHANNEL"):
        monkeypatch.delenv(key, raising=False)
    return Archives(python, rust)


@pytest.fixture(scope="module")
def instance():
    with dg.instance_for_test() as shared:
        yield shared


def run(instance, job: str, **kw) -> dg.ExecuteInProcessResult:
    defs = build_definitions(load_settings())
    return defs.resolve_job_def(job).execute_in_process(instance=instance, raise_on_error=False, **kw)


def evaluations(result) -> dict[str, dg.AssetCheckEvaluation]:
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


# --- per-slot checks ------------------------------------------------------------------------------


def slot_checks(instance) -> tuple[dg.ExecuteInProcessResult, dict[str, dg.AssetCheckEvaluation]]:
    result = run(instance, "ldas_slot_checks_job", tags={"dagster/partition": SLOT})
    return result, evaluations(result)


def test_slot_checks_pass_on_independently_written_snapshots(archives, instance):
    result, evals = slot_checks(instance)
    assert result.success and set(evals) == {SLOT_SCHEMA_CHECK, SLOT_COVERAGE_CHECK, CAPTURE_WINDOW_CHECK}
    assert all(e.passed and e.partition == SLOT for e in evals.values()), [
        e.description for e in evals.values()
    ]
    assert "6/6 universe symbols" in evals[SLOT_COVERAGE_CHECK].description


def test_slot_checks_fail_on_broken_independent_snapshots(archives, instance):
    snapshot_of(archives.python, "MSFT", dt.time(10, 5)).unlink()
    tsla = snapshot_of(archives.python, "TSLA", dt.time(10, 5))
    rewrite(tsla, lambda t: _loosen(t, "ticker"))  # the contract says not null
    late = dt.datetime(2026, 4, 10, 9, 58, tzinfo=NY).astimezone(dt.UTC)  # a stale chain filed under 10:05
    set_column(snapshot_of(archives.python, "AAPL", dt.time(10, 5)), "timestamp", {"AAPL": late})

    result, evals = slot_checks(instance)
    assert not result.success  # the blocking contract check failed
    assert "missing MSFT" in evals[SLOT_COVERAGE_CHECK].description
    assert evals[SLOT_COVERAGE_CHECK].metadata["offenders"].value == ["MSFT"]
    assert (
        "in column(s) ticker: options/TSLA/2026/04/10_pt_100512.parquet"
        in evals[SLOT_SCHEMA_CHECK].description
    )
    window = evals[CAPTURE_WINDOW_CHECK]
    assert not window.passed and "options/AAPL/2026/04/10_pt_100512.parquet" in window.description
    assert "captured 09:58:00 ET, outside 10:05–10:20 ET" in window.metadata["details"].value


def _loosen(table: pa.Table, column: str) -> pa.Table:
    return table.cast(pa.schema([f.with_nullable(True) if f.name == column else f for f in table.schema]))


# --- intraday parity: the Dagster checks and the CLI agree ----------------------------------------


def parity_evaluations(instance) -> dict[str, dg.AssetCheckEvaluation]:
    result = run(instance, "ldas_intraday_cadence_job", partition_key=SESSION_KEY)
    assert result.success
    evals = evaluations(result)
    parity = {k.removeprefix("parity_"): v for k, v in evals.items() if k.startswith("parity_")}
    assert set(parity) == set(gates_for("intraday"))
    assert {e.asset_key.to_user_string() for e in parity.values()} == {"ldas/intraday_cadence"}
    return parity


def cli_gates(archives: Archives, capsys) -> tuple[int, dict[str, dict]]:
    roots = ["--python-archive", str(archives.python), "--rust-archive", str(archives.rust)]
    code = main(["parity", *roots, "--date", SESSION_KEY, "--types", "intraday", "--json"])
    payload = json.loads(capsys.readouterr().out)
    return code, {g["gate"]: g for g in payload["gates"]}


def test_intraday_parity_checks_agree_with_the_cli(archives, instance, capsys):
    checks = parity_evaluations(instance)
    code, gates = cli_gates(archives, capsys)
    assert code == 0 and all(c.passed for c in checks.values())
    assert {g: c.description for g, c in checks.items()} == {g: v["summary"] for g, v in gates.items()}

    # The Rust daemon missed SPY's 10:05 and 10:20 slots: slots, files per symbol, names and cadence
    # fail in both; the total file count (154 vs 156) is beyond ±1 too.
    for slot in (dt.time(10, 5), dt.time(10, 20)):
        snapshot_of(archives.rust, "SPY", slot).unlink()
    checks = parity_evaluations(instance)
    code, gates = cli_gates(archives, capsys)
    assert code == 1
    assert {g: c.passed for g, c in checks.items()} == {g: v["passed"] for g, v in gates.items()}
    assert {g for g, c in checks.items() if not c.passed} == {
        "file_count",
        "file_names",
        "slots_per_symbol",
        "files_per_symbol",
        "cadence",
    }
    assert checks["files_per_symbol"].description == gates["files_per_symbol"]["summary"]
    assert "SPY" in checks["files_per_symbol"].description
    assert checks["slots_per_symbol"].severity == dg.AssetCheckSeverity.WARN


# --- readiness: the asset and the CLI agree --------------------------------------------------------


def test_readiness_asset_metadata_matches_the_cli(archives, instance, capsys):
    build_archive(archives.python, PYTHON, day=dt.date(2026, 4, 9))
    build_archive(archives.rust, RUST, day=dt.date(2026, 4, 9))
    result = run(instance, "ldas_parity_readiness_job", partition_key=SESSION_KEY)
    assert result.success
    (event,) = result.get_asset_materialization_events()
    meta = {k: getattr(v, "value", v) for k, v in event.materialization.metadata.items()}

    code = main(["parity", "readiness", "--date", SESSION_KEY, "--json"])  # archives from the settings
    payload = json.loads(capsys.readouterr().out)
    assert code == 0 and meta["rule_met"] is True and payload["rule_met"] is True
    assert meta["summary"] == payload["summary"]
    assert meta["green_days_by_artefact"] == {a: v["green_days"] for a, v in payload["artefacts"].items()}
    assert (meta["eod_green_days"], meta["intraday_green_days"]) == (2, 2)
    assert "| intraday | intraday | 2 | 2026-04-08" in meta["artefacts"]

    # One red intraday day (the newest) and the rule is no longer met, in both.
    snapshot_of(archives.rust, "QQQ", dt.time(15, 50)).unlink()
    result = run(instance, "ldas_parity_readiness_job", partition_key=SESSION_KEY)
    meta = result.get_asset_materialization_events()[0].materialization.metadata
    assert meta["rule_met"].value is False and meta["intraday_green_days"].value == 0
    assert main(["parity", "readiness", "--date", SESSION_KEY]) == 1
    assert "intraday parity green 0/2" in capsys.readouterr().out
