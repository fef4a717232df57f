"""Issue 12: vendor data validated at the door, through real HTTP from a lying simulated source."""

import dagster as dg
import polars as pl
import pytest

from aegis_core.archive import layout
from aegis_core.archive.lake import Lake
from aegis_core.base.settings import load_settings
from aegis_core.ldas.validation import (
    ABSURD_OPEN_INTEREST,
    BAD_GAMMA,
    BAD_SHARES,
    BAR_OTHER_DAY,
    DUPLICATE,
    DUPLICATE_BAR,
    MAX_SHARES_PER_CONTRACT,
    UNDERLYING_MISMATCH,
)
from aegis_pipelines.definitions import build_definitions
from tests.conftest import PROJECT
from tests.pipelines.integrity.test_subset_and_guard import DAY, SESSION


def lying_defs(tmp_path, monkeypatch, threshold: float, **faults):
    config = tmp_path / "aegis.yaml"
    text = (PROJECT / "configs/local.yaml").read_text()
    text += "quality:\n  source_reject_threshold: " + str(threshold) + "\n"
    if faults:
        lies = "".join(f"    {k}: {v}\n" for k, v in faults.items())
        text = text.replace("sim:\n", "sim:\n  faults:\n" + lies)
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


# --- issue 24: every field used downstream screened at the door, through the lying simulated source ---


def step_failure(result, step: str) -> str:
    (failure,) = [e for e in result.all_events if e.is_step_failure and e.step_key == step]
    return failure.step_failure_data.error.message if failure.step_failure_data.error else ""


def test_an_absurd_gamma_is_rejected_and_the_gex_stays_finite(sim_env, tmp_path, monkeypatch):
    # Probe: greeks.gamma = 1e300 on QQQ contracts made net_gex/abs_gex infinite and flipped its regime.
    universe = tmp_path / "qqq.txt"
    universe.write_text("QQQ\nCORN\n")
    monkeypatch.setenv("AEGIS_UNIVERSE_FILE", str(universe))
    root = tmp_path / "archive"
    clean = lying_defs(tmp_path, monkeypatch, 0.001)
    with dg.instance_for_test() as instance:
        assert run(clean, instance).success
    honest = pl.read_parquet(layout.daily_file(root, "gex_summary", DAY)).filter(pl.col("symbol") == "QQQ")
    defs = lying_defs(tmp_path, monkeypatch, 0.001, absurd_gamma_symbols="[QQQ]")
    with dg.instance_for_test() as instance:
        result = run(defs, instance)
    assert result.success
    meta = door(result, "ldas/options")
    assert meta["rejected_by_reason"][BAD_GAMMA] >= 1 and meta["rejected_by_symbol"] == {
        "QQQ": meta["rows_rejected"]
    }
    chain = pl.read_parquet(layout.options_file(root, "QQQ", DAY))
    assert chain["gamma"].max() < 10 and chain.height == honest_contracts(root, meta)
    gex = pl.read_parquet(layout.daily_file(root, "gex_summary", DAY)).filter(pl.col("symbol") == "QQQ")
    assert gex.select(pl.col("net_gex", "abs_gex").is_finite().all()).row(0) == (True, True)
    assert gex["gex_regime"].to_list() == honest["gex_regime"].to_list()
    lake = Lake(str(tmp_path / "lake")).read_sessions("gex_summary", DAY, DAY)
    assert lake.filter(pl.col("symbol") == "QQQ")["abs_gex"].is_finite().all()
    check = sanity(result, "ldas/options")
    assert (
        not check.passed and BAD_GAMMA in check.description and check.metadata["offenders"].value == ["QQQ"]
    )


def honest_contracts(root, meta) -> int:
    return meta["dagster/row_count"] - pl.read_parquet(layout.options_file(root, "CORN", DAY)).height


def test_an_absurd_contract_size_is_rejected_not_archived(sim_env, tmp_path, monkeypatch):
    defs = lying_defs(tmp_path, monkeypatch, 0.001, absurd_shares_symbols="[AAXJ]")
    with dg.instance_for_test() as instance:
        result = run(defs, instance)
    assert result.success
    meta = door(result, "ldas/options")
    assert meta["rejected_by_reason"] == {BAD_SHARES: meta["rows_rejected"]} and meta["rows_rejected"] >= 1
    aaxj = pl.read_parquet(layout.options_file(tmp_path / "archive", "AAXJ", DAY))
    assert aaxj["shares_per_contract"].max() <= MAX_SHARES_PER_CONTRACT
    lake = Lake(str(tmp_path / "lake")).read_sessions("options", DAY, DAY, ["shares_per_contract"])
    assert lake["shares_per_contract"].max() <= MAX_SHARES_PER_CONTRACT
    assert not sanity(result, "ldas/options").passed


