"""The session's files written by a process of their own: the same files and lake rows as the writer
in the fetch's process, nothing committed when the parent fails or dies, the child's errors raised in
the parent."""

import subprocess
import sys
import textwrap
import time

import polars as pl
import pytest
from deltalake import DeltaTable

from aegis_core.archive.lake import Lake
from aegis_core.archive.store import Archive
from aegis_core.archive.writer_process import SymbolFilesProcess
from tests.core.archive.test_store import SESSION
from tests.core.archive.test_symbol_files import one, writes

CHAINS = {"SPY": 9000, "AAPL": 40, "QQQ": 12000}


def archive_at(root) -> Archive:
    return Archive(root / "archive", Lake(str(root / "lake")), "sim")


def write_all(archive: Archive, own_process: bool):
    with archive.options_files(SESSION, [*CHAINS, "IDLE"], own_process=own_process) as files:
        assert isinstance(files, SymbolFilesProcess) == own_process
        for seed, (symbol, rows) in enumerate(CHAINS.items()):
            files.add(symbol, one(symbol, rows, seed))
        assert files.symbols == set(CHAINS)
        return files.close()


def test_the_child_writes_the_same_files_and_lake_rows_as_the_writer_in_process(tmp_path):
    here, there = archive_at(tmp_path / "threads"), archive_at(tmp_path / "process")
    ours, theirs = write_all(here, own_process=False), write_all(there, own_process=True)

    assert (theirs.rows, sorted(theirs.stats)) == (ours.rows, sorted(ours.stats)) == (21040, sorted(CHAINS))
    for symbol in CHAINS:
        relative = f"options/{symbol}/2026/11/20.parquet"
        assert (there.root / relative).read_bytes() == (here.root / relative).read_bytes()
        assert theirs.stats[symbol].strikes == ours.stats[symbol].strikes
        assert theirs.stats[symbol].schema.equals(ours.stats[symbol].schema)
    # Symbols reach the lake in the order their files are done; each one's rows in file order.
    lake = [
        a.lake.read_sessions("options", SESSION, SESSION, ["symbol", "ticker"]).sort(
            "symbol", maintain_order=True
        )
        for a in (here, there)
    ]
    assert lake[0].equals(lake[1]) and lake[0].height == 21040
    assert len(writes(there)) == 1


def test_leaving_the_block_on_an_error_commits_nothing_and_the_child_exits(tmp_path):
    archive = archive_at(tmp_path)
    files = archive.options_files(SESSION, ["SPY", "AAPL"], own_process=True)
    with pytest.raises(KeyError, match="the fetch broke"), files:
        files.add("SPY", one("SPY", 500))
        raise KeyError("the fetch broke")
    child = files._proc
    assert child.poll() is not None  # waited for, not left behind
    assert writes(archive) == []  # the file may be there; the lake has no rows of the abandoned run


def test_a_failed_write_in_the_child_is_raised_by_close_with_the_childs_traceback(tmp_path):
    archive = archive_at(tmp_path)
    blocked = archive.root / "options/SPY/2026/11/20.parquet"
    blocked.mkdir(parents=True)  # a folder where the file must go: the rename fails
    files = archive.options_files(SESSION, ["SPY", "AAPL"], own_process=True)
    with pytest.raises(OSError) as raised, files:
        files.add("AAPL", one("AAPL", 40))
        files.add("SPY", one("SPY", 400))
        files.close()
    assert "20.parquet" in str(raised.value)
    assert any("in the writer process" in note for note in raised.value.__notes__)
    assert writes(archive) == []


def test_a_symbol_outside_the_write_is_refused_in_the_parent(tmp_path):
    with archive_at(tmp_path).options_files(SESSION, ["SPY"], own_process=True) as files:
        with pytest.raises(ValueError, match="MSFT is not one of the symbols"):
            files.add("MSFT", one("MSFT", 10))
        files.add("SPY", one("SPY", 10))
        assert files.close().rows == 10


PARENT = textwrap.dedent(
    """
    import os, signal, sys
    from pathlib import Path
    from aegis_core.archive.lake import Lake
    from aegis_core.archive.store import Archive
    from tests.core.archive.test_store import SESSION
    from tests.core.archive.test_symbol_files import one

    root = Path(sys.argv[1])
    archive = Archive(root / "archive", Lake(str(root / "lake")), "sim")
    files = archive.options_files(SESSION, ["SPY", "AAPL"], own_process=True)
    files.add("SPY", one("SPY", 2000))
    print(files._proc.pid, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
    """
)


def test_a_parent_killed_mid_write_leaves_no_child_and_no_lake_rows(tmp_path):
    run = subprocess.run(
        [sys.executable, "-c", PARENT, str(tmp_path)], capture_output=True, text=True, timeout=60
    )
    assert run.returncode == -9, run.stderr
    child = int(run.stdout.strip())
    deadline = time.monotonic() + 30
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(child), "the writer process outlived its parent"
    lake = Lake(str(tmp_path / "lake"))
    if lake.version("options") is not None:
        assert [c for c in DeltaTable(lake.uri("options")).history() if c["operation"] == "WRITE"] == []


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"  # a zombie has exited
    except FileNotFoundError:
        return False


def test_the_polars_frame_and_the_arrow_table_of_a_chain_give_the_same_file(tmp_path):
    frame = one("SPY", 300)
    archive = archive_at(tmp_path)
    for name, rows in (("polars", frame), ("arrow", frame.to_arrow())):
        target = archive_at(tmp_path / name)
        with target.options_files(SESSION, ["SPY"], own_process=True) as files:
            files.add("SPY", rows)
            files.close()
    first, second = (tmp_path / n / "archive/options/SPY/2026/11/20.parquet" for n in ("polars", "arrow"))
    assert first.read_bytes() == second.read_bytes()
    assert pl.read_parquet(first)["strike_price"].to_list() == frame["strike_price"].to_list()
    assert archive.lake.version("options") is None  # nothing written to the unused root
