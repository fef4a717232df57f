"""Fixtures of the intraday tests: the archive and intraday domains on the simulated market."""

import hashlib
from pathlib import Path

import dagster as dg
import pytest

from aegis_core.base.settings import load_settings
from aegis_pipelines.ldas.eod import eod_definitions
from aegis_pipelines.ldas.intraday import intraday_definitions
from aegis_pipelines.ldas.quality import quality_definitions

SLOT = "2026-11-20-10:05"  # a past slot of a full session (partition keys are checked against the real clock)


@pytest.fixture
def defs(sim_env) -> dg.Definitions:
    """The archive and quality domains (resources) plus the intraday domain; others stay out of the way."""
    settings = load_settings()
    return dg.Definitions.merge(
        eod_definitions(settings), quality_definitions(settings), intraday_definitions(settings)
    )


@pytest.fixture
def instance():
    # In memory: a schedule evaluation re-opens an on-disk instance each tick (~0.3 s).
    with dg.DagsterInstance.ephemeral() as inst:
        yield inst


def run_job(defs: dg.Definitions, instance, name: str, key: str | None = None, tags: dict | None = None):
    return defs.resolve_job_def(name).execute_in_process(
        partition_key=key, instance=instance, tags=tags or {}, raise_on_error=False
    )


def digest(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*.parquet"))
    }


def metadata(result, asset: str) -> dict:
    (event,) = [e for e in result.get_asset_materialization_events() if e.asset_key.to_user_string() == asset]
    return {k: getattr(v, "value", v) for k, v in event.materialization.metadata.items()}