@pytest.mark.parametrize("days", [1, 30])
def test_grouped_bars_of_another_day_are_never_archived_as_the_session(sim_env, tmp_path, monkeypatch, days):
    defs = lying_defs(tmp_path, monkeypatch, 0.01, grouped_shift_days=days)
    root, lake = tmp_path / "archive", Lake(str(tmp_path / "lake"))
    with dg.instance_for_test() as instance:
        result = run(defs, instance)
    assert not result.success
    message = step_failure(result, "ldas__stocks")
    assert f"no stock bars for {SESSION}" in message and BAR_OTHER_DAY in message
    assert not any(layout.stock_file(root, s, DAY).exists() for s in ("AAXJ", "BDRY", "CORN"))
    assert lake.read_sessions("stocks", DAY, DAY) is None
    # Nothing derived from a stale spot: the analytics have no close to use.
    assert not layout.daily_file(root, "gex_summary", DAY).exists()


def test_a_per_ticker_bar_of_another_day_is_refused_and_counted(sim_env, tmp_path, monkeypatch):
    defs = lying_defs(tmp_path, monkeypatch, 0.01, grouped_omit="[CORN]", aggs_shift_days=1)
    root = tmp_path / "archive"
    with dg.instance_for_test() as instance:
        result = run(defs, instance)
    meta = door(result, "ldas/stocks")
    assert meta["rejected_by_reason"] == {BAR_OTHER_DAY: 1} and meta["rejected_by_symbol"] == {"CORN": 1}
    assert BAR_OTHER_DAY in meta["symbols_failed"]["CORN"]
    assert not layout.stock_file(root, "CORN", DAY).exists()
    assert layout.stock_file(root, "AAXJ", DAY).exists()
    assert not sanity(result, "ldas/stocks").passed  # 1 of 3 bars rejected


def test_a_vix_bar_of_another_day_fails_the_asset_naming_its_date(sim_env, tmp_path, monkeypatch):
    defs = lying_defs(tmp_path, monkeypatch, 0.01, aggs_shift_days=1)
    with dg.instance_for_test() as instance:
        result = defs.resolve_job_def("ldas_eod_job").execute_in_process(
            partition_key=SESSION,
            instance=instance,
            raise_on_error=False,
            asset_selection=[dg.AssetKey(["ldas", "vix"])],
        )
    assert not result.success
    (failure,) = [e for e in result.all_events if e.is_step_failure]
    assert "dated 2026-11-19" in failure.step_failure_data.user_failure_data.description
    assert not layout.daily_file(tmp_path / "archive", "vix", DAY).exists()


def test_a_symbol_listed_twice_is_archived_once_and_the_analytics_run(sim_env, tmp_path, monkeypatch):
    # Probe: a ticker twice in the grouped bars gave two stock rows and "ValueError: spots: more than one".
    defs = lying_defs(tmp_path, monkeypatch, 0.5, grouped_duplicate_symbols="[AAXJ]")
    root = tmp_path / "archive"
    with dg.instance_for_test() as instance:
        result = run(defs, instance)
    assert result.success
    meta = door(result, "ldas/stocks")
    assert meta["rejected_by_reason"] == {DUPLICATE_BAR: 1} and meta["rejected_by_symbol"] == {"AAXJ": 1}
    assert "AAXJ" not in meta.get("symbols_failed", {})
    stock = pl.read_parquet(layout.stock_file(root, "AAXJ", DAY))
    assert stock.height == 1
    lake = Lake(str(tmp_path / "lake")).read_sessions("stocks", DAY, DAY).filter(pl.col("symbol") == "AAXJ")
    assert lake["close"].to_list() == stock["close"].to_list()  # the first bar, in files and lake alike
    gex = pl.read_parquet(layout.daily_file(root, "gex_summary", DAY))
    assert sorted(gex["symbol"]) == ["AAXJ", "BDRY", "CORN"]
