"""Loading the code location: a rename or a lost asset, check, job, schedule or sensor fails here."""

import dagster as dg

from aegis_core.base.settings import load_settings
from aegis_pipelines.definitions import build_definitions

ASSETS = {
    "ldas/vix", "ldas/stocks", "ldas/options", "ldas/gex_summary", "ldas/atm_iv", "ldas/iv_rank",
    "ldas/pt_snapshots", "ldas/intraday_cadence", "ops/saxo_token", "ops/pt_health",
}  # fmt: skip
CHECKS = {
    "ldas/vix:schema_contract", "ldas/stocks:schema_contract", "ldas/stocks:universe_coverage",
    "ldas/options:schema_contract", "ldas/options:universe_coverage",
    "ldas/gex_summary:schema_contract", "ldas/gex_summary:universe_coverage", "ldas/gex_summary:gex_sanity",
    "ldas/gex_summary:freshness", "ldas/iv_rank:schema_contract", "ldas/iv_rank:universe_coverage",
    "ldas/iv_rank:freshness", "ldas/intraday_cadence:intraday_cadence",
    "ldas/pt_snapshots:schema_contract", "ldas/pt_snapshots:slot_coverage",
    "ldas/pt_snapshots:capture_window",
    "ops/saxo_token:cache_mtime_cadence", "ops/saxo_token:issued_at_increasing",
    "ops/saxo_token:no_invalid_grant",
    *(f"ldas/{a}:lake_consistency" for a in ("vix", "stocks", "options", "gex_summary", "iv_rank")),
    "ldas/stocks:source_sanity", "ldas/options:source_sanity",
}  # fmt: skip
JOBS = {
    "ldas_eod_job", "ldas_intraday_job", "ldas_intraday_cadence_job", "ldas_checks_job", "ldas_freshness_job",
    "saxo_token_refresh_job", "pt_health_job", "ldas_slot_checks_job", "ldas_iv_rank_job",
}  # fmt: skip
SCHEDULES = {
    "ldas_eod_schedule",
    "ldas_intraday_schedule",
    "ldas_intraday_cadence_schedule",
    "ldas_freshness_schedule",
}
SENSORS = {
    "saxo_token_sensor", "pt_health_sensor", "pt_health_watchdog_sensor", "asset_check_alert_sensor",
    "run_failure_alert_sensor", "intraday_slot_watchdog_sensor", "eod_run_duration_sensor",
    "orphaned_run_sensor", "ldas_derived_automation_sensor", "ldas_iv_rank_window_sensor",
}  # fmt: skip


def test_code_location_has_everything(sim_env):
    defs = build_definitions(load_settings())
    dg.Definitions.validate_loadable(defs)
    graph = defs.resolve_asset_graph()
    repo = defs.get_repository_def()
    assert {k.to_user_string() for k in graph.get_all_asset_keys()} == ASSETS
    assert {f"{c.asset_key.to_user_string()}:{c.name}" for c in graph.asset_check_keys} == CHECKS
    assert {j.name for j in repo.get_all_jobs()} - {"__ASSET_JOB"} == JOBS
    assert {s.name for s in repo.schedule_defs} == SCHEDULES
    assert {s.name for s in repo.sensor_defs} == SENSORS
    assert defs.resolve_schedule_def("ldas_eod_schedule").cron_schedule == "15 17 * * 1-5"


def test_eod_job_runs_the_archive_then_the_analytics(sim_env):
    defs = build_definitions(load_settings())
    job = defs.resolve_job_def("ldas_eod_job")
    selected = {k.to_user_string() for k in job.asset_layer.selected_asset_keys}
    assert selected == {
        "ldas/vix",
        "ldas/stocks",
        "ldas/options",
        "ldas/gex_summary",
        "ldas/atm_iv",
        "ldas/iv_rank",
    }
    graph = defs.resolve_asset_graph()

    def parents(key):
        return {p.to_user_string() for p in graph.get(dg.AssetKey.from_user_string(key)).parent_keys}

    # Dependencies order the run: gex never before its chain and close, IV rank after ATM IV.
    assert parents("ldas/gex_summary") == {"ldas/options", "ldas/stocks"}
    assert parents("ldas/iv_rank") == {"ldas/atm_iv"}


def test_parity_checks_appear_when_a_reference_archive_is_configured(sim_env, monkeypatch, tmp_path):
    monkeypatch.setenv("AEGIS_PARITY_ROOT", str(tmp_path / "rust"))
    graph = build_definitions(load_settings()).resolve_asset_graph()
    parity = {c.name for c in graph.asset_check_keys if c.name.startswith("parity")}
    assert parity and any("regime" in n for n in parity) and any("iv_rank" in n for n in parity)
    intraday = {
        c.name for c in graph.asset_check_keys if c.asset_key.to_user_string() == "ldas/intraday_cadence"
    }
    assert {"parity_slots_per_symbol", "parity_files_per_symbol", "parity_cadence"} <= intraday
    assert dg.AssetKey(["ldas", "parity_readiness"]) in graph.get_all_asset_keys()


def test_module_defs_load_through_dagster(sim_env):
    from aegis_pipelines import definitions

    assert isinstance(definitions.defs(), dg.Definitions)  # what `dagster dev -m …` calls


def test_the_check_jobs_are_partitioned_so_the_launchpad_offers_a_partition_picker(sim_env):
    """Dagster infers no partitions for a job that selects checks only; the jobs are given them."""
    from aegis_assets.partitions import session_partitions, slot_partitions

    defs = build_definitions(load_settings())
    assert defs.resolve_job_def("ldas_checks_job").partitions_def == session_partitions()
    assert defs.resolve_job_def("ldas_slot_checks_job").partitions_def == slot_partitions()
