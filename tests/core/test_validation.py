"""The door's rules and the source_sanity / lake_consistency gates as pure functions."""

import datetime as dt
import math

import polars as pl
import pytest

from aegis_core.consistency import Tally, compare_tallies
from aegis_core.validation import (
    BAD_BAR,
    EXPIRED,
    HIGH_BELOW_LOW,
    Rejections,
    VendorDataError,
    check_vix,
    screen_bars,
    screen_session,
    source_sanity,
)

DAY = dt.date(2026, 11, 20)


def bars(**rows: tuple[float, float, float, float]) -> pl.DataFrame:
    return pl.DataFrame(
        [{"symbol": s, "open": o, "high": h, "low": lo, "close": c} for s, (o, h, lo, c) in rows.items()]
    )


def test_impossible_bars_are_rejected_by_symbol_and_reason() -> None:
    kept, rej = screen_bars(
        bars(A=(1, 2, 1, 1.5), B=(1, 2, 1, -1), C=(1, 2, 1, math.nan), D=(1, 1, 2, 1.5), E=(0, 2, 1, 1))
    )
    assert kept["symbol"].to_list() == ["A"]
    assert rej.received == 5 and rej.by_reason == {BAD_BAR: 3, HIGH_BELOW_LOW: 1}
    assert set(rej.by_symbol) == {"B", "C", "D", "E"}


@pytest.mark.parametrize("close", [-1.0, 0.0, math.inf, math.nan])
def test_an_impossible_vix_is_an_error_naming_the_value(close: float) -> None:
    with pytest.raises(VendorDataError, match=rf"close {close!r}"):
        check_vix(bars(VIX=(15, 16, 14, close)), DAY)
    check_vix(bars(VIX=(15, 16, 14, 15.5)), DAY)


def test_contracts_expired_before_the_session_are_rejected() -> None:
    chains = pl.DataFrame(
        {
            "symbol": ["A", "A", "B"],
            "expiration_date": [DAY, DAY - dt.timedelta(days=1), DAY.replace(year=2025)],
        }
    )
    kept, rej = screen_session(chains, DAY, Rejections(received=3))
    assert kept.height == 1 and rej.by_reason == {EXPIRED: 2} and rej.by_symbol == {"A": 1, "B": 1}


def test_source_sanity_fails_above_the_share_and_names_reasons_and_symbols() -> None:
    door = {
        "rows_received": 1000,
        "rows_rejected": 20,
        "rejected_by_reason": {"dup": 20},
        "rejected_by_symbol": {"X": 20},
    }
    failed = source_sanity("options", DAY, door, 0.01)
    assert (
        not failed.passed
        and failed.offenders == ("X",)
        and "20 of 1000" in failed.summary
        and "dup 20" in failed.summary
    )
    assert source_sanity("options", DAY, door, 0.05).passed
    assert source_sanity("options", DAY, {**door, "rows_rejected": 0}, 0.0).passed
    unknown = source_sanity("options", DAY, None, 0.01)
    assert unknown.passed and "nothing to judge" in unknown.summary


def test_compare_tallies_names_every_difference() -> None:
    gate = compare_tallies("options", DAY, {"A": Tally(10), "B": Tally(5)}, {"A": Tally(10), "C": Tally(3)})
    assert not gate.passed and gate.offenders == ("B", "C")
    assert gate.details == (
        "B: 5 row(s) in the files, 0 row(s) in the lake",
        "C: 0 row(s) in the files, 3 row(s) in the lake",
    )
    assert compare_tallies("options", DAY, {"A": Tally(1, 5)}, {"A": Tally(1, 5)}).passed


def test_equal_counts_of_another_capture_disagree() -> None:
    """A chain captured again has as many rows as before: the capture time tells them apart."""
    close, later = 1_795_802_400_000_000, 1_795_802_700_000_000  # 2026-11-27 18:00 and 18:05 UTC
    gate = compare_tallies(
        "options",
        DAY,
        {"A": Tally(7, later), "B": Tally(2, close)},
        {"A": Tally(7, close), "B": Tally(2, close)},
    )
    assert not gate.passed and gate.offenders == ("A",)
    assert "A (another capture)" in gate.summary
    assert gate.details == (
        "A: 7 row(s) up to 2026-11-27T18:05:00Z in the files, "
        "7 row(s) up to 2026-11-27T18:00:00Z in the lake",
    )
