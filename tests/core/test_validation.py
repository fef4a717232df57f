"""The door's rules and the source_sanity / lake_consistency gates as pure functions."""

import datetime as dt
import math

import polars as pl
import pytest

from aegis_core.ldas.consistency import Tally, compare_tallies
from aegis_core.ldas.validation import (
    ABSURD_QUOTE_SIZE,
    BAD_BAR,
    BAD_DELTA,
    BAD_GAMMA,
    BAD_IV,
    BAD_SHARES,
    BAD_THETA,
    BAD_VEGA,
    BAR_OTHER_DAY,
    DUPLICATE_BAR,
    EXPIRED,
    HIGH_BELOW_LOW,
    Rejections,
    VendorDataError,
    check_vix,
    screen_bars,
    screen_chain,
    screen_session,
    source_sanity,
)

DAY = dt.date(2026, 11, 20)


SESSION_BAR_TIME = dt.datetime(2026, 11, 20, 5, 0, tzinfo=dt.UTC)  # 00:00 New York, the session's day


def bars(day: dt.date = DAY, **rows: tuple[float, float, float, float]) -> pl.DataFrame:
    stamp = SESSION_BAR_TIME + dt.timedelta(days=(day - DAY).days)
    return pl.DataFrame(
        [
            {"timestamp": stamp, "symbol": s, "open": o, "high": h, "low": lo, "close": c}
            for s, (o, h, lo, c) in rows.items()
        ]
    )


def test_impossible_bars_are_rejected_by_symbol_and_reason() -> None:
    kept, rej = screen_bars(
        bars(A=(1, 2, 1, 1.5), B=(1, 2, 1, -1), C=(1, 2, 1, math.nan), D=(1, 1, 2, 1.5), E=(0, 2, 1, 1)), DAY
    )
    assert kept["symbol"].to_list() == ["A"]
    assert rej.received == 5 and rej.by_reason == {BAD_BAR: 3, HIGH_BELOW_LOW: 1}
    assert set(rej.by_symbol) == {"B", "C", "D", "E"}
    assert rej.first_reason == {"B": BAD_BAR, "C": BAD_BAR, "D": HIGH_BELOW_LOW, "E": BAD_BAR}


@pytest.mark.parametrize("days", [-1, -30, 1])
def test_bars_dated_another_day_are_rejected_not_archived_as_the_session(days: int) -> None:
    stale = bars(DAY + dt.timedelta(days=days), A=(1, 2, 1, 1.5))
    kept, rej = screen_bars(pl.concat([stale, bars(B=(1, 2, 1, 1.5))]), DAY)
    assert kept["symbol"].to_list() == ["B"]
    assert rej.by_reason == {BAR_OTHER_DAY: 1} and rej.by_symbol == {"A": 1}


def test_a_symbol_listed_twice_keeps_its_first_bar_and_counts_the_other() -> None:
    frame = pl.concat([bars(A=(1, 2, 1, 1.5), B=(1, 2, 1, 1.5)), bars(A=(1, 3, 1, 2.5))])
    for _ in range(3):  # deterministic: the same answer keeps the same bar
        kept, rej = screen_bars(frame, DAY)
        assert kept["symbol"].to_list() == ["A", "B"] and kept["close"].to_list() == [1.5, 1.5]
        assert rej.by_reason == {DUPLICATE_BAR: 1} and rej.by_symbol == {"A": 1}
    # A stale first bar does not shadow a good second one.
    stale_first = pl.concat([bars(DAY - dt.timedelta(days=1), A=(1, 2, 1, 9.0)), bars(A=(1, 2, 1, 1.5))])
    kept, rej = screen_bars(stale_first, DAY)
    assert kept["close"].to_list() == [1.5] and rej.by_reason == {BAR_OTHER_DAY: 1}


@pytest.mark.parametrize("close", [-1.0, 0.0, math.inf, math.nan])
def test_an_impossible_vix_is_an_error_naming_the_value(close: float) -> None:
    with pytest.raises(VendorDataError, match=rf"close {close!r}"):
        check_vix(bars(VIX=(15, 16, 14, close)), DAY)
    check_vix(bars(VIX=(15, 16, 14, 15.5)), DAY)


def test_a_vix_bar_of_another_day_is_an_error_naming_its_date() -> None:
    with pytest.raises(VendorDataError, match="dated 2026-11-19"):
        check_vix(bars(DAY - dt.timedelta(days=1), VIX=(15, 16, 14, 15.5)), DAY)


def contract(**fields: float | None) -> dict:
    """One parsed contract (the columns ``screen_chain`` reads), sane unless overridden."""
    row = {
        "ticker": "O:QQQ261218C00500000",
        "underlying_ticker": "QQQ",
        "strike_price": 500.0,
        "open_interest": 1000.0,
        "day_volume": 10.0,
        "shares_per_contract": 100.0,
        "bid_size": 10.0,
        "ask_size": 12.0,
        "delta": 0.5,
        "gamma": 0.01,
        "vega": 0.8,
        "theta": -0.2,
        "implied_volatility": 0.25,
        "underlying_price": 510.0,
        **{c: 1.0 for c in ("day_open", "day_high", "day_low", "day_close", "day_vwap", "bid", "ask")},
        "last_price": 1.0,
        "break_even_price": 501.0,
    }
    return {**row, **fields}


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("gamma", 1e300, BAD_GAMMA),
        ("gamma", -0.01, BAD_GAMMA),
        ("gamma", math.inf, BAD_GAMMA),
        ("gamma", 25.0, BAD_GAMMA),  # 25 × 510 > 10,000: no contract on a $510 underlying has it
        ("delta", 1.5, BAD_DELTA),
        ("delta", math.nan, BAD_DELTA),
        ("vega", -1.0, BAD_VEGA),
        ("vega", 1e9, BAD_VEGA),
        ("theta", -1e9, BAD_THETA),
        ("implied_volatility", 0.0, BAD_IV),
        ("implied_volatility", 1e6, BAD_IV),
        ("shares_per_contract", float(10**18), BAD_SHARES),
        ("shares_per_contract", 0.0, BAD_SHARES),
        ("shares_per_contract", 100.5, BAD_SHARES),
        ("bid_size", 1e30, ABSURD_QUOTE_SIZE),
        ("ask_size", -1.0, ABSURD_QUOTE_SIZE),
    ],
)
def test_greeks_iv_and_contract_sizes_beyond_physical_bounds_are_rejected(field, value, reason) -> None:
    frame = pl.DataFrame([contract(), contract(ticker="O:QQQ261218P00500000", **{field: value})])
    kept, counts = screen_chain(frame, "QQQ")
    assert kept["ticker"].to_list() == ["O:QQQ261218C00500000"] and counts == {reason: 1}


def test_real_extremes_and_absent_greeks_are_kept() -> None:
    extremes = [
        contract(),
        # A 0DTE contract on a $2 underlying: gamma 400 (gamma × S = 800), deep ITM delta -1.
        contract(ticker="O:X1", underlying_price=2.0, strike_price=2.0, gamma=400.0, delta=-1.0),
        contract(ticker="O:X2", shares_per_contract=150.0, theta=5.0),  # adjusted contract; positive theta
        contract(ticker="O:X3", gamma=None, delta=None, vega=None, theta=None, implied_volatility=None),
        contract(ticker="O:X4", implied_volatility=12.0),  # 1,200 %: a meme stock's weekly
    ]
    kept, counts = screen_chain(pl.DataFrame(extremes), "QQQ")
    assert kept.height == len(extremes) and counts == {}


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
