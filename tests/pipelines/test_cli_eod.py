"""`aegis eod` as a user runs it: a real process on a Dagster instance in a temporary DAGSTER_HOME."""

import contextlib
import datetime as dt
import io
import os
import shutil
import subprocess
import sys

import dagster as dg
import pytest
import yaml

from aegis_core.base.settings import load_settings
from aegis_core.calendar import NY
from aegis_pipelines.cli.eod import resolve_session
from aegis_pipelines.cli.launched_run import follow
from aegis_pipelines.cli.local_run import print_summary
from tests.conftest import PROJECT


def aegis(args, env, cwd=PROJECT, timeout=240):
    exe = shutil.which("aegis") or os.path.join(os.path.dirname(sys.executable), "aegis")
    return subprocess.run(
        [exe, *args], cwd=cwd, env={**os.environ, **env}, capture_output=True, text=True, timeout=timeout
    )


@pytest.mark.parametrize(
    "date, message",
    [
        ("2026-11-26", "not an NYSE session"),
        ("2026-13-01", "invalid session date"),
        ("2099-01-02", "outside the NYSE calendar"),
        ("2026-11-27", "has not closed yet"),
    ],
)
def test_bad_dates_are_refused_before_anything_runs(date, message):
    now = dt.datetime(2026, 11, 27, 10, 0, tzinfo=NY)
    with pytest.raises(ValueError, match=message):
        resolve_session(date, now)


def test_default_is_the_latest_completed_session():
    assert resolve_session(None, dt.datetime(2026, 11, 27, 12, 0, tzinfo=NY)) == "2026-11-25"
    # An early close (13:00): the session's partition exists from 16:00, so the default waits for it.
    assert resolve_session(None, dt.datetime(2026, 11, 27, 13, 1, tzinfo=NY)) == "2026-11-25"
    assert resolve_session(None, dt.datetime(2026, 11, 27, 16, 0, tzinfo=NY)) == "2026-11-27"
    with pytest.raises(ValueError, match="closed early at 13:00 ET; its partition exists from 16:00 ET"):
        resolve_session("2026-11-27", dt.datetime(2026, 11, 27, 14, 0, tzinfo=NY))


def test_cli_refuses_a_holiday_with_exit_2(sim_env, tmp_path):
    proc = aegis(["eod", "--date", "2026-11-26"], {**sim_env, "DAGSTER_HOME": str(tmp_path)})
    assert proc.returncode == 2 and "not an NYSE session" in proc.stderr
    assert not (tmp_path / "archive").exists()


def test_cli_runs_one_session_and_prints_the_summary(sim_env, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(PROJECT / "dagster.yaml", home / "dagster.yaml")
    proc = aegis(
        ["eod", "--date", "2026-11-20", "--symbols", "CORN,BDRY"], {**sim_env, "DAGSTER_HOME": str(home)}
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    out = proc.stdout
    assert "ldas/options" in out and "2/2" in out and "SUCCESS" in out
    assert "option chains: 2/2 symbols" in proc.stdout + proc.stderr  # progress
    assert str(tmp_path / "archive") in out
    assert sorted(p.name for p in (tmp_path / "archive/options").iterdir()) == ["BDRY", "CORN"]
    assert (home / "storage").is_dir()  # the run is recorded on the instance dagster dev shows
    # Read back from the instance as a run handed to the launcher is followed (production): the same
    # summary table, from the run's recorded events.
    with dg.DagsterInstance.from_config(str(home)) as instance:
        (record,) = instance.get_run_records()
        progress = io.StringIO()
        followed = follow(instance, record.dagster_run.run_id, out=progress)
    assert followed.success and "option chains: 2/2 symbols" in progress.getvalue()
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        print_summary(followed, load_settings(), 1.0)
    table = [line for line in printed.getvalue().splitlines() if line.startswith("ldas/")]
    assert table and all(line in out.splitlines() for line in table), (table, out)


def test_a_run_for_the_launcher_that_cannot_be_launched_is_one_line(sim_env, tmp_path):
    """An instance whose launcher runs every run in a container of its own: the run is handed to its
    run queue through the workspace's code location; a missing workspace file or an unreachable code
    location is said in one line (exit 1), and nothing runs in this process."""
    home = tmp_path / "home"
    home.mkdir()
    config = yaml.safe_load((PROJECT / "dagster.yaml").read_text())
    config["run_launcher"] = {
        "module": "aegis_pipelines.instance.launcher",
        "class": "AegisDockerRunLauncher",
        "config": {"env_vars": []},
    }
    (home / "dagster.yaml").write_text(yaml.safe_dump(config))
    env = {**sim_env, "DAGSTER_HOME": str(home)}
    missing = aegis(["eod", "--date", "2026-11-20"], env)
    assert missing.returncode == 1
    assert missing.stderr.strip() == (
        f"cannot launch ldas_eod_job for 2026-11-20 through the instance: ValueError: {home}/workspace.yaml "
        "is missing: the instance launches runs through its code location, named there"
    )
    (home / "workspace.yaml").write_text(
        yaml.safe_dump(
            {"load_from": [{"grpc_server": {"host": "127.0.0.1", "port": 9, "location_name": "aegis"}}]}
        )
    )
    unreachable = aegis(["eod", "--date", "2026-11-20"], env)
    assert unreachable.returncode == 1
    (line,) = unreachable.stderr.strip().splitlines()
    assert "cannot launch ldas_eod_job for 2026-11-20" in line and "Could not reach user code server" in line
    assert not (tmp_path / "archive").exists()  # nothing ran here
