"""Issue 24: the analytics checked against independent numerics (vollib's Black-Scholes-Merton, 50-digit
mpmath, pandas-market-calendars for the exchange's closes).

- ``implied_volatility`` invented a volatility for a price at intrinsic when r or q ≠ 0 (its guard scaled
  with the price, not with S and K);
- the simulated market's time to expiry was an hour off across a daylight-saving change (two New York
  datetimes subtracted as wall-clock times), its greeks up to 2 % off;
- the gamma exposure re-priced every expiry at 16:00 while the exchange closes at 13:00 on early-close
  days (contract §6: the expiration day's close is meant).
"""

from __future__ import annotations

import datetime as dt

import mpmath as mp
import numpy as np
import polars as pl
import pytest
from vollib.black_scholes_merton import black_scholes_merton as vollib_price
from vollib.black_scholes_merton.greeks import analytical as vollib_greeks
from vollib.black_scholes_merton.implied_volatility import implied_volatility as vollib_iv

from aegis_core.analytics import black_scholes as bs
from aegis_core.analytics.gex import GexParams, _years_to_expiry
from aegis_core.calendar import NY
from aegis_core.sim import SimMarket
from tests.analytics.reference import exchange_close

mp.mp.dps = 50
YEAR_S = 365 * 86400


def cases(n: int, seed: int):
    """Random contracts over the range the archive sees: S 5..800, K 0.5–1.5 S, T one day to 2 years,
    r −1 %..8 %, q 0..5 %."""
    rng = np.random.default_rng(seed)
    for _ in range(n):
        s = float(rng.uniform(5, 800))
        yield (
            s,
            float(s * rng.uniform(0.5, 1.5)),
            float(rng.uniform(1 / 365, 2)),
            float(rng.uniform(-0.01, 0.08)),
            float(rng.uniform(0, 0.05)),
            bool(rng.integers(2)),
        )


def mp_price(s, k, t, r, q, sigma, call) -> mp.mpf:
    """Black-Scholes-Merton in 50 digits."""
    s, k, t, r, q, sigma = map(mp.mpf, (s, k, t, r, q, sigma))
    d1 = (mp.log(s / k) + (r - q + sigma**2 / 2) * t) / (sigma * mp.sqrt(t))
    d2 = d1 - sigma * mp.sqrt(t)
    n = lambda x: mp.ncdf(x)  # noqa: E731
    if call:
        return s * mp.exp(-q * t) * n(d1) - k * mp.exp(-r * t) * n(d2)
    return k * mp.exp(-r * t) * n(-d2) - s * mp.exp(-q * t) * n(-d1)


def test_a_price_at_intrinsic_has_no_implied_volatility_whatever_r_and_q():
    at_intrinsic, invented = 0, []
    for s, k, t, r, q, call in cases(2000, seed=1):
        sd, kd = mp.mpf(s) * mp.exp(-mp.mpf(q) * t), mp.mpf(k) * mp.exp(-mp.mpf(r) * t)
        intrinsic = sd - kd if call else kd - sd
        if intrinsic <= 0:
            continue
        at_intrinsic += 1
        sigma = bs.implied_volatility(float(intrinsic), s, k, t, call, r, q)
        if np.isfinite(sigma):
            invented.append((s, k, t, r, q, call, float(sigma)))
    assert at_intrinsic > 900 and invented == []  # 45 of 989 got a volatility before the fix


def test_implied_volatility_recovers_sigma_like_vollib_from_50_digit_prices():
    checked = 0
    for i, (s, k, t, r, q, call) in enumerate(cases(600, seed=2)):
        sigma = 0.05 + 1.45 * ((i * 0.618) % 1.0)
        price = mp_price(s, k, t, r, q, sigma, call)
        sd, kd = mp.mpf(s) * mp.exp(-mp.mpf(q) * t), mp.mpf(k) * mp.exp(-mp.mpf(r) * t)
        intrinsic = max(sd - kd if call else kd - sd, 0)
        if (price - intrinsic) < mp.mpf(1e-6) * price or price < 1e-8:  # nothing a quote could carry
            continue
        ours = float(bs.implied_volatility(float(price), s, k, t, call, r, q))
        theirs = vollib_iv(float(price), s, k, t, r, q, "c" if call else "p")
        assert ours == pytest.approx(sigma, rel=1e-7), (s, k, t, r, q, call, sigma)
        assert ours == pytest.approx(theirs, rel=1e-7)
        checked += 1
    assert checked > 400


