"""The production dagster.yaml as a real Dagster instance on a real PostgreSQL, and a run on it.

PostgreSQL is expected on 127.0.0.1:5432 with trust authentication (CI starts it); each test run gets
a database of its own, dropped afterwards. Without a server the Postgres tests skip, saying why.
The Docker run launcher loads without a Docker engine (its client is created only at launch), so
the instance is the production one in every respect except where runs would start.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from aegis_core.base.settings import load_settings
from tests.deploy.compose import DEPLOY, instance_config

PG_HOST, PG_PORT = "127.0.0.1", 5432
PG_USER = os.environ.get("AEGIS_TEST_PGUSER", "postgres")
STORAGE_VARIABLES = (
    "DAGSTER_POSTGRES_HOST",
    "DAGSTER_POSTGRES_USER",
    "DAGSTER_POSTGRES_PASSWORD",
    "DAGSTER_POSTGRES_DB",
)
SESSION = "2026-11-20"


def _connect(dbname: str):
    import psycopg2

    return psycopg2.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname=dbname, connect_timeout=3)


@pytest.fixture(scope="module")
def pg_database() -> Iterator[str]:
    """A fresh database for this module (or ``test`` if this role may not create databases)."""
    try:
        admin = _connect("postgres")
    except Exception as exc:
        pytest.skip(
            f"no PostgreSQL on {PG_HOST}:{PG_PORT} as {PG_USER} with trust auth "
            f"({type(exc).__name__}: {str(exc).strip()})"
        )
    admin.autocommit = True
    name = f"aegis_deploy_{secrets.token_hex(4)}"
    try:
        with admin.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{name}"')
    except Exception:
        name = "test"
    try:
        yield name
    finally:
        if name != "test":
            with admin.cursor() as cur:
                cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture
def production_home(tmp_path, monkeypatch) -> str:
    """A DAGSTER_HOME holding exactly deploy/dagster.yaml."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(DEPLOY / "dagster.yaml", home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return str(home)


@pytest.mark.postgres
def test_production_instance_on_postgres_runs_the_eod_job(pg_database, production_home, sim_env, monkeypatch):
    from dagster._core.instance.config import PoolGranularity
    from dagster._core.run_coordinator import QueuedRunCoordinator
    from dagster_docker import DockerRunLauncher
    from dagster_postgres import PostgresEventLogStorage, PostgresRunStorage, PostgresScheduleStorage

    from aegis_pipelines.definitions import build_definitions

    for name, value in zip(
        STORAGE_VARIABLES, (PG_HOST, PG_USER, "unused-with-trust-auth", pg_database), strict=True
    ):
        monkeypatch.setenv(name, value)
    config = instance_config()
    with dg.DagsterInstance.get() as instance:
        assert isinstance(instance.run_storage, PostgresRunStorage)
        assert isinstance(instance.event_log_storage, PostgresEventLogStorage)
        assert isinstance(instance.schedule_storage, PostgresScheduleStorage)
        assert isinstance(instance.run_coordinator, QueuedRunCoordinator)
        launcher = instance.run_launcher
        assert isinstance(launcher, DockerRunLauncher)
        # The instance's list (the storage), then the settings variables set here (sim_env's).
        listed = config["run_launcher"]["config"]["env_vars"]
        assert launcher.env_vars[: len(listed)] == listed and set(sim_env) <= set(launcher.env_vars)
        assert launcher.networks == ["aegis_network"]
        assert launcher.container_kwargs["auto_remove"] is True

        concurrency = instance.get_concurrency_config()
        assert concurrency.pool_config.pool_granularity == PoolGranularity.RUN
        assert concurrency.pool_config.default_pool_limit == 1
        limits = concurrency.run_queue_config.tag_concurrency_limits
        assert [(lim["key"], lim["limit"]) for lim in limits] == [("aegis/vendor", 1)]
        assert concurrency.run_queue_config.max_concurrent_runs == 4
        assert instance.run_retries_enabled and instance.run_retries_max_retries == 1
        assert instance.run_monitoring_enabled and instance.run_monitoring_max_runtime_seconds == 14400
        assert not instance.telemetry_enabled

        job = build_definitions(load_settings()).resolve_job_def("ldas_eod_job")
        result = job.execute_in_process(
            partition_key=SESSION, instance=instance, tags={"aegis/symbols": "CORN"}
        )
        assert result.success
        assert instance.get_run_by_id(result.run_id).status == dg.DagsterRunStatus.SUCCESS
        mats = instance.fetch_materializations(dg.AssetKey(["ldas", "options"]), limit=5).records
        assert [(m.partition_key, m.run_id) for m in mats] == [(SESSION, result.run_id)]

    # The run really is in PostgreSQL, not in a file beside DAGSTER_HOME.
    with _connect(pg_database) as conn, conn.cursor() as cur:
        cur.execute("SELECT status FROM runs WHERE run_id = %s", (result.run_id,))
        assert cur.fetchone() == ("SUCCESS",)
    assert not (Path(production_home) / "history").exists()


def test_missing_storage_variables_fail_the_instance_load_with_their_names(production_home, monkeypatch):
    for name in STORAGE_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DAGSTER_POSTGRES_HOST", "127.0.0.1")
    with pytest.raises(dg.DagsterInvalidConfigError) as caught:
        dg.DagsterInstance.get()
    message = str(caught.value)
    for name in STORAGE_VARIABLES[1:]:
        assert f'environment variable "{name}" which is not set' in message
    assert 'variable "DAGSTER_POSTGRES_HOST"' not in message
