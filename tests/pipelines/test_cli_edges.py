"""Issue 16: odd input to `aegis eod` / `aegis intraday` answers with one line, exit 2, no traceback."""

from __future__ import annotations

import pytest

from aegis_pipelines.cli import main


@pytest.fixture
def home(tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return home


def refused(argv, capsys) -> str:
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1 and "Traceback" not in err
    return err.strip()


@pytest.mark.parametrize("command", ["eod", "intraday"])
@pytest.mark.parametrize("symbols", [",", ""])
def test_symbols_naming_none_are_refused(sim_env, home, capsys, command, symbols):
    """`--symbols ','` and `--symbols ''` used to run the whole universe."""
    err = refused([command, "--symbols", symbols], capsys)
    assert err == f"aegis {command}: --symbols {symbols!r} names no symbol; omit it to run the whole universe"


def test_a_date_not_in_key_form_is_refused(sim_env, home, capsys):
    assert refused(["eod", "--date", "20261125"], capsys) == (
        "aegis eod: invalid session date '20261125': expected YYYY-MM-DD"
    )


@pytest.mark.parametrize("command", ["eod", "intraday"])
def test_a_universe_file_that_is_a_folder(sim_env, home, tmp_path, monkeypatch, capsys, command):
    monkeypatch.setenv("AEGIS_UNIVERSE_FILE", str(tmp_path))
    assert refused([command], capsys) == f"aegis {command}: universe file {tmp_path} is a folder, not a file"


def test_a_config_that_is_a_folder(sim_env, home, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("AEGIS_CONFIG", str(tmp_path))
    assert (
        refused(["eod"], capsys)
        == f"aegis eod: AEGIS_CONFIG: configuration file {tmp_path} is a folder, not a file"
    )


def test_a_base_url_that_is_not_a_url(sim_env, home, monkeypatch, capsys):
    monkeypatch.setenv("POLYGON_BASE_URL", "notaurl")
    err = refused(["eod", "--date", "2026-11-20"], capsys)
    assert "polygon.base_url (from environment variable POLYGON_BASE_URL): the URL must be an absolute" in err


@pytest.mark.parametrize("state", ["missing", "file"])
def test_a_dagster_home_that_is_not_a_folder(sim_env, tmp_path, monkeypatch, capsys, state):
    home = tmp_path / "nowhere"
    if state == "file":
        home.write_text("")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    what = "does not exist" if state == "missing" else "is not a folder"
    assert refused(["eod", "--date", "2026-11-20"], capsys) == (
        f"aegis eod: DAGSTER_HOME {home} {what}: create the folder or unset DAGSTER_HOME"
    )


def test_a_closed_live_slot_exits_2(sim_env, home, monkeypatch, capsys):
    """The README says closed slots exit 2; live, a past slot used to start a run and fail with 1."""
    monkeypatch.setenv("AEGIS_SOURCE", "polygon")
    monkeypatch.setenv("POLYGON_API_KEY", "pk_not_used_0123456789")
    err = refused(["intraday", "--slot", "2026-11-20-09:35"], capsys)
    assert err.startswith(
        "aegis intraday: --slot 2026-11-20-09:35: the intraday slot 2026-11-20 09:35 ET can be captured only "
        "inside its own 15-minute window"
    )


def test_a_dagster_home_without_its_configuration_is_refused_in_one_line(sim_env, tmp_path):
    """Dagster would fall back to its own defaults (no vendor lane, a telemetry banner): refuse."""
    from tests.pipelines.test_cli_eod import aegis

    done = aegis(["eod", "--date", "2026-11-20"], {**sim_env, "DAGSTER_HOME": str(tmp_path)})
    assert done.returncode == 2
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "has no dagster.yaml" in lines[0] and str(tmp_path) in lines[0]
    assert "Telemetry" not in done.stdout + done.stderr


@pytest.fixture
def instance_home(home):
    from tests.conftest import PROJECT

    (home / "dagster.yaml").write_text((PROJECT / "dagster.yaml").read_text())
    return home


def test_a_session_before_the_first_partition_is_one_line_and_exit_2(sim_env, instance_home, capsys):
    """Issue 23: a session inside the calendar but before the partitions start used to end in a
    DagsterUnknownPartitionError traceback and exit 1."""
    err = refused(["eod", "--date", "2023-01-03"], capsys)
    assert err.startswith(
        "aegis eod: 2023-01-03 is not a partition of ldas_eod_job (its partitions run from "
    )


def test_a_date_after_the_calendars_end_is_one_line_and_exit_2(sim_env, instance_home, capsys):
    assert "outside the NYSE calendar" in refused(["eod", "--date", "2031-01-02"], capsys)


def test_a_slot_before_the_first_slot_partition_is_one_line_and_exit_2(sim_env, instance_home, capsys):
    err = refused(["intraday", "--slot", "2025-06-02-09:35"], capsys)
    assert err.startswith("aegis intraday: 2025-06-02-09:35 is not a partition of ldas_intraday_job (its ")


def test_a_slot_after_the_calendars_end_is_one_line_and_exit_2(sim_env, instance_home, capsys):
    assert "outside the NYSE calendar" in refused(["intraday", "--slot", "2031-01-02-09:35"], capsys)
