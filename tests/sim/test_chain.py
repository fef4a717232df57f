"""Option chain realism, checked against the market and an independent Black–Scholes formula."""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter

import numpy as np
import pytest

from aegis_core.calendar import NY, nyse
from aegis_core.sim import SimMarket, Tier, default_universe
from aegis_core.sim.chain import OptionChain
from aegis_core.sim.expiries import third_friday
from aegis_core.sim.shapes import option_records
from aegis_core.sim.universe import TIER_RANGES
from tests.sim.conftest import EOD, INTRADAY, MID, SMALL, SYMBOLS


def chain_of(market: SimMarket, symbol: str, moment: dt.datetime = EOD) -> OptionChain:
    chain = market.chain(symbol, moment)
    assert chain is not None, symbol
    return chain


def records(chain: OptionChain) -> list[dict]:
    return option_records(chain, 0, len(chain))


@pytest.mark.parametrize("symbol", SYMBOLS)
def test_chain_size_matches_the_tier(market: SimMarket, symbol: str) -> None:
    lo, hi = TIER_RANGES[market.profile(symbol).tier]
    assert lo <= len(chain_of(market, symbol)) <= hi


def test_spy_is_the_largest_and_the_universe_holds_about_half_a_million() -> None:
    market = SimMarket(seed=7)  # the default 712-symbol universe
    sizes = {s: len(chain_of(market, s)) for s in market.symbols}
    assert len(sizes) == 712 == len(default_universe())
    assert max(sizes, key=sizes.__getitem__) == "SPY"
    assert 12_000 <= sizes["SPY"] <= 13_000
    assert 450_000 <= sum(sizes.values()) <= 560_000  # ≈ 700 contracts per symbol on average
    tiers = Counter(market.profile(s).tier for s in sizes)
    assert tiers[Tier.SMALL] > tiers[Tier.MID] > tiers[Tier.LARGE] > tiers[Tier.GIANT] >= 3


def test_strikes_surround_spot_on_realistic_increments(market: SimMarket) -> None:
    for symbol in SYMBOLS:
        chain = chain_of(market, symbol)
        spot = chain.underlying_price
        cols = chain.columns
        for expiry in np.unique(cols["expiration_date"]):
            strikes = np.unique(cols["strike_price"][cols["expiration_date"] == expiry])
            assert strikes.min() < spot < strikes.max(), (symbol, expiry)
            steps = set(np.round(np.diff(strikes), 3))
            assert len(steps) == 1 and steps <= {0.5, 1.0, 2.5, 5.0, 10.0, 25.0, 50.0, 100.0}, (
                symbol,
                expiry,
            )
            assert np.abs(strikes - spot).min() <= max(steps), (symbol, expiry)
            assert (strikes > 0).all()


def test_tickers_are_occ_and_in_order(market: SimMarket) -> None:
    chain = chain_of(market, "BRK.B")
    tickers = chain.columns["ticker"].tolist()
    assert tickers == sorted(tickers) and len(set(tickers)) == len(tickers)
    for rec in records(chain)[:50]:
        d = rec["details"]
        kind = "C" if d["contract_type"] == "call" else "P"
        expiry = dt.date.fromisoformat(d["expiration_date"])
        assert d["ticker"] == f"O:BRKB{expiry:%y%m%d}{kind}{round(d['strike_price'] * 1000):08d}"


def test_open_interest_peaks_near_the_money_and_on_round_strikes(market: SimMarket) -> None:
    chain = chain_of(market, "SPY")
    cols, spot = chain.columns, chain.underlying_price
    monthly = (third_friday(2026, 12)).isoformat()
    sel = cols["expiration_date"] == monthly
    k, oi = cols["strike_price"][sel], cols["open_interest"][sel].astype(float)
    distance = np.abs(k / spot - 1)
    assert oi[distance < 0.03].mean() > 3 * oi[distance > 0.10].mean()
    near = distance < 0.06
    round10 = near & (np.mod(k, 10) == 0)
    plain = near & (np.mod(k, 5) != 0)
    assert oi[round10].mean() > 1.8 * oi[plain].mean()
    assert (cols["open_interest"] == 0).any()  # some contracts carry none


