"""Issue 24: derived files only from complete inputs.

With the archive kept and the lake deleted, a subset run rewrote the session's ``gex_summary`` and
``iv_rank`` from every symbol to the subset's one (the closes come from the lake). Now the analytics
refuse and name the store that lacks the symbols, the derived files keep their rows, and once the store
is restored every symbol the archive allows is derived again.
"""

import shutil

import dagster as dg
import polars as pl
import pytest

from aegis_core.archive import layout
from aegis_core.archive.lake import Lake
from aegis_core.base.settings import load_settings
from aegis_core.ldas.derived import MissingInputError, session_inputs
from aegis_pipelines.definitions import build_definitions
from tests.conftest import SMALL_UNIVERSE
from tests.pipelines.integrity.test_subset_and_guard import DAY, run_eod


def derived_rows(root) -> dict[str, list[str]]:
    return {
        a: sorted(pl.read_parquet(layout.daily_file(root, a, DAY))["symbol"])
        for a in ("gex_summary", "iv_rank")
    }


def failures(result) -> dict[str, str]:
    return {
        e.step_key: e.step_failure_data.user_failure_data.description
        for e in result.all_events
        if e.is_step_failure and e.step_failure_data.user_failure_data
    }


def test_a_subset_run_over_a_deleted_lake_refuses_and_never_shrinks_the_derived_files(sim_env, tmp_path):
    root, lake = tmp_path / "archive", Lake(str(tmp_path / "lake"))
    defs = build_definitions(load_settings())
    everything = {a: sorted(SMALL_UNIVERSE) for a in ("gex_summary", "iv_rank")}
    with dg.instance_for_test() as instance:
        assert run_eod(defs, instance).success
        assert derived_rows(root) == everything
        shutil.rmtree(tmp_path / "lake")  # the lake is lost; the archive is kept

        subset = run_eod(defs, instance, tags={"aegis/symbols": "CORN"})
        assert not subset.success
        failed = failures(subset)
        assert set(failed) == {"ldas__gex_summary", "ldas__atm_iv"}  # iv_rank waits on atm_iv
        for message in failed.values():
            assert f"the lake table {lake.uri('options')} lacks the options of 2 of the 3 symbols" in message
            assert "(AAXJ, BDRY)" in message and "\n" not in message
        assert derived_rows(root) == everything  # not one row lost

        # The remedy the message names (the whole session again) restores every derived row.
        assert run_eod(defs, instance).success
    assert derived_rows(root) == everything
    assert sorted(lake.read_sessions("iv_rank", DAY, DAY)["symbol"]) == sorted(SMALL_UNIVERSE)

    # The other way round: a chain file lost while the lake keeps its rows names the archive.
    chain = layout.options_file(root, "BDRY", DAY)
    kept = chain.read_bytes()
    chain.unlink()
    with pytest.raises(
        MissingInputError, match=rf"the archive folder {root / 'options'} lacks the options of 1 "
    ):
        session_inputs(root, lake, DAY)
    chain.write_bytes(kept)
    layout.stock_file(root, "AAXJ", DAY).unlink()
    with pytest.raises(
        MissingInputError, match=rf"the archive folder {root / 'stocks'} lacks the stocks of 1 "
    ):
        session_inputs(root, lake, DAY)
