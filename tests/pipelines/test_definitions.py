"""Loading the code location: a rename or a lost asset, check, job, schedule or sensor fails here."""

import dagster as dg

from aegis_core.settings import load_settings
from aegis_pipelines.definitions import build_definitions


def test_code_location_loads_with_everything(sim_env):
    defs = build_definitions(load_settings())
    dg.Definitions.validate_loadable(defs)
    keys = {k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()}
    assert {
        "ldas/vix",
        "ldas/stocks",
        "ldas/options",
        "ldas/gex_summary",
        "ldas/atm_iv",
        "ldas/iv_rank",
    } <= keys
    assert defs.resolve_job_def("ldas_eod_job").name == "ldas_eod_job"
    assert defs.resolve_schedule_def("ldas_eod_schedule").cron_schedule == "15 17 * * 1-5"


def test_module_defs_load_through_dagster(sim_env):
    from aegis_pipelines import definitions

    defs = definitions.defs()  # what `dagster dev -m aegis_pipelines.definitions` calls
    assert isinstance(defs, dg.Definitions)
