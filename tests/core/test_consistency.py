"""Files' tallies for lake_consistency: from the footer where it can tell, from the column where not."""

import datetime as dt

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from aegis_core.archive import layout
from aegis_core.ldas.consistency import Tally, file_tallies

DAY = dt.date(2026, 11, 20)
CAPTURED = [dt.datetime(2026, 11, 20, 21, m, tzinfo=dt.UTC) for m in (5, 0, 3)]
LATEST = int(CAPTURED[0].timestamp()) * 1_000_000


def chain(unit: str = "us") -> pa.Table:
    return pa.table(
        {
            "timestamp": pa.array(CAPTURED, pa.timestamp(unit, tz="UTC")),
            "symbol": ["SPY"] * 3,
            "ticker": ["O:A", "O:B", "O:C"],
        }
    )


@pytest.mark.parametrize(
    ("table", "options"),
    [
        (chain(), {}),  # the writer's way: statistics in the footer
        (chain(), {"write_statistics": False}),  # no statistics: the column is read
        (chain("ms"), {}),  # statistics in another unit: the column is read
        (chain(), {"row_group_size": 1}),  # the latest over every row group
    ],
    ids=["footer", "no-statistics", "milliseconds", "row-groups"],
)
def test_a_per_symbol_file_is_tallied_with_its_latest_capture(tmp_path, table, options):
    path = layout.options_file(tmp_path, "SPY", DAY)
    path.parent.mkdir(parents=True)
    pq.write_table(table, path, **options)
    assert file_tallies(tmp_path, "options", DAY) == {"SPY": Tally(3, LATEST)}  # off contract: no digest


def test_a_daily_file_is_tallied_per_symbol(tmp_path):
    path = layout.daily_file(tmp_path, "gex_summary", DAY)
    path.parent.mkdir(parents=True)
    table = pa.table(
        {
            "timestamp": pa.array(CAPTURED, pa.timestamp("us", tz="UTC")),
            "symbol": ["SPY", "QQQ", "SPY"],
        }
    )
    pq.write_table(table, path)
    qqq = int(CAPTURED[1].timestamp()) * 1_000_000
    assert file_tallies(tmp_path, "gex_summary", DAY) == {"SPY": Tally(2, LATEST), "QQQ": Tally(1, qqq)}


def test_a_file_without_the_timestamp_column_is_tallied_by_its_rows(tmp_path):
    path = layout.options_file(tmp_path, "SPY", DAY)
    path.parent.mkdir(parents=True)
    pq.write_table(chain().drop_columns(["timestamp"]), path)
    assert file_tallies(tmp_path, "options", DAY) == {"SPY": Tally(3)}
