"""Fault drills at small scale (issue 9 runs them at full scale in benchmarks/)."""

import hashlib

import dagster as dg

from aegis_assets.ldas.eod import options, stocks, vix
from aegis_core.settings import SimFaultSettings, load_settings
from aegis_pipelines.resources import build_resources

SESSION = "2026-11-20"


def digest(root):
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*.parquet"))
    }


def materialize(tmp_path, name, faults=None):
    settings = load_settings()
    update = {"archive_root": tmp_path / name / "archive", "lake_root": str(tmp_path / name / "lake")}
    if faults:
        update["sim"] = settings.sim.model_copy(update={"faults": SimFaultSettings(**faults)})
        update["polygon"] = settings.polygon.model_copy(
            update={"backoff_base_s": 0.01, "max_retries": 10, "timeout_s": 2.0}
        )
    # Resources are built from settings (Dagster resources cannot be copied with new fields).
    res = build_resources(settings.model_copy(update=update))
    with dg.instance_for_test() as instance:
        result = dg.materialize(
            [vix, stocks, options], partition_key=SESSION, resources=res, instance=instance
        )
    return result, tmp_path / name / "archive"


def test_source_faults_still_archive_every_symbol_identically(sim_env, tmp_path):
    clean, clean_root = materialize(tmp_path, "clean")
    # Higher rates than the full-scale drill: a 3-symbol run makes only a dozen requests.
    faults = {
        "rate_5xx": 0.25,
        "rate_429": 0.15,
        "retry_after_s": 0.05,
        "rate_truncate": 0.10,
        "rate_stall": 0.05,
        "stall_s": 3.0,
    }
    faulty, faulty_root = materialize(tmp_path, "faulty", faults)
    assert clean.success and faulty.success
    meta = faulty.asset_materializations_for_node("ldas__options")[0].metadata
    assert meta["retries"].value > 0 and meta["symbols_failed"].value == "none"
    assert digest(faulty_root) == digest(clean_root)
