"""Issue 12/16: `aegis eod` refuses a store it must not write to in one line, before fetching anything."""

import datetime as dt

import polars as pl
import pytest

from aegis_core.archive import guard
from aegis_core.archive.lake import Lake
from aegis_core.archive.store import Archive
from tests.conftest import PROJECT
from tests.pipelines.test_cli_eod import aegis


def dagster_home(tmp_path) -> str:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    (home / "dagster.yaml").write_text((PROJECT / "dagster.yaml").read_text())
    return str(home)


@pytest.mark.parametrize(
    ("marker", "message"),
    [("{bad", "is unreadable (JSONDecodeError"), ('{"kinds": "sim"}', "does not record a kind")],
)
def test_a_corrupt_marker_is_one_line_naming_the_file(sim_env, tmp_path, marker, message):
    archive = tmp_path / "archive"
    archive.mkdir()
    (archive / guard.MARKER).write_text(marker)
    done = aegis(["eod", "--date", "2026-11-20"], {**sim_env, "DAGSTER_HOME": dagster_home(tmp_path)})
    assert done.returncode == 2
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and str(archive / guard.MARKER) in lines[0] and message in lines[0]
    assert "Traceback" not in done.stderr and not (tmp_path / "lake").exists()


def test_sim_into_a_real_lake_is_refused_naming_root_and_kinds(sim_env, tmp_path):
    real = Archive(tmp_path / "real", Lake(str(tmp_path / "lake")), "polygon")
    bar = pl.DataFrame(
        {
            "timestamp": [dt.datetime(2026, 11, 19, 21, tzinfo=dt.UTC)],
            "symbol": ["CORN"],
            **{c: [20.0] for c in ("open", "high", "low", "close", "volume", "vwap")},
            "transactions": [10],
        }
    )
    real.write_stocks(bar, dt.date(2026, 11, 19))
    done = aegis(["eod", "--date", "2026-11-20"], {**sim_env, "DAGSTER_HOME": dagster_home(tmp_path)})
    assert done.returncode == 2
    assert f"refusing to write simulated data into lake {tmp_path / 'lake'}" in done.stderr
    assert "hold real market data" in done.stderr
    assert not (tmp_path / "archive").exists()
