"""Issue 24: every store error is one line naming the store and the table or file — a truncated or
newer-protocol `_delta_log`, an s3:// lake without credentials, a corrupt first parquet file, a bad
`dagster.yaml`, an unreachable PostgreSQL, a locked SQLite instance — exit 2 from `aegis eod`; and
`aegis intraday` is not blocked by an unrelated broken table."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import sqlite3
from pathlib import Path

import polars as pl
import pytest

from aegis_core.archive.guard import check_lake
from aegis_core.archive.lake import SESSION_COLUMN, Lake
from aegis_core.archive.schemas import ARTEFACTS
from aegis_core.base.store_errors import StoreError
from aegis_pipelines.cli import main
from tests.conftest import PROJECT

DAY = dt.date(2026, 11, 20)


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(PROJECT / "dagster.yaml", home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return home


def vix_table(lake_root: str) -> Path:
    """A real one-row vix table; returns its _delta_log folder."""
    frame = pl.DataFrame(
        {
            "timestamp": [dt.datetime(2026, 11, 20, 21, tzinfo=dt.UTC)],
            "symbol": ["I:VIX"],
            "open": [15.0],
            "high": [16.0],
            "low": [14.0],
            "close": [15.5],
            SESSION_COLUMN: [DAY],
        }
    )
    Lake(lake_root).replace(ARTEFACTS["vix"], frame, sessions=[DAY], metadata={"aegis.source": "sim"})
    return Path(lake_root) / "vix" / "_delta_log"


def eod_refused(capsys) -> str:
    assert main(["eod", "--date", DAY.isoformat()]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err and "↳" not in err, err
    return err.strip()


def truncate_log(log: Path) -> None:
    last = sorted(log.glob("*.json"))[-1]
    last.write_bytes(last.read_bytes()[:60])


def newer_protocol(log: Path) -> None:
    first = sorted(log.glob("*.json"))[0]
    actions = [json.loads(line) for line in first.read_text().splitlines()]
    for action in actions:
        if "protocol" in action:
            action["protocol"] = {"minReaderVersion": 9, "minWriterVersion": 9}
    first.write_text("\n".join(json.dumps(a) for a in actions) + "\n")


@pytest.mark.parametrize(
    ("breakage", "reason"),
    [(truncate_log, "Json error: Truncated record"), (newer_protocol, "minimum reader version 9")],
)
def test_a_broken_delta_log_is_one_line_naming_lake_and_table(sim_env, home, capsys, breakage, reason):
    breakage(vix_table(sim_env["AEGIS_LAKE_ROOT"]))
    err = eod_refused(capsys)
    assert err.startswith(f"aegis eod: lake {sim_env['AEGIS_LAKE_ROOT']}: table vix: ") and reason in err


def test_an_unrelated_broken_table_does_not_block_the_intraday_guard(sim_env):
    """The intraday writer checks the kind of the lake; the broken vix table is not its table."""
    truncate_log(vix_table(sim_env["AEGIS_LAKE_ROOT"]))
    lake = Lake(sim_env["AEGIS_LAKE_ROOT"])
    check_lake(lake, "sim", ARTEFACTS["options_intraday"])  # passes: the vix table is not written here
    with pytest.raises(StoreError, match="table vix: Json error"):
        check_lake(lake, "sim", ARTEFACTS["vix"])  # the run that writes it is told, by name


@pytest.fixture
def s3_without_credentials(monkeypatch) -> str:
    """An s3:// lake, no credentials, every endpoint (the bucket's and the metadata service's) a closed
    loopback port: what a container without its task role sees, deterministically and fast."""
    for key in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_CA_BUNDLE",
    ):
        monkeypatch.delenv(key, raising=False)
    for key, value in {
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
        "AWS_METADATA_ENDPOINT": "http://127.0.0.1:9",
        "AWS_ALLOW_HTTP": "true",
        "AWS_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(key, value)
    root = "s3://aegis-no-credentials/lake"
    monkeypatch.setenv("AEGIS_LAKE_ROOT", root)
    return root


@pytest.mark.timeout(120)
def test_an_s3_lake_without_credentials_is_one_line(sim_env, home, capsys, s3_without_credentials):
    err = eod_refused(capsys)
    assert err.startswith(f"aegis eod: lake {s3_without_credentials}: table vix: Generic S3 error")
    assert "object-storage credentials come from the environment" in err


@pytest.mark.timeout(120)
def test_the_intraday_guard_on_s3_names_its_own_table(s3_without_credentials):
    with pytest.raises(StoreError, match=r"table options_intraday: Generic S3 error"):
        check_lake(Lake(s3_without_credentials), "sim", ARTEFACTS["options_intraday"])


def test_a_corrupt_first_parquet_file_is_named(sim_env, home, capsys):
    bad = Path(sim_env["AEGIS_ARCHIVE_ROOT"]) / "vix" / "2026" / "11" / "20.parquet"
    bad.parent.mkdir(parents=True)
    bad.write_bytes(b"PAR1 this is not a parquet file")
    err = eod_refused(capsys)
    assert err.startswith(f"aegis eod: archive {sim_env['AEGIS_ARCHIVE_ROOT']}: file {bad}: ")


# --- the Dagster instance ----------------------------------------------------------------------------


def instance_refused(capsys) -> str:
    assert main(["eod", "--date", DAY.isoformat(), "--symbols", "AAXJ"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err.strip()


@pytest.mark.parametrize(
    ("yaml_text", "reason"),
    [
        ("storage: [unclosed\n", "ParserError: while parsing a flow sequence"),
        ("storagex: {}\n", 'Received unexpected config entry "storagex" at the root.'),
    ],
)
def test_a_bad_dagster_yaml(sim_env, home, capsys, yaml_text, reason):
    (home / "dagster.yaml").write_text(yaml_text)
    err = instance_refused(capsys)
    assert err.startswith(f"aegis eod: the Dagster instance in DAGSTER_HOME={home} (dagster.yaml) failed: ")
    assert reason in err


@pytest.mark.timeout(120)
def test_an_unreachable_postgresql_instance(sim_env, home, capsys):
    (home / "dagster.yaml").write_text(
        "storage:\n  postgres:\n    postgres_db:\n      username: aegis\n      password: unused\n"
        "      hostname: 127.0.0.1\n      port: 9\n      db_name: aegis\n      scheme: postgresql+psycopg2\n"
    )
    err = instance_refused(capsys)
    assert "DagsterPostgresException: too many retries for DB connection" in err
    assert 'connection to server at "127.0.0.1", port 9 failed: Connection refused' in err


@pytest.mark.timeout(120)
def test_a_locked_sqlite_instance(sim_env, home, capsys):
    import dagster as dg

    with dg.DagsterInstance.from_config(str(home)):
        pass  # creates the storage
    runs = next(home.rglob("runs.db"))
    holder = sqlite3.connect(runs, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        err = instance_refused(capsys)
    finally:
        holder.close()
    assert "OperationalError: (sqlite3.OperationalError) database is locked" in err


@pytest.mark.timeout(180)
def test_aegis_intraday_runs_beside_a_broken_vix_table(sim_env, home, capsys):
    """The issue's probe: `aegis intraday` was blocked by the unrelated vix table."""
    truncate_log(vix_table(sim_env["AEGIS_LAKE_ROOT"]))
    assert main(["intraday", "--slot", "2026-11-20-10:05", "--symbols", "AAXJ"]) == 0, capsys.readouterr()
    assert "SUCCESS" in capsys.readouterr().out
    assert Lake(sim_env["AEGIS_LAKE_ROOT"]).version("options_intraday") is not None


