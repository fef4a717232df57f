"""Prices and daily bars of the simulated market: determinism, consistency, VIX."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from aegis_core.calendar import NY, nyse
from aegis_core.sim import VIX_TICKER, SimMarket
from tests.sim.conftest import CLOSE, EOD, INTRADAY, SYMBOLS


def test_same_seed_same_numbers_and_other_seed_differs() -> None:
    a, b, c = SimMarket(seed=7, symbols=SYMBOLS), SimMarket(seed=7, symbols=SYMBOLS), SimMarket(8, SYMBOLS)
    day = dt.date(2026, 11, 20)
    assert a.daily_bar("AAPL", day) == b.daily_bar("AAPL", day)
    assert a.daily_bar("AAPL", day) != c.daily_bar("AAPL", day)
    chain_a, chain_b, chain_c = a.chain("SPY", EOD), b.chain("SPY", EOD), c.chain("SPY", EOD)
    assert chain_a is not None and chain_b is not None and chain_c is not None
    for name, column in chain_a.columns.items():
        assert np.array_equal(column, chain_b.columns[name], equal_nan=column.dtype.kind == "f"), name
    assert not np.array_equal(chain_a.columns["open_interest"], chain_c.columns["open_interest"])


def test_bars_are_consistent_over_a_year(market: SimMarket) -> None:
    start, end = dt.date(2025, 11, 20), dt.date(2026, 11, 20)
    sessions = nyse().sessions(start, end)
    for symbol in (*SYMBOLS, VIX_TICKER):
        bars = market.daily_bars(symbol, start, end)
        assert [b.date for b in bars] == [s.date for s in sessions], symbol
        for bar in bars:
            assert bar.h >= max(bar.o, bar.c) and bar.l <= min(bar.o, bar.c) and bar.l > 0, (symbol, bar)
            assert bar.t == int(dt.datetime.combine(bar.date, dt.time(0), tzinfo=NY).timestamp() * 1000)
            if symbol == VIX_TICKER:
                assert bar.v is None and bar.vw is None and bar.n is None
            else:
                assert bar.v and bar.n and bar.vw is not None and bar.l <= bar.vw <= bar.h, (symbol, bar)


def test_non_sessions_have_no_bar(market: SimMarket) -> None:
    assert market.daily_bar("SPY", dt.date(2026, 11, 21)) is None  # Saturday
    assert market.daily_bar("SPY", dt.date(2026, 11, 26)) is None  # Thanksgiving
    assert market.grouped(dt.date(2026, 11, 26)) == {}
    # Not yet open at the moment asked about: no bar ("future" from the simulated now).
    assert market.daily_bar("SPY", dt.date(2026, 11, 23), as_of=EOD) is None


def test_intraday_price_moves_from_previous_close_to_the_close(market: SimMarket) -> None:
    day = INTRADAY.date()
    session = nyse().session(day)
    assert session is not None
    bar = market.daily_bar("AAPL", day)
    assert bar is not None
    previous = market.daily_bar("AAPL", nyse().previous_session(day).date)
    assert previous is not None
    before_open = session.open - dt.timedelta(hours=2)
    assert market.price_at("AAPL", before_open) == previous.c
    assert market.price_at("AAPL", session.open) == bar.o
    assert market.price_at("AAPL", session.close) == bar.c
    assert market.price_at("AAPL", session.close + dt.timedelta(hours=3)) == bar.c
    prices = [market.price_at("AAPL", session.open + dt.timedelta(minutes=m)) for m in range(0, 391, 7)]
    assert all(bar.l <= p <= bar.h for p in prices)
    assert len(set(prices)) > 20  # it moves


def test_partial_bar_while_the_session_runs(market: SimMarket) -> None:
    partial = market.daily_bar("SPY", INTRADAY.date(), as_of=INTRADAY)
    full = market.daily_bar("SPY", INTRADAY.date())
    assert partial is not None and full is not None
    assert partial.c == market.price_at("SPY", INTRADAY)
    assert partial.o == full.o and partial.v is not None and full.v is not None and partial.v < full.v


@pytest.mark.parametrize("moment", [CLOSE, EOD], ids=["at-close", "after-close"])
def test_bar_close_equals_the_chain_underlying_at_the_close(market: SimMarket, moment: dt.datetime) -> None:
    for symbol in SYMBOLS:
        bar = market.daily_bar(symbol, moment.date())
        chain = market.chain(symbol, moment)
        assert bar is not None and chain is not None
        assert chain.underlying_price == bar.c, symbol


def test_vix_mean_reverts_around_18(market: SimMarket) -> None:
    bars = market.daily_bars(VIX_TICKER, dt.date(2020, 1, 1), dt.date(2030, 12, 31))
    closes = np.array([b.c for b in bars])
    assert 14 < closes.mean() < 23
    assert closes.min() > 7 and closes.max() < 60
    assert closes.std() > 2  # it is not flat


def test_invalid_symbols_are_named() -> None:
    with pytest.raises(ValueError, match="bad symbol"):
        SimMarket(symbols=["SPY", "bad symbol"])


def test_naive_moments_are_refused(market: SimMarket) -> None:
    with pytest.raises(ValueError, match="no UTC offset"):
        market.chain("SPY", dt.datetime(2026, 11, 20, 17, 15))
