"""``ldas/intraday_cadence`` and its ``intraday_cadence`` check over a whole session."""

import datetime as dt
import shutil

from aegis_assets.ldas.intraday import INTRADAY_CADENCE_CHECK
from aegis_core.archive import layout
from aegis_core.calendar import NY
from aegis_core.ldas.cadence import completed_slots
from tests.pipelines.intraday.conftest import metadata, run_job

SESSION = "2026-11-20"  # a past full session: partition keys are checked against the real clock
DAY = dt.date(2026, 11, 20)
ONE = {"aegis/symbols": "CORN"}  # one small chain keeps 26 slots fast


def cadence(defs, instance, tags=None):
    result = run_job(defs, instance, "ldas_intraday_cadence_job", SESSION, tags=tags)
    assert result.success  # a failed check does not fail the run (dagster-notes §3)
    (check,) = result.get_asset_check_evaluations()
    assert check.check_name == INTRADAY_CADENCE_CHECK and check.partition == SESSION
    return check, metadata(result, "ldas/intraday_cadence")


def test_cadence_passes_then_fails_on_gaps_and_duplicates(defs, instance, tmp_path):
    # The whole session for CORN in one range run of the snapshot job (a back-fill of the sim source).
    tags = {
        **ONE,
        "dagster/asset_partition_range_start": f"{SESSION}-09:35",
        "dagster/asset_partition_range_end": f"{SESSION}-15:50",
    }
    captured = run_job(defs, instance, "ldas_intraday_job", tags=tags)
    assert captured.success
    assert sorted(e.partition for e in captured.get_asset_materialization_events())[-1] == f"{SESSION}-15:50"
    assert len(captured.get_asset_materialization_events()) == 26

    check, meta = cadence(defs, instance, ONE)
    assert check.passed, check.description
    assert meta["slots_expected"] == 26 and meta["symbols_complete"] == "1/1" and meta["gaps"] == 0
    assert meta["slots_captured_per_symbol"] == {"26": 1}

    # A missing slot fails the check, named by slot and symbol.
    files = layout.intraday_files(tmp_path / "archive", "CORN", DAY)
    files[dt.time(10, 5)].unlink()
    check, meta = cadence(defs, instance, ONE)
    assert not check.passed
    assert "CORN@10:05" in check.description and "1 gap(s)" in check.description
    assert "gap 10:05: CORN" in check.metadata["details"].value
    assert meta["gaps"] == 1 and meta["slots_captured_per_symbol"] == {"25": 1}
    assert "| 10:05 | 1 | CORN |" in meta["gaps_by_slot"]

    # The slot restored, a second snapshot inside the 09:35 window fails it too.
    shutil.copy(files[dt.time(10, 20)], files[dt.time(10, 5)])
    shutil.copy(files[dt.time(9, 35)], files[dt.time(9, 35)].with_name("20_pt_094459.parquet"))
    check, meta = cadence(defs, instance, ONE)
    assert not check.passed and "1 duplicate(s)" in check.description
    assert meta["duplicates"] == 1 and meta["gaps"] == 0

    # Over the whole (3-symbol) universe, the symbols never captured are gaps in every slot.
    check, meta = cadence(defs, instance)
    assert not check.passed
    assert meta["gaps"] == 52 and meta["symbols_complete"] == "1/3"
    assert "| 09:35 | 2 | AAXJ, BDRY |" in meta["gaps_by_slot"]
    assert meta["slots_captured_per_symbol"] == {"0": 2, "26": 1}


def test_completed_slots_follow_the_clock():
    at = dt.datetime(2026, 11, 20, 10, 10, tzinfo=NY)
    assert [f"{s:%H:%M}" for s in completed_slots(at.date(), at)] == ["09:35", "09:50"]
    early = dt.date(2026, 11, 27)  # closes at 13:00
    assert len(completed_slots(early, dt.datetime(2026, 11, 27, 16, 20, tzinfo=NY))) == 14
    assert completed_slots(dt.date(2026, 11, 26), dt.datetime(2026, 11, 27, tzinfo=NY)) == []