def test_aegis_watchdog_once_on_a_bad_dagster_yaml(sim_env, home, capsys):
    (home / "dagster.yaml").write_text("storagex: {}\n")
    assert main(["watchdog", "--once"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(
        f"aegis watchdog: the Dagster instance in DAGSTER_HOME={home}"
    )


def test_in_a_run_a_broken_table_is_a_clear_failure_naming_it(sim_env):
    """The same store error inside a run (the UI, a schedule): the step fails with the one line."""
    import dagster as dg

    from aegis_core.base.settings import load_settings
    from aegis_pipelines.definitions import build_definitions

    truncate_log(vix_table(sim_env["AEGIS_LAKE_ROOT"]))
    job = build_definitions(load_settings()).resolve_job_def("ldas_eod_job")
    with dg.instance_for_test() as instance:
        result = job.execute_in_process(
            partition_key=DAY.isoformat(),
            instance=instance,
            raise_on_error=False,
            asset_selection=[dg.AssetKey(["ldas", "vix"]), dg.AssetKey(["ldas", "stocks"])],
        )
    assert not result.success
    causes = []  # what the UI shows under each failed step: Dagster's wrapper, then its cause
    for event in (e for e in result.all_events if e.is_step_failure):
        error = event.step_failure_data.error
        while error.cause is not None:
            error = error.cause
        causes.append(error)
    assert causes
    expected = (
        f"aegis_core.base.store_errors.StoreError: lake {sim_env['AEGIS_LAKE_ROOT']}: table vix: Json error"
    )
    assert all(c.message.startswith(expected) and c.message.count("\n") == 1 for c in causes), causes[0]


def test_a_fifo_as_the_archive_marker_is_refused_without_waiting(sim_env, home, capsys):
    import os

    root = Path(sim_env["AEGIS_ARCHIVE_ROOT"])
    root.mkdir(parents=True)
    os.mkfifo(root / ".aegis-archive.json")
    err = eod_refused(capsys)
    assert "archive marker" in err and "is a FIFO (named pipe), not a regular file" in err
