import datetime as dt

import pytest

from aegis_core.calendar import NY
from aegis_core.ldas.go_live import first_chain_session, go_live_session

HISTORY = dt.date(2024, 1, 2)
NOW = dt.datetime(2026, 12, 7, 7, 0, tzinfo=NY)


def touch(root, *parts):
    path = root.joinpath(*parts)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")


def test_the_first_chain_file_of_any_symbol_end_of_day_or_intraday(tmp_path):
    assert first_chain_session(tmp_path) is None
    touch(tmp_path, "options", "SPY", "2026", "11", "20.parquet")
    touch(tmp_path, "options", "SPY", "2027", "01", "04.parquet")
    touch(tmp_path, "options", "CORN", "2026", "11", "18_pt_093500.parquet")
    touch(tmp_path, "options", "CORN", "2026", "10", "notes.txt")  # not a chain file
    touch(tmp_path, "stocks", "SPY", "2024", "01", "02_poly.parquet")  # stocks have history
    assert first_chain_session(tmp_path) == dt.date(2026, 11, 18)


@pytest.mark.parametrize(
    "configured, archived, simulated, expected",
    [
        (dt.date(2026, 3, 2), dt.date(2026, 11, 18), False, dt.date(2026, 3, 2)),  # the setting wins
        (None, dt.date(2026, 11, 18), False, dt.date(2026, 11, 18)),  # the archive's first session
        (None, dt.date(2026, 11, 18), True, HISTORY),  # simulated: every session can be made
        (None, None, False, dt.date(2026, 12, 4)),  # empty, live: the latest completed session
        (None, None, True, HISTORY),
        (None, dt.date(2023, 6, 1), False, HISTORY),  # never before the history
    ],
)
def test_the_go_live_session(configured, archived, simulated, expected):
    assert (
        go_live_session(configured, archived, simulated=simulated, history_start=HISTORY, now=NOW) == expected
    )
