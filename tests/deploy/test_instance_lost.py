"""Issue 24: a PostgreSQL instance lost in the middle of `aegis eod` ends the command in one line
naming the instance (exit 2), without dagster-postgres's paragraph per connection retry."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import PROJECT
from tests.deploy.test_instance_postgres import PG_HOST, PG_PORT, PG_USER, _connect

pytestmark = pytest.mark.postgres


@pytest.fixture
def database() -> Iterator[tuple[str, object]]:
    try:
        admin = _connect("postgres")
    except Exception as exc:
        pytest.skip(f"no PostgreSQL on {PG_HOST}:{PG_PORT} as {PG_USER} ({type(exc).__name__})")
    admin.autocommit = True
    name = f"aegis_lost_{secrets.token_hex(4)}"
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    try:
        yield name, admin
    finally:
        with admin.cursor() as cur:
            cur.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.mark.timeout(240)
def test_postgres_lost_during_aegis_eod(database, sim_env, tmp_path):
    name, admin = database
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text(
        "storage:\n  postgres:\n    postgres_db:\n"
        f"      username: {PG_USER}\n      password: ''\n      hostname: {PG_HOST}\n      port: {PG_PORT}\n"
        f"      db_name: {name}\n      scheme: postgresql+psycopg2\n"
    )
    profile = tmp_path / "slow.yaml"  # slow enough a market that the run is still going when PG goes
    profile.write_text(
        (PROJECT / "configs/local.yaml").read_text().replace("latency_ms: 0", "latency_ms: 300")
    )
    env = {**os.environ, **sim_env, "AEGIS_CONFIG": str(profile), "DAGSTER_HOME": str(home)}
    err_path = tmp_path / "stderr.txt"
    with err_path.open("w") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "aegis_pipelines.cli", "eod", "--date", "2026-11-20"],
            cwd=PROJECT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
        deadline = time.monotonic() + 120
        while "option chains" not in err_path.read_text() and time.monotonic() < deadline:
            assert proc.poll() is None, err_path.read_text()
            time.sleep(0.2)
        with admin.cursor() as cur:  # the database goes away under the running command
            cur.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
            cur.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
        code = proc.wait(timeout=180)
    lines = Path(err_path).read_text().splitlines()
    assert code == 2, lines[-5:]
    assert lines[-1].startswith(
        f"aegis eod: the Dagster instance in DAGSTER_HOME={home} (dagster.yaml) failed: "
    )
    assert "too many retries for DB connection" in lines[-1]
    assert not any("Retrying failed database connection" in line for line in lines)
    assert not any(line.startswith("Traceback") for line in lines)
