"""The end-of-day job on the simulated market, end to end: real HTTP, real parquet and Delta files."""

import datetime as dt
import hashlib

import dagster as dg
import polars as pl
import pytest

from aegis_core.archive import layout
from aegis_core.archive.files import read_metadata
from aegis_core.archive.lake import Lake
from aegis_core.base.settings import load_settings
from aegis_core.calendar import not_a_session
from aegis_pipelines.definitions import build_definitions
from tests.conftest import SMALL_UNIVERSE

SESSION = "2026-11-20"
DAY = dt.date(2026, 11, 20)


def run_eod(defs, instance, key=SESSION, tags=None):
    return defs.resolve_job_def("ldas_eod_job").execute_in_process(
        partition_key=key, instance=instance, tags=tags or {}, raise_on_error=False
    )


def digest(root):
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*.parquet"))
    }


@pytest.fixture
def defs(sim_env):
    return build_definitions(load_settings())


def test_eod_archives_every_artefact_and_reruns_identically(defs, sim_env, tmp_path):
    root = tmp_path / "archive"
    with dg.instance_for_test() as instance:
        result = run_eod(defs, instance)
        assert result.success
        first = digest(root)
        mats = {
            e.asset_key.to_user_string(): e.materialization.metadata
            for e in result.get_asset_materialization_events()
        }

        # Layout and contract
        assert layout.daily_file(root, "vix", DAY).exists()
        for symbol in SMALL_UNIVERSE:
            assert layout.stock_file(root, symbol, DAY).exists()
            chain = pl.read_parquet(layout.options_file(root, symbol, DAY))
            assert chain.height > 50 and set(chain["symbol"]) == {symbol}
        gex = pl.read_parquet(layout.daily_file(root, "gex_summary", DAY))
        assert sorted(gex["symbol"]) == sorted(SMALL_UNIVERSE)
        assert read_metadata(layout.daily_file(root, "vix", DAY))["source"] == "sim"

        # Metadata an operator looks at
        options = mats["ldas/options"]
        assert options["symbols_covered"].value == f"{len(SMALL_UNIVERSE)}/{len(SMALL_UNIVERSE)}"
        assert options["symbols_failed"].value == "none"
        assert options["requests"].value >= len(SMALL_UNIVERSE)
        assert options["dagster/row_count"].value == sum(
            pl.read_parquet(layout.options_file(root, s, DAY)).height for s in SMALL_UNIVERSE
        )
        assert "preview" in mats["ldas/gex_summary"]

        # Idempotent: a re-run gives byte-identical files and no duplicate lake rows
        assert run_eod(defs, instance).success
        assert digest(root) == first
        lake = Lake(str(tmp_path / "lake"))
        assert lake.read_sessions("options", DAY, DAY).height == options["dagster/row_count"].value
        assert lake.read_sessions("stocks", DAY, DAY).height == len(SMALL_UNIVERSE)


def test_symbols_tag_narrows_the_run(defs, tmp_path):
    with dg.instance_for_test() as instance:
        result = run_eod(defs, instance, tags={"aegis/symbols": "CORN"})
        assert result.success
    assert [p.name for p in (tmp_path / "archive/options").iterdir()] == ["CORN"]


def test_holiday_key_submitted_by_hand_fails_clearly(defs):
    # The partition-key API refuses an excluded key itself; a key given as the run's partition tag (the
    # launchpad, a GraphQL client) reaches the assets (dagster-notes §5), and every fetch step refuses
    # it in our words, before any request.
    with dg.instance_for_test() as instance:
        job = defs.resolve_job_def("ldas_eod_job")
        with pytest.raises(dg.DagsterUnknownPartitionError):
            job.execute_in_process(partition_key="2026-11-26", instance=instance)
        result = job.execute_in_process(
            instance=instance, tags={"dagster/partition": "2026-11-26"}, raise_on_error=False
        )
    refusals = {
        e.step_key: e.event_specific_data.error.message.strip()
        for e in result.all_events
        if e.is_step_failure
    }
    ours = f"{not_a_session(dt.date(2026, 11, 26))}; nothing to materialize"
    assert ours == "2026-11-26 is not an NYSE session (weekend or holiday); nothing to materialize"
    assert {k: v.rsplit(": ", 1)[-1] for k, v in refusals.items()} == {
        "ldas__vix": ours,
        "ldas__stocks": ours,
        "ldas__options": ours,
    }


def test_holiday_key_from_a_run_tag_is_refused_not_mapped_to_the_next_session(defs, tmp_path):
    # What a GraphQL client can submit: the key as a tag, accepted by Dagster (dagster-notes §5).
    with dg.instance_for_test() as instance:
        result = defs.resolve_job_def("ldas_eod_job").execute_in_process(
            instance=instance, tags={"dagster/partition": "2026-11-26"}, raise_on_error=False
        )
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert "not an NYSE session" in failure.event_specific_data.error.message
    assert not (tmp_path / "archive/options").exists()