def test_prices_and_greeks_agree_with_vollib():
    for i, (s, k, t, r, q, call) in enumerate(cases(300, seed=3)):
        sigma = 0.1 + 0.9 * ((i * 0.37) % 1.0)
        flag = "c" if call else "p"
        assert float(bs.price(s, k, t, sigma, call, r, q)) == pytest.approx(
            float(mp_price(s, k, t, r, q, sigma, call)), rel=1e-9, abs=1e-12
        )
        assert float(bs.price(s, k, t, sigma, call, r, q)) == pytest.approx(
            vollib_price(flag, s, k, t, r, sigma, q), rel=1e-8, abs=1e-10
        )
        assert float(bs.gamma(s, k, t, sigma, r, q)) == pytest.approx(
            vollib_greeks.gamma(flag, s, k, t, r, sigma, q), rel=1e-9, abs=1e-15
        )
        assert float(bs.delta(s, k, t, sigma, call, r, q)) == pytest.approx(
            vollib_greeks.delta(flag, s, k, t, r, sigma, q), rel=1e-9, abs=1e-15
        )
        # vollib's vega is per vol point (÷ 100); ours per 1.00 of volatility.
        assert float(bs.vega(s, k, t, sigma, r, q)) / 100 == pytest.approx(
            vollib_greeks.vega(flag, s, k, t, r, sigma, q), rel=1e-9, abs=1e-15
        )


@pytest.mark.parametrize(
    "moment",
    [
        dt.datetime(2026, 10, 30, 16, 0, tzinfo=NY),  # before the November change, expiries after it
        dt.datetime(2026, 3, 6, 16, 0, tzinfo=NY),  # before the March change
    ],
    ids=["november", "march"],
)
def test_the_simulated_greeks_use_the_real_time_to_expiry_across_daylight_saving(moment):
    market = SimMarket(seed=7, symbols=["CORN"])
    chain = market.chain("CORN", moment)
    assert chain is not None
    cols = chain.columns
    spot = chain.underlying_price
    crossing = 0
    for i in np.flatnonzero(cols["has_greeks"]):
        expiry = dt.date.fromisoformat(str(cols["expiration_date"][i]))
        years = max((exchange_close(expiry) - moment.astimezone(dt.UTC)).total_seconds(), 3600) / YEAR_S
        flag = "c" if cols["contract_type"][i] == "call" else "p"
        sigma, strike = float(cols["implied_volatility"][i]), float(cols["strike_price"][i])
        expected = vollib_greeks.gamma(flag, spot, strike, years, 0.0, sigma, 0.0)
        assert cols["gamma"][i] == pytest.approx(expected, rel=1e-9, abs=1e-14), (expiry, strike)
        crossing += moment.astimezone(NY).utcoffset() != exchange_close(expiry).astimezone(NY).utcoffset()
    assert crossing > 20  # contracts whose expiry is on the other side of the change were checked


def test_the_gex_reprices_an_early_close_expiry_at_its_real_close():
    capture = dt.datetime(2026, 11, 27, 15, 0, tzinfo=dt.UTC)  # 10:00 New York, the day after Thanksgiving
    expiries = [dt.date(2026, 11, 27), dt.date(2026, 12, 24), dt.date(2026, 12, 18)]  # two early closes
    frame = pl.DataFrame({"expiration_date": expiries, "timestamp": [capture] * 3})
    years = frame.select(_years_to_expiry(GexParams())).to_series().to_list()
    expected = [(exchange_close(d) - capture).total_seconds() / YEAR_S for d in expiries]
    assert years == pytest.approx(expected, rel=1e-12)
    assert years[0] * 365 * 24 == pytest.approx(3.0)  # 13:00, not 16:00
