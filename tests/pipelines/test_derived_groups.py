"""The derived analytics read a session's chains a group of whole symbols at a time (bounded memory):
the result is the same whatever the grouping, and every symbol is judged once (spot or chain missing)."""

import dataclasses
import datetime as dt
from pathlib import Path

import dagster as dg
import polars as pl
import pytest
from deltalake import DeltaTable
from polars.testing import assert_frame_equal

from aegis_assets.clock import CLOCK_KEY, wall_clock
from aegis_assets.ldas.eod import fetch_assets
from aegis_assets.partitions import session_partitions
from aegis_core.analytics import AtmIvResult, GexResult, atm_iv, gex_summary
from aegis_core.archive import layout
from aegis_core.archive.lake import Lake
from aegis_core.base.settings import load_settings
from aegis_core.ldas.derived import MissingInputError, per_group, session_inputs
from aegis_pipelines.resources import build_resources

_, STOCKS_ASSET, OPTIONS_ASSET = fetch_assets(session_partitions())

DAY = dt.date(2026, 11, 20)


@pytest.fixture
def archived(sim_env):
    res = {**build_resources(load_settings()), CLOCK_KEY: wall_clock}
    with dg.instance_for_test() as instance:
        assert dg.materialize(
            [STOCKS_ASSET, OPTIONS_ASSET], partition_key=DAY.isoformat(), resources=res, instance=instance
        )
    return Path(sim_env["AEGIS_ARCHIVE_ROOT"]), Lake(sim_env["AEGIS_LAKE_ROOT"])


def _gex(inputs):
    return GexResult.combine(
        per_group(inputs, lambda c, s, at: gex_summary(c, s, session_date=DAY, as_of=at))
    )


def _iv(inputs):
    return AtmIvResult.combine(per_group(inputs, lambda c, s, at: atm_iv(c, s, session_date=DAY, as_of=at)))


def test_one_group_or_one_symbol_per_group_gives_the_same_figures(archived, monkeypatch):
    root, lake = archived
    inputs = session_inputs(root, lake, DAY)
    whole_gex, whole_iv = _gex(inputs), _iv(inputs)
    assert len(list(inputs.chain_groups())) == 1

    monkeypatch.setattr("aegis_core.ldas.derived.GROUP_CONTRACTS", 1)  # every symbol its own group
    assert len(list(inputs.chain_groups())) == len(inputs.chain_files) > 1
    split_gex = _gex(inputs)
    assert_frame_equal(split_gex.frame, whole_gex.frame, rel_tol=1e-12)
    assert (split_gex.skipped, split_gex.contracts_used, split_gex.contracts_dropped) == (
        whole_gex.skipped,
        whole_gex.contracts_used,
        whole_gex.contracts_dropped,
    )
    assert_frame_equal(_iv(inputs).frame, whole_iv.frame, rel_tol=1e-12)


def test_a_symbol_without_a_chain_or_without_a_spot_is_named_once(archived):
    root, lake = archived
    gone = sorted(layout.symbols_with(root, "options"))[0]
    # Its chain is gone from both stores (a chain that failed at the source); its close remains.
    layout.options_file(root, gone, DAY).unlink()
    DeltaTable(lake.uri("options")).delete(f"symbol = '{gone}'")
    inputs = session_inputs(root, lake, DAY)
    no_spot = inputs.chain_files[0].parts[-4]
    inputs = dataclasses.replace(inputs, spots=inputs.spots.filter(pl.col("symbol") != no_spot))
    result = _gex(inputs)
    assert result.skipped[gone] == "no option chain archived for this symbol"
    assert result.skipped[no_spot] == "no spot (session close) for this symbol"
    assert {gone, no_spot}.isdisjoint(result.frame["symbol"].to_list())


def test_an_unreadable_chain_file_fails_the_analytics_naming_it(archived):
    root, lake = archived
    broken = layout.options_file(root, sorted(layout.symbols_with(root, "options"))[1], DAY)
    broken.write_bytes(b"not parquet")
    with pytest.raises(MissingInputError, match=str(broken)):
        _gex(session_inputs(root, lake, DAY))
