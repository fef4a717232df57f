"""Two ``aegis eod`` runs of the same session at once (an operator re-running while the schedule
runs): both finish, and the archive and the lake end complete and equal to a single run's."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import polars as pl
import pytest

from aegis_core.archive import layout
from aegis_core.calendar import parse_session_date
from tests.conftest import PROJECT, SMALL_UNIVERSE

SESSION = "2026-11-20"


@pytest.mark.timeout(300)
def test_two_concurrent_runs_of_one_session_leave_a_complete_archive(sim_env, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(PROJECT / "dagster.yaml", home / "dagster.yaml")
    env = {**os.environ, **sim_env, "DAGSTER_HOME": str(home)}
    command = [sys.executable, "-m", "aegis_pipelines.cli", "eod", "--date", SESSION]
    procs = [
        subprocess.Popen(command, cwd=PROJECT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=280)[0].decode(errors="replace") for p in procs]
    for proc, out in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, out[-3000:]

    root = tmp_path / "archive"
    day = parse_session_date(SESSION)
    assert list(root.rglob("*.tmp")) == []
    lake = pl.read_delta(str(tmp_path / "lake" / "options"))
    for symbol in SMALL_UNIVERSE:
        rows = pl.read_parquet(layout.options_file(root, symbol, day)).height
        assert rows > 0
        assert lake.filter(pl.col("symbol") == symbol).height == rows  # one copy, not two
    gex = pl.read_parquet(layout.daily_file(root, "gex_summary", day))
    assert sorted(gex["symbol"]) == sorted(SMALL_UNIVERSE)
