"""Issue 16: a failed step's root cause leads the run summary and the run-failure alert.

It used to be "DagsterExecutionStepExecutionError: Error occurred while executing op …", with the
real cause ~200 log lines up.
"""

from __future__ import annotations

import shutil
import sys
import time

import dagster as dg
import pytest
from dagster._utils.error import serializable_error_info_from_exc_info

from aegis_core.base.settings import load_settings
from aegis_pipelines.alerting.root_cause import root_cause
from aegis_pipelines.alerting.sensors import run_failure_alert
from aegis_pipelines.cli.local_run import run_partition
from tests.conftest import PROJECT
from tests.fakes.hostile import HostileServer
from tests.polygon.server import NOT_AUTHORIZED, LoopbackServer, json_reply


def _serialized(exc_factory):
    try:
        exc_factory()
    except Exception:
        return serializable_error_info_from_exc_info(sys.exc_info())
    raise AssertionError("no exception")


def _wrapped() -> None:
    try:
        raise FileExistsError(17, "File exists", "/data/archive")
    except FileExistsError as exc:
        raise RuntimeError("Error occurred while executing op ldas__vix") from exc


def test_root_cause_walks_to_the_deepest_error() -> None:
    assert root_cause(_serialized(_wrapped)) == "FileExistsError: [Errno 17] File exists: '/data/archive'"


def test_root_cause_of_a_plain_error_is_itself() -> None:
    def fail() -> None:
        raise ValueError("bad\nsecond line")

    assert root_cause(_serialized(fail)) == "ValueError: bad"
    assert root_cause(None) == "step failed (no error recorded)"


@pytest.fixture
def home(tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(PROJECT / "dagster.yaml", home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return home


def _run_and_alert(capsys) -> tuple[list[str], str]:
    settings = load_settings()
    assert run_partition(settings, "ldas_eod_job", "2026-11-20", ["CORN"], command="eod", header="eod") == 1
    steps = [line for line in capsys.readouterr().err.splitlines() if line.startswith("step ")]
    with dg.DagsterInstance.get() as instance:
        [run] = instance.get_runs()
        [alert] = run_failure_alert(instance, run, "http://ui/runs/x").alerts
    return steps, alert.reason


def test_an_archive_root_that_is_a_file_is_named(sim_env, home, tmp_path, monkeypatch, capsys) -> None:
    afile = tmp_path / "afile"
    afile.write_text("")
    monkeypatch.setenv("AEGIS_ARCHIVE_ROOT", str(afile))
    steps, reason = _run_and_alert(capsys)
    assert f"step ldas__vix failed: FileExistsError: [Errno 17] File exists: '{afile}'" in steps
    assert "FileExistsError: [Errno 17] File exists" in reason.splitlines()[0]
    assert "DagsterExecutionStepExecutionError" not in "\n".join(steps) + reason


def test_a_refused_key_is_named(sim_env, home, monkeypatch, capsys) -> None:
    with LoopbackServer(lambda request: json_reply(NOT_AUTHORIZED, 401)) as source:
        monkeypatch.setenv("AEGIS_SOURCE", "polygon")
        monkeypatch.setenv("AEGIS_GO_LIVE", "2026-11-20")  # an empty live archive: the latest
        monkeypatch.setenv("POLYGON_BASE_URL", source.url)
        monkeypatch.setenv("POLYGON_API_KEY", "pk_refused_0123456789")
        steps, reason = _run_and_alert(capsys)
    vix = next(line for line in steps if line.startswith("step ldas__vix"))
    assert vix.startswith(
        "step ldas__vix failed: PolygonAuthError: HTTP 401 NOT_AUTHORIZED at /v2/aggs/ticker/I:VIX"
    )
    # The alert leads with the first failed step (options: outside its capture window), in its own words.
    assert "DagsterExecutionStepExecutionError" not in reason
    assert "pk_refused_0123456789" not in "\n".join(steps) + reason


def test_an_end_of_day_run_against_a_silent_source_ends_at_its_budget(
    sim_env, home, tmp_path, monkeypatch, capsys
) -> None:
    """Against a black hole the options step alone took ~290 s; the run budget bounds all its steps."""
    profile = tmp_path / "silent.yaml"
    profile.write_text(
        (PROJECT / "configs/local.yaml").read_text().replace("polygon:\n", "polygon:\n  run_budget_s: 4\n", 1)
    )
    with HostileServer("blackhole") as source:
        monkeypatch.setenv("AEGIS_CONFIG", str(profile))
        monkeypatch.setenv("AEGIS_SOURCE", "polygon")
        monkeypatch.setenv("AEGIS_GO_LIVE", "2026-11-20")  # an empty live archive: the latest
        monkeypatch.setenv("POLYGON_BASE_URL", source.base)
        monkeypatch.setenv("POLYGON_API_KEY", "pk_silent_0123456789")
        started = time.monotonic()
        steps, _ = _run_and_alert(capsys)
        seconds = time.monotonic() - started
    assert seconds < 4 + 20  # the budget, plus Dagster's own start-up and bookkeeping
    # (ldas__options of a past session fails before any request: outside its capture window.)
    fetching = [line for line in steps if line.split()[1] in ("ldas__vix", "ldas__stocks")]
    assert len(fetching) == 2
    for line in fetching:
        assert "PolygonDeadlineError" in line and "within the 4 s run budget (polygon.run_budget_s)" in line
    # One budget for the run, not one per step: the first step to ask spent it waiting, the next one
    # failed at once without a request.
    assert sorted("last failure: timeout" in line for line in fetching) == [False, True]
