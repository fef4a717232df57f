"""Issue 12: vendor data validated at the door, through real HTTP from a lying simulated source."""

import dagster as dg
import polars as pl
import pytest

from aegis_core.archive import layout
from aegis_core.archive.lake import Lake
from aegis_core.settings import load_settings
from aegis_core.validation import ABSURD_OPEN_INTEREST, DUPLICATE, UNDERLYING_MISMATCH
from aegis_pipelines.definitions import build_definitions
from tests.conftest import PROJECT
from tests.pipelines.integrity.test_subset_and_guard import DAY, SESSION


def lying_defs(tmp_path, monkeypatch, threshold: float, **faults):
    config = tmp_path / "aegis.yaml"
    text = (PROJECT / "configs/local.yaml").read_text()
    text += "quality:\n  source_reject_threshold: " + str(threshold) + "\n"
    text = text.replace("sim:\n", "sim:\n  faults:\n" + "".join(f"    {k}: {v}\n" for k, v in faults.items()))
    config.write_text(text)
    monkeypatch.setenv("AEGIS_CONFIG", str(config))
    return build_definitions(load_settings())


def run(defs, instance):
    return defs.resolve_job_def("ldas_eod_job").execute_in_process(
        partition_key=SESSION, instance=instance, raise_on_error=False
    )


def door(result, asset: str) -> dict:
    (mat,) = [
        e.materialization.metadata
        for e in result.get_asset_materialization_events()
        if e.asset_key.to_user_string() == asset
    ]
    return {k: v.value for k, v in mat.items()}


def sanity(result, asset: str) -> dg.AssetCheckEvaluation:
    (found,) = [
        e
        for e in result.get_asset_check_evaluations()
        if e.check_name == "source_sanity" and e.asset_key.to_user_string() == asset
    ]
    return found


def test_lies_are_rejected_counted_and_fail_source_sanity(sim_env, tmp_path, monkeypatch):
    defs = lying_defs(
        tmp_path,
        monkeypatch,
        0.01,
        duplicate_contract_symbols="[AAXJ]",
        absurd_oi_symbols="[AAXJ]",
        wrong_underlying_symbols="[BDRY]",
    )
    root, lake = tmp_path / "archive", Lake(str(tmp_path / "lake"))
    with dg.instance_for_test() as instance:
        result = run(defs, instance)
    assert result.success  # CORN and AAXJ are archived; BDRY had nothing true to keep
    meta = door(result, "ldas/options")
    reasons = meta["rejected_by_reason"]
    assert (
        reasons[DUPLICATE] >= 1 and reasons[ABSURD_OPEN_INTEREST] >= 1 and reasons[UNDERLYING_MISMATCH] > 50
    )
    assert meta["rows_rejected"] == sum(reasons.values())
    assert meta["rows_received"] == meta["rows_rejected"] + meta["dagster/row_count"]
    assert "every row rejected at the door" in meta["symbols_failed"]["BDRY"]
    # Nothing fabricated: no BDRY chain, no BDRY derived row, coverage names it.
    assert not layout.options_file(root, "BDRY", DAY).exists()
    aaxj = pl.read_parquet(layout.options_file(root, "AAXJ", DAY))
    assert aaxj["ticker"].is_unique().all() and aaxj["open_interest"].max() < 1e9
    gex = pl.read_parquet(layout.daily_file(root, "gex_summary", DAY))
    assert sorted(gex["symbol"]) == ["AAXJ", "CORN"]
    assert sorted(lake.read_sessions("atm_iv", DAY, DAY)["symbol"]) == ["AAXJ", "CORN"]
    coverage = [
        e
        for e in result.get_asset_check_evaluations()
        if e.check_name == "universe_coverage" and e.asset_key.to_user_string() == "ldas/gex_summary"
    ]
    assert not coverage[0].passed and coverage[0].metadata["offenders"].value == ["BDRY"]
    check = sanity(result, "ldas/options")
    assert not check.passed
    assert UNDERLYING_MISMATCH in check.description and "BDRY" in check.metadata["offenders"].value
    assert sanity(result, "ldas/stocks").passed


def test_a_few_rejections_stay_within_the_limit(sim_env, tmp_path, monkeypatch):
    defs = lying_defs(tmp_path, monkeypatch, 0.05, duplicate_contract_symbols="[CORN]")
    with dg.instance_for_test() as instance:
        result = run(defs, instance)
    meta = door(result, "ldas/options")
    assert meta["rejected_by_reason"] == {DUPLICATE: meta["rows_rejected"]} and meta["rows_rejected"] >= 1
    check = sanity(result, "ldas/options")
    assert check.passed and "rejected at the door" in check.description


@pytest.mark.parametrize("close", [-1.0, 0.0])
def test_an_impossible_vix_close_fails_the_asset_naming_it(sim_env, tmp_path, monkeypatch, close):
    defs = lying_defs(tmp_path, monkeypatch, 0.01, vix_close=close)
    with dg.instance_for_test() as instance:
        result = defs.resolve_job_def("ldas_eod_job").execute_in_process(
            partition_key=SESSION,
            instance=instance,
            raise_on_error=False,
            asset_selection=[dg.AssetKey(["ldas", "vix"])],
        )
    assert not result.success
    (failure,) = [e for e in result.all_events if e.is_step_failure]
    assert f"close {close!r}" in failure.step_failure_data.user_failure_data.description
    assert not layout.daily_file(tmp_path / "archive", "vix", DAY).exists()


def test_a_symbol_whose_chain_failed_gets_no_derived_row(sim_env, tmp_path, monkeypatch):
    # Regression (issue 12 item 3): a failed chain used to give gex_summary a "neutral" row of zeros
    # that the coverage check counted as present.
    defs = lying_defs(tmp_path, monkeypatch, 0.01, repeat_cursor_symbols="[AAXJ]")
    root = tmp_path / "archive"
    with dg.instance_for_test() as instance:
        result = run(defs, instance)
    assert result.success
    assert "AAXJ" in door(result, "ldas/options")["symbols_failed"]
    assert door(result, "ldas/gex_summary")["symbols_failed"] == {
        "AAXJ": "no option chain archived for this symbol"
    }
    for artefact in ("gex_summary", "iv_rank"):
        assert sorted(pl.read_parquet(layout.daily_file(root, artefact, DAY))["symbol"]) == ["BDRY", "CORN"]
    missing = {
        e.asset_key.to_user_string(): e.metadata["offenders"].value
        for e in result.get_asset_check_evaluations()
        if e.check_name == "universe_coverage"
    }
    assert missing == {a: ["AAXJ"] for a in ("ldas/options", "ldas/gex_summary", "ldas/iv_rank")} | {
        "ldas/stocks": []
    }
