"""Per-symbol files written as the chains arrive: bounded hand-over, one lake commit of the files just
written (each symbol's rows in file order), nothing committed when the run fails."""

import datetime as dt
import threading
import time

import polars as pl
import pyarrow as pa
import pytest
from deltalake import DeltaTable

from aegis_core.archive import symbol_files
from aegis_core.archive.lake import Lake
from aegis_core.archive.schemas import OPTIONS
from aegis_core.archive.store import Archive
from tests.core.archive.test_store import SESSION, chain, fill


@pytest.fixture
def archive(tmp_path):
    return Archive(tmp_path / "archive", Lake(str(tmp_path / "lake")), "sim")


def writes(archive) -> list[dict]:
    """The commits of the options table that wrote rows (not the creation of the empty table)."""
    if archive.lake.version("options") is None:
        return []
    return [c for c in DeltaTable(archive.lake.uri("options")).history() if c["operation"] == "WRITE"]


def one(symbol, rows, seed=0):
    frame = fill(chain([symbol], rows=rows), OPTIONS.column_names)
    # Strikes out of order, so "file order" and "sorted order" differ.
    strikes = ((pl.int_range(rows) * 7919 + seed) % 1000 + 1).cast(pl.Float64)
    return frame.with_columns(strikes.alias("strike_price"))


def test_each_chain_is_a_file_when_handed_over_and_the_lake_keeps_file_order(archive):
    chains = {"SPY": one("SPY", 9000), "AAPL": one("AAPL", 40), "QQQ": one("QQQ", 12000, seed=3)}
    with archive.options_files(SESSION, [*chains, "EMPTY"]) as files:
        for symbol, frame in chains.items():
            files.add(symbol, frame)
        files.add("EMPTY", one("EMPTY", 0))  # no rows, no file
        report = files.close()
    assert report.rows == 21040 and sorted(report.stats) == ["AAPL", "QQQ", "SPY"]
    assert report.stats["QQQ"].strikes == (
        chains["QQQ"]["strike_price"].min(),
        chains["QQQ"]["strike_price"].max(),
    )
    assert report.stats["SPY"].schema.equals(OPTIONS.arrow_schema)
    lake = archive.lake.read_sessions("options", SESSION, SESSION, ["symbol", "ticker", "strike_price"])
    for symbol, frame in chains.items():
        on_disk = pl.read_parquet(archive.root / f"options/{symbol}/2026/11/20.parquet")
        assert on_disk["strike_price"].to_list() == frame["strike_price"].to_list()
        in_lake = lake.filter(pl.col("symbol") == symbol)
        # The derived sums read the lake: a symbol's rows must come back in the order of its file.
        assert in_lake["strike_price"].to_list() == frame["strike_price"].to_list()
    assert len(writes(archive)) == 1  # one commit of rows


def test_the_hand_over_waits_when_the_disk_falls_behind(archive, monkeypatch):
    monkeypatch.setattr(symbol_files, "MAX_PENDING", 2)
    monkeypatch.setattr(symbol_files, "FILE_THREADS", 1)
    gate = threading.Event()
    real = symbol_files.write_table

    def slow_write(path, table, meta):
        gate.wait(5)
        return real(path, table, meta)

    monkeypatch.setattr(symbol_files, "write_table", slow_write)
    with archive.options_files(SESSION, ["A", "B", "C"]) as files:
        files.add("A", one("A", 5))
        files.add("B", one("B", 5))
        third = threading.Thread(target=files.add, args=("C", one("C", 5)))
        third.start()
        time.sleep(0.3)
        assert third.is_alive()  # two chains in hand: the third waits for room
        gate.set()
        third.join(5)
        assert not third.is_alive()
        assert files.close().rows == 15


def test_a_run_that_fails_after_some_files_commits_nothing_to_the_lake(archive):
    archive.write_options(fill(chain(["SPY", "AAPL"], rows=3), OPTIONS.column_names), SESSION)
    before = archive.lake.version("options")
    files = archive.options_files(SESSION, ["SPY"])
    with pytest.raises(RuntimeError, match="source went away"), files:
        files.add("SPY", one("SPY", 50))
        raise RuntimeError("the source went away")
    assert archive.lake.version("options") == before
    assert archive.lake.read_sessions("options", SESSION, SESSION).height == 6


