"""Issue 12 item 7: derived data follows its inputs (declarative automation, evaluated as the daemon does)."""

import dagster as dg
import pytest

from aegis_core.base.settings import load_settings
from aegis_pipelines.definitions import build_definitions
from aegis_pipelines.ldas.automation import DERIVED_AUTOMATION_SENSOR, IV_RANK_WINDOW_SENSOR

SESSIONS = ["2026-11-18", "2026-11-19", "2026-11-20"]
DERIVED = ("ldas/gex_summary", "ldas/atm_iv", "ldas/iv_rank")


@pytest.fixture
def defs(sim_env):
    return build_definitions(load_settings())


def stale(instance) -> set[tuple[str, str]]:
    from dagster._utils.test.data_versions import get_stale_status_resolver  # what the UI computes

    from aegis_assets.ldas.derived import derived_assets
    from aegis_assets.ldas.eod import fetch_assets
    from aegis_assets.partitions import session_partitions

    sessions = session_partitions()
    resolver = get_stale_status_resolver(instance, [*fetch_assets(sessions), *derived_assets(sessions)])
    return {
        (key.split("/")[1], session)
        for key in DERIVED
        for session in SESSIONS
        if resolver.get_status(dg.AssetKey.from_user_string(key), session) != dg.StaleStatus.FRESH
    }


def requested(result) -> dict[str, list[str]]:
    out = {k: sorted(result.get_requested_partitions(dg.AssetKey.from_user_string(k))) for k in DERIVED}
    return {k: v for k, v in sorted(out.items()) if v}


def test_re_materialized_chains_recompute_their_session_and_later_iv_ranks(defs):
    """The automation recomputes the session's derived assets; the later sessions' IV ranks, whose
    window holds the changed ATM IV, follow through ldas_iv_rank_window_sensor once that has run."""
    assert defs.resolve_sensor_def(DERIVED_AUTOMATION_SENSOR).default_status == dg.DefaultSensorStatus.RUNNING
    eod = defs.resolve_job_def("ldas_eod_job")
    derived = dg.AssetSelection.assets(*(dg.AssetKey.from_user_string(k) for k in DERIVED))
    with dg.instance_for_test() as instance:
        for key in SESSIONS:
            assert eod.execute_in_process(partition_key=key, instance=instance).success
        first = dg.evaluate_automation_conditions(defs, instance, asset_selection=derived)
        # The EOD runs derived everything from their own inputs: nothing to recompute.
        assert requested(first) == {}

        # Re-materialize the chains of the first session alone (as from the UI).
        options = eod.execute_in_process(
            partition_key=SESSIONS[0], instance=instance, asset_selection=[dg.AssetKey(["ldas", "options"])]
        )
        assert options.success
        second = dg.evaluate_automation_conditions(
            defs, instance, asset_selection=derived, cursor=first.cursor
        )
        assert requested(second) == {
            "ldas/atm_iv": [SESSIONS[0]],
            "ldas/gex_summary": [SESSIONS[0]],
            "ldas/iv_rank": [SESSIONS[0]],  # its own session; later ones: the window sensor, below
        }
        # Once handled, the condition does not fire again without a new change.
        third = dg.evaluate_automation_conditions(
            defs, instance, asset_selection=derived, cursor=second.cursor
        )
        assert requested(third) == {}

        # The requested run (as the daemon launches it) re-derives the session; the window sensor then
        # asks for the later sessions' IV ranks, in one run over the range.
        window = defs.resolve_sensor_def(IV_RANK_WINDOW_SENSOR)
        with dg.build_sensor_context(instance=instance) as context:
            before = window.evaluate_tick(context)
        assert before.run_requests == []  # nothing newer than the ranks yet
        rederived = eod.execute_in_process(
            partition_key=SESSIONS[0],
            instance=instance,
            asset_selection=[dg.AssetKey.from_user_string(k) for k in DERIVED],
        )
        assert rederived.success
        with dg.build_sensor_context(instance=instance, cursor=before.cursor) as context:
            after = window.evaluate_tick(context)
        ranges = [
            (r.tags["dagster/asset_partition_range_start"], r.tags["dagster/asset_partition_range_end"])
            for r in after.run_requests
        ]
        assert ranges == [(SESSIONS[1], SESSIONS[-1])]
