"""The asset checks on the end-of-day artefacts, run through the code location like the daemon runs them.

Archives come from the independent test writer (``tests/parity/archive_builder.py``); each test breaks
a copy on purpose and shows the check FAILS with the offenders named in its metadata, and that the
parity checks agree with ``aegis parity`` on the same inputs.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil

import dagster as dg
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from aegis_assets.ldas.checks import (
    ASSET_KEYS,
    COVERAGE_ARTEFACTS,
    FRESHNESS_CHECK,
    GEX_SANITY_CHECK,
    SCHEMA_CONTRACT_CHECK,
    UNIVERSE_COVERAGE_CHECK,
    parity_check_name,
    parity_check_names,
)
from aegis_core.base.clock import fixed_clock
from aegis_core.base.settings import load_settings
from aegis_core.calendar import NY
from aegis_core.ldas.freshness import FRESHNESS_ARTEFACTS
from aegis_pipelines.alerting.sensors import CHECK_ALERT_SENSOR, RUN_FAILURE_ALERT_SENSOR
from aegis_pipelines.cli import main as aegis
from aegis_pipelines.ldas.eod import eod_definitions
from aegis_pipelines.ldas.quality import CHECKS_JOB, FRESHNESS_JOB, FRESHNESS_SCHEDULE, quality_definitions
from tests.parity.archive_builder import (
    chain_path,
    daily_path,
    drop_rows,
    drop_symbol_row,
    make_gex_levels_nullable,
    rewrite,
    set_column,
    stock_path,
    strikes,
)

from .conftest import SESSION_KEY, Archives, evaluations, load_defs, offenders, run_job, write_config

EOD = tuple(ASSET_KEYS)  # vix, stocks, options, gex_summary, iv_rank
QUALITY = {
    *((f"ldas/{a}", SCHEMA_CONTRACT_CHECK) for a in EOD),
    *((f"ldas/{a}", UNIVERSE_COVERAGE_CHECK) for a in COVERAGE_ARTEFACTS),
    ("ldas/gex_summary", GEX_SANITY_CHECK),
    *((f"ldas/{a}", FRESHNESS_CHECK) for a in FRESHNESS_ARTEFACTS),
    *((f"ldas/{a}", "lake_consistency") for a in EOD),
    *((f"ldas/{a}", "source_sanity") for a in ("stocks", "options")),
}
PARITY = {(f"ldas/{a}", name) for a in EOD for name in parity_check_names(a)}


def failed(result: dg.ExecuteInProcessResult) -> set[tuple[str, str]]:
    return {k for k, e in evaluations(result).items() if not e.passed}


def parity_cli(archives: Archives, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict]:
    """``aegis parity --json`` on the same two archives and session as the checks."""
    code = aegis(
        [
            "parity",
            "--python-archive",
            str(archives.python),
            "--rust-archive",
            str(archives.rust),
            "--date",
            SESSION_KEY,
            "--types",
            ",".join(EOD),
            "--json",
        ]
    )
    return code, json.loads(capsys.readouterr().out)


def assert_parity_checks_agree_with_cli(
    result: dg.ExecuteInProcessResult, archives: Archives, capsys: pytest.CaptureFixture[str]
) -> None:
    code, report = parity_cli(archives, capsys)
    checks = evaluations(result)
    assert len(report["gates"]) == len(PARITY)
    for gate in report["gates"]:
        ev = checks[(f"ldas/{gate['artefact']}", parity_check_name(gate["gate"]))]
        assert ev.passed == gate["passed"], gate
        assert offenders(ev) == gate["offenders"], gate
        assert ev.description == gate["summary"]
        assert ev.severity == dg.AssetCheckSeverity.WARN
    assert code == (0 if all(checks[k].passed for k in PARITY) else 1)


def retype(column: str, type_: pa.DataType, nullable: bool | None = None):
    def change(t: pa.Table) -> pa.Table:
        i = t.schema.get_field_index(column)
        f = t.schema.field(i)
        new = pa.field(column, type_, f.nullable if nullable is None else nullable)
        return t.set_column(i, new, pc.cast(t.column(i), type_))

    return change


# --- good archives --------------------------------------------------------------------------------------


def test_every_check_passes_on_good_archives_and_parity_agrees_with_the_cli(archives, capsys, instance):
    defs = load_defs()
    result = run_job(defs, instance)
    assert result.success
    checks = evaluations(result)
    assert set(checks) == QUALITY | PARITY
    assert not failed(result)
    assert {e.partition for e in checks.values()} == {SESSION_KEY}  # one evaluation per session partition
    assert (
        checks[("ldas/gex_summary", GEX_SANITY_CHECK)].description
        == "gex_summary: all 6 symbol(s) pass sanity"
    )
    assert checks[("ldas/stocks", SCHEMA_CONTRACT_CHECK)].metadata["status"].value == "passed"
    assert_parity_checks_agree_with_cli(result, archives, capsys)


# --- broken archives ------------------------------------------------------------------------------------


def test_schema_breaks_fail_the_blocking_contract_naming_columns_and_files(archives, capsys, instance):
    root = archives.python
    rewrite(daily_path(root, "vix"), retype("close", pa.string()))
    rewrite(stock_path(root, "MSFT"), retype("volume", pa.int64()))
    rewrite(chain_path(root, "AAPL"), lambda t: t.drop_columns(["vega"]))
    make_gex_levels_nullable(root)  # the historical Rust bug, here in the archive under test
    rewrite(daily_path(root, "iv_rank"), retype("observations", pa.int64(), nullable=True))
    defs = load_defs()
    result = run_job(defs, instance)

    assert not result.success  # schema_contract is blocking: its step fails the run
    checks = evaluations(result)
    expected = {
        "vix": ["close", "vix/2026/04/10.parquet"],
        "stocks": ["volume", "stocks/MSFT/2026/04/10_poly.parquet"],
        "options": ["vega", "options/AAPL/2026/04/10.parquet"],
        "gex_summary": ["gamma_wall", "put_wall", "zero_gamma_level", "gex_summary/2026/04/10.parquet"],
        "iv_rank": ["observations", "iv_rank/2026/04/10.parquet"],
    }
    for artefact, names in expected.items():
        ev = checks[(f"ldas/{artefact}", SCHEMA_CONTRACT_CHECK)]
        assert not ev.passed and ev.blocking and ev.severity == dg.AssetCheckSeverity.ERROR
        assert offenders(ev) == names
        assert names[0] in ev.description
    assert "zero_gamma_level: file double nullable, contract double not null" in (
        checks[("ldas/gex_summary", SCHEMA_CONTRACT_CHECK)].metadata["details"].value
    )
    assert {a for a, c in failed(result) if c == parity_check_name("schema")} == {f"ldas/{a}" for a in EOD}
    assert_parity_checks_agree_with_cli(result, archives, capsys)


def test_wrong_regimes_and_a_wall_off_the_chain_fail_gex_sanity(archives, capsys, instance):
    gex = daily_path(archives.python, "gex_summary")
    set_column(gex, "gex_regime", {"AAPL": "negative", "MSFT": "negative"})  # net_gex > 0 for both
    set_column(gex, "gamma_wall", {"NVDA": strikes("NVDA")[-1] + 50.0})
    defs = load_defs()
    result = run_job(defs, instance)

    assert result.success  # non-blocking failures do not fail the run
    assert failed(result) == {
        ("ldas/gex_summary", GEX_SANITY_CHECK),
        ("ldas/gex_summary", parity_check_name("regime_distribution")),
        # The edited file no longer holds the lake's values (equal counts and times: the content digest).
        ("ldas/gex_summary", "lake_consistency"),
    }
    consistency = evaluations(result)[("ldas/gex_summary", "lake_consistency")]
    assert offenders(consistency) == ["AAPL", "MSFT", "NVDA"] and "(other values)" in consistency.description
    sanity = evaluations(result)[("ldas/gex_summary", GEX_SANITY_CHECK)]
    assert offenders(sanity) == ["AAPL", "MSFT", "NVDA"]
    assert "gex_regime 'negative' but net_gex" in sanity.metadata["details"].value
    assert "outside the chain's strikes" in sanity.metadata["details"].value
    assert offenders(evaluations(result)[("ldas/gex_summary", parity_check_name("regime_distribution"))]) == [
        "AAPL",
        "MSFT",
    ]
    assert_parity_checks_agree_with_cli(result, archives, capsys)


def test_missing_files_and_rows_fail_coverage_freshness_and_file_parity(archives, capsys, instance):
    root = archives.python
    stock_path(root, "TSLA").unlink()
    chain_path(root, "QQQ").unlink()
    drop_symbol_row(daily_path(root, "gex_summary"), "SPY")
    daily_path(root, "iv_rank").unlink()
    defs = load_defs()
    result = run_job(defs, instance)

    checks = evaluations(result)
    coverage = {a: offenders(checks[(f"ldas/{a}", UNIVERSE_COVERAGE_CHECK)]) for a in COVERAGE_ARTEFACTS}
    assert coverage == {
        "stocks": ["TSLA"],
        "options": ["QQQ"],
        "gex_summary": ["SPY"],
        "iv_rank": ["AAPL", "MSFT", "NVDA", "QQQ", "SPY", "TSLA"],
    }
    assert "missing TSLA" in checks[("ldas/stocks", UNIVERSE_COVERAGE_CHECK)].description
    fresh = checks[("ldas/iv_rank", FRESHNESS_CHECK)]
    assert not fresh.passed and offenders(fresh) == ["iv_rank/2026/04/10.parquet"]
    assert "missing after the deadline 2026-04-10 18:00 ET" in fresh.description
    assert checks[("ldas/gex_summary", FRESHNESS_CHECK)].passed
    assert offenders(checks[("ldas/iv_rank", SCHEMA_CONTRACT_CHECK)]) == ["iv_rank/2026/04/10.parquet"]
    assert offenders(checks[("ldas/stocks", parity_check_name("file_names"))]) == [
        "stocks/TSLA/2026/04/10_poly.parquet"
    ]
    # SPY's missing row is coverage's business; QQQ's walls have no chain left to be checked against.
    assert offenders(checks[("ldas/gex_summary", GEX_SANITY_CHECK)]) == ["QQQ"]
    assert_parity_checks_agree_with_cli(result, archives, capsys)


def test_a_reference_that_differs_fails_only_parity_naming_files_and_symbols(archives, capsys, instance):
    drop_rows(chain_path(archives.rust, "AAPL"), 7)  # beyond ±5 rows
    set_column(daily_path(archives.rust, "iv_rank"), "iv_rank", {"MSFT": 12.5})
    defs = load_defs()
    result = run_job(defs, instance)

    assert result.success
    assert failed(result) == {
        ("ldas/options", parity_check_name("row_count")),
        ("ldas/iv_rank", parity_check_name("iv_rank_values")),
    }
    rows = evaluations(result)[("ldas/options", parity_check_name("row_count"))]
    assert offenders(rows) == ["options/AAPL/2026/04/10.parquet"]
    assert rows.metadata["reference_root"].value == str(archives.rust)
    assert offenders(evaluations(result)[("ldas/iv_rank", parity_check_name("iv_rank_values"))]) == ["MSFT"]
    assert_parity_checks_agree_with_cli(result, archives, capsys)


def test_coverage_threshold_is_configurable_and_a_vanished_reference_fails_parity_by_name(archives, instance):
    stock_path(archives.python, "TSLA").unlink()  # 5 of 6 = 83 %
    write_config(archives.config, coverage_threshold=0.8)
    shutil.rmtree(archives.rust)
    defs = load_defs()
    result = run_job(defs, instance)

    assert result.success
    checks = evaluations(result)
    coverage = checks[("ldas/stocks", UNIVERSE_COVERAGE_CHECK)]
    assert coverage.passed and offenders(coverage) == ["TSLA"] and coverage.metadata["threshold"].value == 0.8
    # A file lost from the archive (the lake still has TSLA's bar) is a disagreement, whatever the threshold.
    assert offenders(checks[("ldas/stocks", "lake_consistency")]) == ["TSLA"]
    assert failed(result) == PARITY | {("ldas/stocks", "lake_consistency")}
    assert (
        f"rust archive root not found: {archives.rust}"
        in checks[("ldas/vix", parity_check_name("schema"))].description
    )


# --- partitions, ranges, definitions ---------------------------------------------------------------------


def test_a_range_run_evaluates_every_session_and_names_the_failing_ones(archives, instance):
    defs = load_defs()
    result = run_job(
        defs,
        instance,
        "ldas_freshness_job",
        partition=None,
        tags={
            "dagster/asset_partition_range_start": "2026-04-09",
            "dagster/asset_partition_range_end": SESSION_KEY,
        },
    )
    checks = evaluations(result)
    assert set(checks) == {(f"ldas/{a}", FRESHNESS_CHECK) for a in FRESHNESS_ARTEFACTS}
    gex = checks[("ldas/gex_summary", FRESHNESS_CHECK)]
    assert not gex.passed and gex.partition is None
    assert gex.metadata["sessions"].value == {"2026-04-09": "failed", SESSION_KEY: "passed"}
    assert gex.description.startswith("1 of 2 sessions fail: 2026-04-09:")
    assert offenders(gex) == ["2026-04-09: gex_summary/2026/04/09.parquet"]


def test_a_holiday_partition_fails_the_check_step_by_name(archives, instance):
    defs = load_defs()
    result = run_job(defs, instance, "ldas_freshness_job", partition="2026-04-03")  # Good Friday
    assert not result.success
    failures = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE]
    assert failures and "2026-04-03 is not an NYSE session" in failures[0].step_failure_data.error.message


def test_the_code_location_has_the_checks_jobs_schedule_and_sensors(archives, monkeypatch):
    with_reference = load_defs()
    dg.Definitions.validate_loadable(with_reference)
    monkeypatch.delenv("AEGIS_PARITY_ROOT")
    without = load_defs()
    dg.Definitions.validate_loadable(without)

    def check_keys(defs: dg.Definitions) -> set[tuple[str, str]]:
        return {(k.asset_key.to_user_string(), k.name) for k in defs.resolve_asset_graph().asset_check_keys}

    assert check_keys(with_reference) >= QUALITY | PARITY
    assert check_keys(without) >= QUALITY and not check_keys(without) & PARITY  # parity needs a reference
    assert without.resolve_job_def(CHECKS_JOB) and without.resolve_job_def(FRESHNESS_JOB)
    schedule = without.resolve_schedule_def(FRESHNESS_SCHEDULE)
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    for name in (CHECK_ALERT_SENSOR, RUN_FAILURE_ALERT_SENSOR):
        sensor = without.resolve_sensor_def(name)
        assert (
            sensor.default_status == dg.DefaultSensorStatus.RUNNING
            and "alerts" in sensor.required_resource_keys
        )


def test_the_eod_job_evaluates_the_checks_on_its_own_output(sim_env, monkeypatch, instance):
    for key in ("AEGIS_PARITY_ROOT", "SLACK_BOT_TOKEN", "AEGIS_SLACK_CHANNEL"):
        monkeypatch.delenv(key, raising=False)
    defs = load_defs()
    result = defs.resolve_job_def("ldas_eod_job").execute_in_process(
        partition_key="2026-11-20", instance=instance, raise_on_error=False
    )
    assert result.success
    checks = evaluations(result)
    assert set(checks) == QUALITY  # selected with their assets; no reference root, so no parity
    assert all(e.passed and e.partition == "2026-11-20" for e in checks.values()), {
        k: e.description for k, e in checks.items() if not e.passed
    }


def defs_at(at: dt.datetime) -> dg.Definitions:
    """The archive and quality domains with the ``clock`` resource standing at ``at``."""
    settings = load_settings()
    return dg.Definitions.merge(eod_definitions(settings, fixed_clock(at)), quality_definitions(settings))


@pytest.mark.parametrize(
    ("at", "status", "passed", "said"),
    [
        (dt.datetime(2026, 4, 10, 17, 15, tzinfo=NY), "pending", True, "pending — iv_rank not written yet"),
        (dt.datetime(2026, 4, 10, 18, 0, tzinfo=NY), "failed", False, "missing after the deadline"),
        (dt.datetime(2026, 4, 11, 9, 0, tzinfo=NY), "failed", False, "missing after the deadline"),
    ],
)
def test_freshness_is_pending_before_the_deadline_and_fails_after_it(
    archives, instance, at, status, passed, said
):
    daily_path(archives.python, "iv_rank").unlink()
    result = run_job(defs_at(at), instance, "ldas_freshness_job")
    checks = evaluations(result)
    fresh = checks[("ldas/iv_rank", FRESHNESS_CHECK)]
    assert fresh.passed is passed and fresh.metadata["status"].value == status
    assert said in fresh.description and "2026-04-10 18:00 ET" in fresh.description
    assert fresh.metadata["evaluated_at"].value == at.isoformat(timespec="seconds")
    assert offenders(fresh) == ["iv_rank/2026/04/10.parquet"]
    present = checks[("ldas/gex_summary", FRESHNESS_CHECK)]  # the file that is there passes either way
    assert present.passed and present.metadata["status"].value == "passed"
