"""``aegis intraday`` and the intraday domain inside the code location."""

import datetime as dt
import re

import dagster as dg
import pytest

from aegis_assets.ldas.intraday import INTRADAY_CADENCE_CHECK
from aegis_core.base.settings import load_settings
from aegis_core.calendar import NY
from aegis_pipelines.cli import main
from aegis_pipelines.cli.intraday import resolve_slot
from aegis_pipelines.definitions import build_definitions
from aegis_pipelines.ldas.intraday import INTRADAY_CRONS
from tests.conftest import PROJECT

NOW = dt.datetime(2026, 11, 20, 10, 12, tzinfo=NY)


def test_code_location_has_the_intraday_domain(sim_env):
    defs = build_definitions(load_settings())
    dg.Definitions.validate_loadable(defs)
    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert {"ldas/pt_snapshots", "ldas/intraday_cadence"} <= keys
    checks = {(c.asset_key.to_user_string(), c.name) for c in graph.asset_check_keys}
    assert ("ldas/intraday_cadence", INTRADAY_CADENCE_CHECK) in checks
    job = defs.resolve_job_def("ldas_intraday_job")
    assert job.tags["aegis/vendor"] == "market_data" and job.tags["dagster/max_runtime"] == "840"
    assert defs.resolve_job_def("ldas_intraday_cadence_job").name == "ldas_intraday_cadence_job"
    schedule = defs.resolve_schedule_def("ldas_intraday_schedule")
    assert (
        list(schedule.cron_schedule) == INTRADAY_CRONS and schedule.execution_timezone == "America/New_York"
    )
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    cadence = defs.resolve_schedule_def("ldas_intraday_cadence_schedule")
    assert (
        cadence.cron_schedule == "20 16 * * 1-5"
        and cadence.default_status == dg.DefaultScheduleStatus.RUNNING
    )


@pytest.mark.parametrize(
    "text, reason",
    [
        ("2026-11-20 10:05", "expected YYYY-MM-DD-HH:MM"),
        ("2026-11-20-10:10", "is not an intraday slot of 2026-11-20"),
        ("2026-11-20-16:05", "is not an intraday slot of 2026-11-20"),
        ("2026-11-19-09:20", "is not an intraday slot of 2026-11-19"),
        ("2026-11-26-10:05", "2026-11-26 is not an NYSE session"),
        ("2026-11-27-13:05", "is not an intraday slot of 2026-11-27 (slots run 09:35–12:50"),
        ("2026-11-20-10:20", "has not started yet"),
    ],
)
def test_resolve_slot_refuses_with_the_reason(text, reason):
    with pytest.raises(ValueError, match=re.escape(reason)):
        resolve_slot(text, NOW)


def test_resolve_slot_defaults_to_the_slot_open_now():
    assert resolve_slot(None, NOW) == "2026-11-20-10:05"
    assert resolve_slot("2026-11-20-09:35", NOW) == "2026-11-20-09:35"
    with pytest.raises(ValueError, match="no intraday slot is open at 2026-11-21 10:00 ET"):
        resolve_slot(None, dt.datetime(2026, 11, 21, 10, tzinfo=NY))


def test_cli_refuses_a_bad_slot(sim_env, capsys):
    assert main(["intraday", "--slot", "2026-11-26-10:05"]) == 2
    assert "aegis intraday: 2026-11-26 is not an NYSE session" in capsys.readouterr().err
    assert main(["intraday", "--slot", "2026-11-20-10:05", "--symbols", "NOPE"]) == 2


def test_cli_runs_one_slot_on_the_instance(sim_env, tmp_path, monkeypatch, capsys):
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text((PROJECT / "dagster.yaml").read_text())
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    assert main(["intraday", "--slot", "2026-11-20-10:05", "--symbols", "CORN"]) == 0
    out = capsys.readouterr().out
    assert "slot 2026-11-20-10:05, 1 symbols" in out and "SUCCESS" in out and "ldas/pt_snapshots" in out
    assert (tmp_path / "archive/options/CORN/2026/11/20_pt_100500.parquet").is_file()
    with dg.DagsterInstance.get() as instance:  # the run is recorded on the instance in DAGSTER_HOME
        (record,) = instance.get_run_records()
        assert record.dagster_run.tags["dagster/partition"] == "2026-11-20-10:05"
