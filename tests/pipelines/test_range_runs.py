"""A range run (what a Catalog back-fill launches: one run for its sessions) on a real archive and lake:
each session's materialization carries that session's own figures, in session order, and an ATM IV
change re-derives the later IV ranks of its window through ``ldas_iv_rank_window_sensor`` — only where
they exist."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import polars as pl
import pytest

from aegis_assets.clock import CLOCK_KEY, wall_clock
from aegis_assets.ldas.derived import derived_assets
from aegis_assets.ldas.eod import fetch_assets
from aegis_assets.partitions import session_partitions
from aegis_assets.resources import AnalyticsResource
from aegis_core.archive import layout
from aegis_core.base.settings import load_settings
from aegis_pipelines.ldas.automation import iv_rank_window_sensor
from aegis_pipelines.resources import build_resources
from tests.conftest import SMALL_UNIVERSE

EOD_FETCH_ASSETS = fetch_assets(session_partitions())
DERIVED_ASSETS = derived_assets(session_partitions())
*_, options = EOD_FETCH_ASSETS
_, atm_iv, iv_rank = DERIVED_ASSETS

SESSIONS = ["2026-11-17", "2026-11-18", "2026-11-19"]
LATER = "2026-11-20"


def range_tags(first: str, last: str) -> dict[str, str]:
    return {"dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": last}


def values(mat: dg.AssetMaterialization) -> dict:
    return {k: getattr(v, "value", v) for k, v in mat.metadata.items()}


@pytest.fixture
def world(sim_env, tmp_path):
    res = {**build_resources(load_settings()), CLOCK_KEY: wall_clock}
    res["analytics"] = AnalyticsResource(iv_min_observations=2)
    with dg.instance_for_test() as instance:
        yield instance, res, tmp_path / "archive"


def test_each_session_of_a_range_run_carries_its_own_figures(world):
    instance, res, root = world
    result = dg.materialize(
        [*EOD_FETCH_ASSETS, *DERIVED_ASSETS],
        resources=res,
        instance=instance,
        tags=range_tags(SESSIONS[0], SESSIONS[-1]),
    )
    assert result.success
    for asset in ("vix", "stocks", "options", "gex_summary", "atm_iv", "iv_rank"):
        mats = result.asset_materializations_for_node(f"ldas__{asset}")
        assert [m.partition for m in mats] == SESSIONS, asset  # key order: the latest session is last
        for mat in mats:
            assert "per_session" not in mat.metadata and "sessions" not in mat.metadata, asset
            assert "duration_s" in mat.metadata, asset
    rows = {m.partition: values(m) for m in result.asset_materializations_for_node("ldas__options")}
    for key in SESSIONS:
        day = dt.date.fromisoformat(key)
        on_disk = sum(pl.read_parquet(layout.options_file(root, s, day)).height for s in SMALL_UNIVERSE)
        assert rows[key]["dagster/row_count"] == on_disk > 0, key  # the session's rows, not the range's
        assert rows[key]["symbols_covered"] == f"{len(SMALL_UNIVERSE)}/{len(SMALL_UNIVERSE)}"
        assert rows[key]["rows_rejected"] == 0
        assert rows[key]["captured_at"].startswith(key)
    vix = {m.partition: values(m)["close"] for m in result.asset_materializations_for_node("ldas__vix")}
    for key in SESSIONS:
        on_disk = pl.read_parquet(layout.daily_file(root, "vix", dt.date.fromisoformat(key)))["close"][0]
        assert vix[key] == pytest.approx(on_disk)
    # What the asset page shows as "latest materialization": the latest session's own event.
    latest = instance.get_latest_materialization_event(options.key)
    assert latest.asset_materialization.partition == SESSIONS[-1]
    assert (
        values(latest.asset_materialization)["dagster/row_count"] == rows[SESSIONS[-1]]["dagster/row_count"]
    )


def evaluate(instance: dg.DagsterInstance, sensor: dg.SensorDefinition, cursor: str | None):
    with dg.build_sensor_context(instance=instance, cursor=cursor) as context:
        return sensor.evaluate_tick(context)


def test_an_atm_iv_change_re_derives_only_later_existing_ranks(world):
    instance, res, _ = world
    # Sessions 1-3 fully derived; a fourth has chains and ATM IV but was never ranked.
    assert dg.materialize(
        [*EOD_FETCH_ASSETS, *DERIVED_ASSETS],
        resources=res,
        instance=instance,
        tags=range_tags(SESSIONS[0], SESSIONS[-1]),
    ).success
    assert dg.materialize(
        [*EOD_FETCH_ASSETS, *DERIVED_ASSETS[:2]], resources=res, instance=instance, partition_key=LATER
    ).success
    sensor = iv_rank_window_sensor(252)
    quiet = evaluate(instance, sensor, None)
    assert not quiet.run_requests and "no later IV rank is older" in quiet.skip_message
    cursor = quiet.cursor

    # A re-run of the first session's ATM IV (as a back-fill of it would) makes sessions 2-3 stale.
    assert dg.materialize([atm_iv], resources=res, instance=instance, partition_key=SESSIONS[0]).success
    tick = evaluate(instance, sensor, cursor)
    assert [
        (r.tags["dagster/asset_partition_range_start"], r.tags["dagster/asset_partition_range_end"])
        for r in tick.run_requests
    ] == [(SESSIONS[1], SESSIONS[2])]  # not LATER: it has no rank
    (request,) = tick.run_requests
    assert request.job_name in (None, "ldas_iv_rank_job")
    before = instance.get_latest_storage_id_by_partition(
        iv_rank.key, dg.DagsterEventType.ASSET_MATERIALIZATION
    )

    # The requested run, as the daemon would launch it, succeeds and re-derives exactly those two.
    rerun = dg.materialize([iv_rank], resources={**res, "market": None}, instance=instance, tags=request.tags)
    assert rerun.success
    assert [m.partition for m in rerun.asset_materializations_for_node("ldas__iv_rank")] == SESSIONS[1:]
    after = instance.get_latest_storage_id_by_partition(
        iv_rank.key, dg.DagsterEventType.ASSET_MATERIALIZATION
    )
    assert after[SESSIONS[0]] == before[SESSIONS[0]] and LATER not in after
    assert evaluate(instance, sensor, tick.cursor).run_requests == []  # nothing left to do
