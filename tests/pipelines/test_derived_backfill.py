"""Derived analytics re-computed over a range of archived sessions in one run, from the lake alone."""

import datetime as dt

import dagster as dg
import polars as pl

from aegis_assets.clock import CLOCK_KEY, wall_clock
from aegis_assets.ldas.derived import derived_assets
from aegis_assets.ldas.eod import fetch_assets
from aegis_assets.partitions import session_partitions
from aegis_assets.resources import AnalyticsResource
from aegis_core.archive import layout
from aegis_core.base.settings import load_settings
from aegis_pipelines.resources import build_resources

_, STOCKS_ASSET, OPTIONS_ASSET = fetch_assets(session_partitions())
GEX_SUMMARY_ASSET, ATM_IV_ASSET, IV_RANK_ASSET = derived_assets(session_partitions())

SESSIONS = ["2026-11-17", "2026-11-18", "2026-11-19"]


def range_tags(first, last):
    return {"dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": last}


def test_range_backfill_recomputes_without_fetching(sim_env, tmp_path):
    res = {**build_resources(load_settings()), CLOCK_KEY: wall_clock}
    res["analytics"] = AnalyticsResource(iv_min_observations=2)
    with dg.instance_for_test() as instance:
        fetched = dg.materialize(
            [STOCKS_ASSET, OPTIONS_ASSET],
            resources=res,
            instance=instance,
            tags=range_tags(SESSIONS[0], SESSIONS[-1]),
        )
        assert fetched.success
        derived = dg.materialize(
            [GEX_SUMMARY_ASSET, ATM_IV_ASSET, IV_RANK_ASSET],
            resources={**res, "market": None},
            instance=instance,
            tags=range_tags(SESSIONS[0], SESSIONS[-1]),
        )
        assert derived.success
        status = instance.get_status_by_partition(
            dg.AssetKey(["ldas", "iv_rank"]), SESSIONS, IV_RANK_ASSET.partitions_def
        )
        assert all(str(v).endswith("MATERIALIZED") for v in status.values())

    root = tmp_path / "archive"
    ranks = [pl.read_parquet(layout.daily_file(root, "iv_rank", dt.date.fromisoformat(k))) for k in SESSIONS]
    assert [r["observations"].max() for r in ranks] == [1, 2, 3]
    assert ranks[0]["iv_rank"].null_count() == ranks[0].height  # below the minimum observations
    assert ranks[2]["iv_rank"].is_between(-1e-9, 100 + 1e-9).all() and ranks[2]["iv_rank"].null_count() == 0
    gex = pl.read_parquet(layout.daily_file(root, "gex_summary", dt.date(2026, 11, 19)))
    assert gex.null_count().sum_horizontal().item() == 0
    assert (gex["abs_gex"] >= gex["net_gex"].abs()).all()


def test_changed_parameter_changes_the_recomputed_partition(sim_env, tmp_path):
    res = {**build_resources(load_settings()), CLOCK_KEY: wall_clock}
    day = "2026-11-19"
    with dg.instance_for_test() as instance:
        dg.materialize([STOCKS_ASSET, OPTIONS_ASSET], partition_key=day, resources=res, instance=instance)
        dg.materialize([GEX_SUMMARY_ASSET], partition_key=day, resources=res, instance=instance)
        path = layout.daily_file(tmp_path / "archive", "gex_summary", dt.date(2026, 11, 19))
        before = pl.read_parquet(path)
        flipped = {**res, "analytics": AnalyticsResource(call_sign=-1, put_sign=1)}
        dg.materialize([GEX_SUMMARY_ASSET], partition_key=day, resources=flipped, instance=instance)
        after = pl.read_parquet(path)
    assert after["net_gex"].to_list() == [-x for x in before["net_gex"].to_list()]
