"""`aegis checks`: a session's or a slot's checks re-evaluated on the instance in DAGSTER_HOME, each
result printed; exit 0 all passed, 1 a check failed, 2 a usage error (one line)."""

from __future__ import annotations

import dagster as dg
import pytest

from aegis_core.archive import layout
from aegis_core.calendar import parse_session_date
from aegis_pipelines.cli import main
from tests.conftest import PROJECT, SMALL_UNIVERSE

SESSION = "2026-11-20"


@pytest.fixture
def home(tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text((PROJECT / "dagster.yaml").read_text())
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return home


def lines(text: str, verdict: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith(verdict + "  ")]


def test_checks_of_an_archived_session_pass_then_fail_when_a_file_goes(sim_env, home, tmp_path, capsys):
    assert main(["eod", "--date", SESSION]) == 0
    capsys.readouterr()

    assert main(["checks", "--date", SESSION]) == 0
    out = capsys.readouterr().out
    passed = lines(out, "PASS")
    assert len(passed) >= 10 and not lines(out, "FAIL"), out
    assert any("ldas/options:universe_coverage" in line and "ERROR" in line for line in passed), out
    assert f"all {len(passed)} checks passed" in out

    # A stock bar lost from the archive: coverage and the lake comparison fail, by name.
    layout.stock_file(tmp_path / "archive", SMALL_UNIVERSE[0], parse_session_date(SESSION)).unlink()
    assert main(["checks", "--date", SESSION]) == 1
    out = capsys.readouterr().out
    failed = lines(out, "FAIL")
    assert any("ldas/stocks:universe_coverage" in line and SMALL_UNIVERSE[0] in line for line in failed), out
    assert f"{len(failed)} of " in out and "checks failed" in out

    # The run is on the instance, as a partitioned run of the checks job (what the UI shows).
    with dg.DagsterInstance.get() as instance:
        runs = instance.get_runs(dg.RunsFilter(job_name="ldas_checks_job"))
    assert len(runs) == 2 and {r.tags["dagster/partition"] for r in runs} == {SESSION}


@pytest.mark.parametrize(
    "argv, message",
    [
        (["checks", "--date", "2026-11-26"], "not an NYSE session"),
        (["checks", "--date", "2099-01-02"], "outside the NYSE calendar"),
        (["checks", "--date", "26-11-20"], "invalid session date"),
        (["checks", "--slot", "2026-11-20-09:40"], "not an intraday slot"),
    ],
)
def test_a_bad_partition_is_one_line_and_exit_2(sim_env, home, capsys, argv, message):
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and message in err and err.startswith("aegis checks: ")


@pytest.mark.parametrize("argv", [["checks"], ["checks", "--date", SESSION, "--slot", "2026-11-20-09:35"]])
def test_neither_or_both_partitions_is_a_usage_error(argv, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