def _norm_cdf(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def _bs(spot: float, strike: float, t: float, vol: float, call: bool) -> dict[str, float]:
    """Independent Black–Scholes (r = q = 0): theta per calendar day, vega per vol point."""
    d1 = (math.log(spot / strike) + 0.5 * vol * vol * t) / (vol * math.sqrt(t))
    pdf = math.exp(-0.5 * d1 * d1) / math.sqrt(2 * math.pi)
    return {
        "delta": _norm_cdf(d1) - (0.0 if call else 1.0),
        "gamma": pdf / (spot * vol * math.sqrt(t)),
        "theta": -spot * pdf * vol / (2 * math.sqrt(t)) / 365.0,
        "vega": spot * pdf * math.sqrt(t) / 100.0,
    }


@pytest.mark.parametrize("moment", [EOD, INTRADAY], ids=["eod", "intraday"])
@pytest.mark.parametrize("symbol", ["SPY", "AAPL", SMALL])
def test_greeks_are_consistent_with_iv(market: SimMarket, symbol: str, moment: dt.datetime) -> None:
    chain = chain_of(market, symbol, moment)
    checked = 0
    for rec in records(chain)[::7]:
        greeks = rec.get("greeks")
        if not greeks:
            continue
        d = rec["details"]
        session = nyse().session(dt.date.fromisoformat(d["expiration_date"]))
        assert session is not None
        # In UTC: New York datetimes subtract as wall-clock times, an hour off across a DST change.
        seconds = (session.close.astimezone(dt.UTC) - moment.astimezone(dt.UTC)).total_seconds()
        t = max(seconds, 3600.0) / (365 * 86400)
        want = _bs(
            rec["underlying_asset"]["price"],
            d["strike_price"],
            t,
            rec["implied_volatility"],
            d["contract_type"] == "call",
        )
        for name, value in want.items():
            assert greeks[name] == pytest.approx(value, rel=1e-7, abs=1e-12), (d["ticker"], name)
        checked += 1
    assert checked > 20


def test_some_deep_itm_contracts_lack_greeks_or_iv(market: SimMarket) -> None:
    recs = records(chain_of(market, "SPY"))
    no_greeks = [r for r in recs if not r.get("greeks")]
    assert 0 < len(no_greeks) < 0.1 * len(recs)
    assert any("greeks" not in r for r in no_greeks) and any(r.get("greeks") == {} for r in no_greeks)
    assert any("implied_volatility" not in r for r in no_greeks)
    assert all("implied_volatility" in r for r in recs if r.get("greeks"))
    spot = recs[0]["underlying_asset"]["price"]
    for r in no_greeks:  # deep in the money: intrinsic value is most of the price
        d = r["details"]
        intrinsic = spot - d["strike_price"] if d["contract_type"] == "call" else d["strike_price"] - spot
        assert intrinsic > 0 and intrinsic >= 0.9 * r["last_quote"]["midpoint"], d["ticker"]


def test_untraded_contracts_have_empty_day_and_no_last_trade(market: SimMarket) -> None:
    recs = records(chain_of(market, MID))
    untraded = [r for r in recs if r["day"] == {}]
    traded = [r for r in recs if r["day"]]
    assert untraded and traded
    assert all("last_trade" not in r for r in untraded)
    for r in traded:
        assert isinstance(r["last_trade"]["sip_timestamp"], int) and isinstance(r["day"]["last_updated"], int)
        assert r["day"]["low"] <= min(r["day"]["open"], r["day"]["close"])
        assert r["day"]["high"] >= max(r["day"]["open"], r["day"]["close"])
    for r in recs:
        q = r["last_quote"]
        assert 0 <= q["bid"] < q["ask"] and isinstance(q["last_updated"], int)
        assert q["last_updated"] <= int(EOD.timestamp()) * 10**9


def test_zero_dte_is_listed_and_expired_contracts_are_not(market: SimMarket) -> None:
    today = EOD.date().isoformat()
    for symbol in SYMBOLS:
        expiries = set(chain_of(market, symbol).columns["expiration_date"].tolist())
        assert today in expiries, symbol  # a monthly expiry: every symbol lists it
        assert min(expiries) == today
    wednesday = INTRADAY.date().isoformat()
    assert wednesday in set(chain_of(market, "SPY", INTRADAY).columns["expiration_date"].tolist())
    next_day = dt.datetime(2026, 11, 21, 10, 0, tzinfo=NY)
    assert today not in set(chain_of(market, "SPY", next_day).columns["expiration_date"].tolist())


def test_expiry_schedules(market: SimMarket) -> None:
    kinds = {s: Counter(e.kind for e in market.expiries(s, EOD)) for s in ("SPY", "AAPL", SMALL)}
    assert kinds["SPY"]["daily"] >= 5 and kinds["SPY"]["leaps"] >= 3
    assert kinds["AAPL"]["daily"] == 0 and kinds["AAPL"]["weekly"] >= 4 and kinds["AAPL"]["leaps"] >= 2
    assert kinds[SMALL]["daily"] == 0 and kinds[SMALL]["monthly"] >= 3
    for e in market.expiries("AAPL", EOD):
        assert nyse().is_session(e.date) or e.date > nyse().end
        if e.kind == "weekly":
            assert e.date.weekday() == 4 or not nyse().is_session(e.date + dt.timedelta(days=1))


def test_smile_and_term_structure(market: SimMarket) -> None:
    chain = chain_of(market, "SPY")
    cols, spot = chain.columns, chain.underlying_price
    sel = (cols["expiration_date"] == third_friday(2026, 12).isoformat()) & (cols["contract_type"] == "put")
    k, iv = cols["strike_price"][sel], cols["implied_volatility"][sel]
    atm = iv[np.argmin(np.abs(k - spot))]
    assert iv[np.argmin(np.abs(k - 0.92 * spot))] > atm * 1.1  # put skew
    atm_by_expiry = []
    for expiry in np.unique(cols["expiration_date"]):
        s = (cols["expiration_date"] == expiry) & (cols["contract_type"] == "call")
        atm_by_expiry.append(cols["implied_volatility"][s][np.argmin(np.abs(cols["strike_price"][s] - spot))])
    assert np.nanstd(atm_by_expiry) > 0.002  # a term structure, not a flat surface


def test_listing_is_stable_through_the_day(market: SimMarket) -> None:
    early = chain_of(market, "AAPL", dt.datetime(2026, 11, 18, 9, 45, tzinfo=NY))
    late = chain_of(market, "AAPL", dt.datetime(2026, 11, 18, 15, 45, tzinfo=NY))
    assert early.columns["ticker"].tolist() == late.columns["ticker"].tolist()
    assert np.array_equal(early.columns["open_interest"], late.columns["open_interest"])
    assert early.underlying_price != late.underlying_price
    assert late.columns["traded"].sum() > early.columns["traded"].sum()
