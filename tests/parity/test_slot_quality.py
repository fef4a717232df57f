"""Per-slot quality of intraday snapshots (``aegis_core.ldas.slot_quality``) on independent files."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pyarrow as pa
import pytest

from aegis_core.calendar import NY
from aegis_core.ldas.slot_quality import (
    capture_window,
    files_per_symbol,
    slot_coverage,
    slot_files,
    slot_schema_contract,
)

from .archive_builder import SESSION, SYMBOLS, rewrite, snapshot_of

SLOT = dt.datetime.combine(SESSION, dt.time(10, 5), NY)


@pytest.mark.parametrize("side", ["python", "rust"])
def test_both_flavours_pass_every_slot_check(python_root: Path, rust_root: Path, side: str) -> None:
    root = python_root if side == "python" else rust_root  # rust: large_string, captured at :47
    assert {s: len(f) for s, f in slot_files(root, SLOT).items()} == dict.fromkeys(SYMBOLS, 1)
    assert slot_coverage(root, SLOT, SYMBOLS, 1.0).passed
    assert slot_schema_contract(root, SLOT).passed
    window = capture_window(root, SLOT)
    assert (
        window.passed
        and window.summary == "slot 2026-04-10 10:05: all 6 snapshot(s) captured inside 10:05–10:20 ET"
    )


def test_coverage_threshold_and_doubled_snapshots(broken_python: Path) -> None:
    snapshot_of(broken_python, "NVDA", dt.time(10, 5)).unlink()
    aapl = snapshot_of(broken_python, "AAPL", dt.time(10, 5))
    shutil.copy(aapl, aapl.with_name("10_pt_101959.parquet"))  # a second AAPL snapshot in the slot

    strict = slot_coverage(broken_python, SLOT, [*SYMBOLS, "ZZZZ"], 1.0)
    assert not strict.passed and strict.offenders == ("NVDA", "ZZZZ")
    assert "5/7 universe symbols captured (71.4%, threshold 100.0%); missing NVDA, ZZZZ" in strict.summary
    assert "AAPL: 2 snapshots in the slot (10_pt_100512.parquet, 10_pt_101959.parquet)" in strict.details
    assert slot_coverage(broken_python, SLOT, [*SYMBOLS, "ZZZZ"], 0.7).passed
    assert files_per_symbol(broken_python, SLOT, SYMBOLS) == {"0": 1, "1": 4, "2": 1}
    with pytest.raises(ValueError, match="universe is empty"):
        slot_coverage(broken_python, SLOT, [], 1.0)
    with pytest.raises(ValueError, match="naive"):
        slot_coverage(broken_python, SLOT.replace(tzinfo=None), SYMBOLS, 1.0)


def test_capture_window_names_each_bad_snapshot(broken_python: Path) -> None:
    def stamp(path: Path, when: dt.datetime) -> None:
        def change(t: pa.Table) -> pa.Table:
            i = t.schema.get_field_index("timestamp")
            return t.set_column(i, t.schema.field(i), pa.array([when] * t.num_rows, t.schema.field(i).type))

        rewrite(path, change)

    stamp(snapshot_of(broken_python, "QQQ", dt.time(10, 5)), dt.datetime(2026, 4, 10, 10, 20, tzinfo=NY))
    rewrite(snapshot_of(broken_python, "SPY", dt.time(10, 5)), lambda t: t.slice(0, 0))  # no rows
    rewrite(snapshot_of(broken_python, "MSFT", dt.time(10, 5)), lambda t: t.drop_columns(["timestamp"]))

    result = capture_window(broken_python, SLOT)
    assert not result.passed
    assert result.summary.startswith(
        "slot 2026-04-10 10:05: 3 of 6 snapshot(s) captured outside 10:05–10:20 ET"
    )
    details = "\n".join(result.details)
    assert "options/QQQ/2026/04/10_pt_100512.parquet: captured 10:20:00 ET, outside 10:05–10:20 ET" in details
    assert "options/SPY/2026/04/10_pt_100512.parquet: no rows, so no capture time" in details
    assert "options/MSFT/2026/04/10_pt_100512.parquet: cannot read its timestamp column" in details
    # The missing column is a contract break too, named by file and column.
    schema = slot_schema_contract(broken_python, SLOT)
    assert not schema.passed and schema.offenders[0] == "timestamp"
    assert "options/MSFT/2026/04/10_pt_100512.parquet" in schema.summary
