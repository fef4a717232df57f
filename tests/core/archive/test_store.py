import datetime as dt

import polars as pl
import pytest

from aegis_core.archive.lake import Lake
from aegis_core.archive.store import Archive
from aegis_core.calendar import NY

SESSION = dt.date(2026, 11, 20)


def chain(symbols, rows=3, at=dt.datetime(2026, 11, 20, 21, tzinfo=dt.UTC)):
    n = len(symbols) * rows
    return pl.DataFrame(
        {
            "timestamp": [at] * n,
            "symbol": [s for s in symbols for _ in range(rows)],
            "ticker": [f"O:{s}261218C{100 + i:05d}000" for s in symbols for i in range(rows)],
            "contract_type": ["call"] * n,
            "expiration_date": [dt.date(2026, 12, 18)] * n,
            "strike_price": [100.0 + i for _ in symbols for i in range(rows)],
            "gamma": [None] * n,
        }
    ).with_columns(pl.col("gamma").cast(pl.Float64))


def fill(frame, artefact_columns):
    for name in artefact_columns:
        if name not in frame.columns:
            frame = frame.with_columns(pl.lit(None).alias(name))
    return frame


@pytest.fixture
def archive(tmp_path):
    return Archive(tmp_path / "archive", Lake(str(tmp_path / "lake")), "sim")


def test_options_one_file_per_symbol_and_lake_partition(archive):
    from aegis_core.archive.schemas import OPTIONS

    report = archive.write_options(fill(chain(["SPY", "AAPL"]), OPTIONS.column_names), SESSION)
    assert sorted(p.relative_to(archive.root).as_posix() for p in report.files) == [
        "options/AAPL/2026/11/20.parquet",
        "options/SPY/2026/11/20.parquet",
    ]
    assert report.rows == 6
    lake = archive.lake.read_sessions("options", SESSION, SESSION)
    assert lake.height == 6 and lake["gamma"].null_count() == 6  # nulls stay nulls


def test_rerun_replaces_files_and_lake_rows(archive):
    from aegis_core.archive.schemas import OPTIONS

    archive.write_options(fill(chain(["SPY"], rows=3), OPTIONS.column_names), SESSION)
    archive.write_options(fill(chain(["SPY"], rows=5), OPTIONS.column_names), SESSION)
    assert pl.read_parquet(archive.root / "options/SPY/2026/11/20.parquet").height == 5
    assert archive.lake.read_sessions("options", SESSION, SESSION).height == 5
    other = dt.date(2026, 11, 19)
    archive.write_options(fill(chain(["SPY"], rows=2), OPTIONS.column_names), other)
    assert archive.lake.read_sessions("options", other, SESSION).height == 7


def test_intraday_rerun_of_a_slot_leaves_one_file(archive):
    from aegis_core.archive.schemas import OPTIONS

    slot = dt.datetime(2026, 11, 20, 9, 35, tzinfo=NY)
    first = dt.datetime(2026, 11, 20, 9, 35, 12, tzinfo=NY)
    second = dt.datetime(2026, 11, 20, 9, 41, 3, tzinfo=NY)
    nxt = dt.datetime(2026, 11, 20, 9, 50, 0, tzinfo=NY)
    frame = fill(chain(["SPY"]), OPTIONS.column_names)
    archive.write_intraday(frame, slot, first)
    archive.write_intraday(frame, nxt, nxt)
    report = archive.write_intraday(frame, slot, second)
    assert report.replaced == 1
    names = sorted(p.name for p in (archive.root / "options/SPY/2026/11").iterdir())
    assert names == ["20_pt_094103.parquet", "20_pt_095000.parquet"]
    lake = archive.lake.read_sessions("options_intraday", SESSION, SESSION)
    assert lake.group_by("slot").len().sort("slot").to_dicts() == [
        {"slot": "09:35", "len": 3},
        {"slot": "09:50", "len": 3},
    ]
