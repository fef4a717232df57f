"""An excluded key submitted as a run tag (Dagster accepts it) is refused, never mapped to the next window."""

import dagster as dg

from aegis_core.base.settings import load_settings
from aegis_pipelines.definitions import build_definitions


def test_holiday_slot_from_a_run_tag_is_refused(sim_env, tmp_path):
    defs = build_definitions(load_settings())
    with dg.instance_for_test() as instance:
        result = defs.resolve_job_def("ldas_intraday_job").execute_in_process(
            instance=instance, tags={"dagster/partition": "2026-11-26-09:35"}, raise_on_error=False
        )
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert "not an intraday slot" in failure.event_specific_data.error.message
    assert not (tmp_path / "archive/options").exists()