def test_a_failed_file_write_fails_the_close_and_commits_nothing(archive, monkeypatch):
    def disk_full(path, table, meta):
        raise OSError(28, "No space left on device", str(path))

    monkeypatch.setattr(symbol_files, "write_table", disk_full)
    with pytest.raises(OSError, match="No space left"), archive.options_files(SESSION, ["SPY"]) as files:
        files.add("SPY", one("SPY", 5))
        files.close()
    assert writes(archive) == []


def test_the_lake_refuses_rows_of_symbols_not_replaced_and_commits_nothing(archive):
    table = archive.lake.with_partition_columns(OPTIONS, OPTIONS.to_arrow(one("SPY", 4)), SESSION)
    with pytest.raises(Exception, match="4 rows belong to symbols not being replaced"):
        archive.lake.replace_batches(OPTIONS, table.to_batches, sessions=[SESSION], symbols=["AAPL"])
    assert writes(archive) == []
    day_before = dt.date(2026, 11, 19)
    other_day = archive.lake.with_partition_columns(OPTIONS, OPTIONS.to_arrow(one("SPY", 4)), day_before)
    with pytest.raises(Exception, match="4 rows fall outside the sessions"):
        archive.lake.replace_batches(OPTIONS, other_day.to_batches, sessions=[SESSION])
    assert writes(archive) == []


def test_a_lost_commit_race_replays_the_rows_from_the_source_again(archive, monkeypatch):
    from deltalake.exceptions import CommitFailedError

    from aegis_core.archive import lake as lake_module

    calls = {"write": 0, "batches": 0}
    real = lake_module.write_deltalake

    def racing(*args, **kwargs):
        calls["write"] += 1
        if calls["write"] == 1:
            for _ in args[1]:  # the first try reads the stream, then loses the race
                pass
            raise CommitFailedError("another writer committed first")
        return real(*args, **kwargs)

    monkeypatch.setattr(lake_module, "write_deltalake", racing)
    table = archive.lake.with_partition_columns(OPTIONS, OPTIONS.to_arrow(one("SPY", 4)), SESSION)

    def batches() -> list[pa.RecordBatch]:
        calls["batches"] += 1
        return table.to_batches()

    archive.lake.replace_batches(OPTIONS, batches, sessions=[SESSION], symbols=["SPY"])
    assert calls == {"write": 2, "batches": 2}
    assert archive.lake.read_sessions("options", SESSION, SESSION).height == 4


def test_a_covered_symbol_without_a_new_file_keeps_its_file_and_its_lake_rows(archive):
    archive.write_options(fill(chain(["SPY", "AAPL"], rows=3), OPTIONS.column_names), SESSION)
    with archive.options_files(SESSION, ["SPY", "AAPL"]) as files:
        files.add("SPY", one("SPY", 7))  # AAPL failed at the source this time
        report = files.close()
    assert sorted(report.stats) == ["SPY"]
    lake = archive.lake.read_sessions("options", SESSION, SESSION)
    assert lake.group_by("symbol").len().sort("symbol").rows() == [("AAPL", 3), ("SPY", 7)]
    assert pl.read_parquet(archive.root / "options/AAPL/2026/11/20.parquet").height == 3


def test_a_lake_that_fails_mid_stream_never_stalls_the_writers(archive, monkeypatch):
    monkeypatch.setattr(symbol_files, "MAX_PENDING", 2)

    def broken(*args, **kwargs):
        raise OSError("the lake's storage refused the write")

    monkeypatch.setattr(Lake, "replace_batches", broken)
    symbols = [f"S{i}" for i in range(20)]
    started = time.perf_counter()
    with pytest.raises(OSError, match="refused"), archive.options_files(SESSION, symbols) as files:
        for symbol in symbols:
            files.add(symbol, one(symbol, 5))
        files.close()
    assert time.perf_counter() - started < 10
    assert len(list((archive.root / "options").glob("*/2026/11/20.parquet"))) == 20  # the files are written


def test_a_writer_left_without_close_commits_nothing_and_does_not_hang(archive):
    with archive.options_files(SESSION, ["SPY"]) as files:
        files.add("SPY", one("SPY", 5))
    assert writes(archive) == []
