"""Black-Scholes-Merton prices, greeks and implied volatility: textbook cases, identities, wings."""

from __future__ import annotations

import math

import numpy as np
import pytest

from aegis_core.analytics import black_scholes as bs


@pytest.mark.parametrize(
    ("s", "k", "t", "vol", "r", "q", "call", "put"),
    [
        # Hull, Options Futures and Other Derivatives, Example 15.6: 4.76 and 0.81.
        (42.0, 40.0, 0.5, 0.2, 0.10, 0.0, 4.759422392871532, 0.8085993729000922),
        # At the money, no carry: C = P = S·(2N(σ√T/2) − 1).
        (100.0, 100.0, 1.0, 0.2, 0.0, 0.0, 7.965567455405804, 7.965567455405804),
        # Hull, European index call with a dividend yield (S=930, K=900, 2 months): 51.83.
        (930.0, 900.0, 2 / 12, 0.2, 0.08, 0.03, 51.83, None),
    ],
)
def test_textbook_prices(
    s: float, k: float, t: float, vol: float, r: float, q: float, call: float, put: float | None
) -> None:
    assert bs.price(s, k, t, vol, True, r, q) == pytest.approx(call, abs=5e-3 if call == 51.83 else 1e-12)
    if put is not None:
        assert bs.price(s, k, t, vol, False, r, q) == pytest.approx(put, abs=1e-12)


def test_hull_rounded_figures() -> None:
    assert round(float(bs.price(42, 40, 0.5, 0.2, True, 0.1)), 2) == 4.76
    assert round(float(bs.price(42, 40, 0.5, 0.2, False, 0.1)), 2) == 0.81


def test_hull_greeks_example() -> None:
    # Hull's running example (S=49, K=50, r=5 %, σ=20 %, 20 weeks): Δ=0.522, Γ=0.066, vega=12.1 per
    # 1.00 of vol (0.121 per point), Θ=−4.31 per year (−0.0118 per calendar day).
    args = (49.0, 50.0, 0.3846, 0.2)
    assert bs.delta(*args, True, 0.05) == pytest.approx(0.522, abs=5e-4)
    assert bs.delta(*args, False, 0.05) == pytest.approx(0.522 - 1, abs=5e-4)
    assert bs.gamma(*args, 0.05) == pytest.approx(0.066, abs=5e-4)
    assert bs.vega(*args, 0.05) == pytest.approx(12.1, abs=0.05)
    assert bs.theta(*args, True, 0.05) == pytest.approx(-4.31, abs=5e-3)
    assert bs.theta(*args, True, 0.05) / 365 == pytest.approx(-0.0118, abs=5e-5)


CASES = [
    # s, k, t, vol, r, q
    (100.0, 100.0, 1.0, 0.2, 0.0, 0.0),
    (100.0, 80.0, 0.25, 0.35, 0.05, 0.02),
    (100.0, 130.0, 0.05, 0.6, 0.03, 0.0),
    (42.0, 40.0, 0.5, 0.2, 0.10, 0.0),
    (2500.0, 2400.0, 2.0, 0.15, 0.01, 0.015),
    (10.0, 11.0, 3 / 365, 1.2, 0.04, 0.0),
]


@pytest.mark.parametrize(("s", "k", "t", "vol", "r", "q"), CASES)
def test_put_call_parity(s: float, k: float, t: float, vol: float, r: float, q: float) -> None:
    c, p = bs.price(s, k, t, vol, True, r, q), bs.price(s, k, t, vol, False, r, q)
    assert c - p == pytest.approx(s * math.exp(-q * t) - k * math.exp(-r * t), rel=1e-12, abs=1e-12)
    assert bs.delta(s, k, t, vol, True, r, q) - bs.delta(s, k, t, vol, False, r, q) == pytest.approx(
        math.exp(-q * t)
    )
    theta_gap = bs.theta(s, k, t, vol, True, r, q) - bs.theta(s, k, t, vol, False, r, q)
    assert theta_gap == pytest.approx(
        q * s * math.exp(-q * t) - r * k * math.exp(-r * t), rel=1e-9, abs=1e-12
    )


@pytest.mark.parametrize("call", [True, False])
@pytest.mark.parametrize(("s", "k", "t", "vol", "r", "q"), CASES)
def test_greeks_match_finite_differences(
    s: float, k: float, t: float, vol: float, r: float, q: float, call: bool
) -> None:
    def value(s_: float = s, t_: float = t, vol_: float = vol) -> float:
        return float(bs.price(s_, k, t_, vol_, call, r, q))

    hs, hv, ht = 1e-4 * s, 1e-5, 1e-6 * t
    assert bs.delta(s, k, t, vol, call, r, q) == pytest.approx(
        (value(s + hs) - value(s - hs)) / (2 * hs), rel=1e-6
    )
    numeric_gamma = (value(s + hs) - 2 * value() + value(s - hs)) / hs**2
    assert bs.gamma(s, k, t, vol, r, q) == pytest.approx(numeric_gamma, rel=1e-4)
    assert bs.vega(s, k, t, vol, r, q) == pytest.approx(
        (value(vol_=vol + hv) - value(vol_=vol - hv)) / (2 * hv), rel=1e-6
    )
    # theta is ∂V/∂t = −∂V/∂T (per year)
    numeric_theta = -(value(t_=t + ht) - value(t_=t - ht)) / (2 * ht)
    assert bs.theta(s, k, t, vol, call, r, q) == pytest.approx(numeric_theta, rel=1e-5, abs=1e-8)


def test_documented_units() -> None:
    # vega per 1.00 of vol: a one-point move is vega/100; theta per year: one day is theta/365.
    s, k, t, vol = 100.0, 105.0, 0.5, 0.3
    one_point = bs.price(s, k, t, vol + 0.01, True) - bs.price(s, k, t, vol, True)
    assert one_point == pytest.approx(bs.vega(s, k, t, vol) / 100, rel=1e-2)
    one_day = bs.price(s, k, t - 1 / 365, vol, True) - bs.price(s, k, t, vol, True)
    assert one_day == pytest.approx(bs.theta(s, k, t, vol, True) / 365, rel=1e-2)


BAD_INPUTS = {
    "NaN spot": (math.nan, 100.0, 1.0, 0.2),
    "NaN vol": (100.0, 100.0, 1.0, math.nan),
    "infinite strike": (100.0, math.inf, 1.0, 0.2),
    "expired (T=0)": (100.0, 100.0, 0.0, 0.2),
    "negative time": (100.0, 100.0, -0.1, 0.2),
    "zero vol": (100.0, 100.0, 1.0, 0.0),
    "negative vol": (100.0, 100.0, 1.0, -0.2),
    "zero strike": (100.0, 0.0, 1.0, 0.2),
    "negative spot": (-1.0, 100.0, 1.0, 0.2),
}


@pytest.mark.parametrize("case", BAD_INPUTS)
def test_invalid_inputs_give_nan_without_warnings(case: str) -> None:
    s, k, t, vol = BAD_INPUTS[case]
    with np.errstate(all="raise"):
        values = [
            bs.price(s, k, t, vol, True),
            bs.price(s, k, t, vol, False),
            bs.delta(s, k, t, vol, True),
            bs.gamma(s, k, t, vol),
            bs.vega(s, k, t, vol),
            bs.theta(s, k, t, vol, False),
        ]
    assert all(math.isnan(v) for v in values)


def test_vectorized_and_broadcast() -> None:
    strikes = np.array([[90.0, 100.0, 110.0]])
    kinds = np.array([[True], [False]])
    out = bs.price(100.0, strikes, 0.5, 0.25, kinds)
    assert out.shape == (2, 3)
    for i, call in enumerate((True, False)):
        for j, k in enumerate(strikes[0]):
            assert out[i, j] == bs.price(100.0, k, 0.5, 0.25, call)
    # A bad lane is NaN; the others are untouched.
    mixed = bs.gamma(100.0, [100.0, 100.0], [1.0, 0.0], 0.2)
    assert mixed[0] == bs.gamma(100.0, 100.0, 1.0, 0.2) and math.isnan(mixed[1])


def test_prices_stay_accurate_deep_in_the_wings() -> None:
    # Far OTM a call is pure time value; its value must stay positive and monotone in the strike,
    # never 0 or negative from cancellation, down to values far below double epsilon.
    strikes = np.linspace(150, 400, 26)
    values = bs.price(100.0, strikes, 0.25, 0.3, True)
    assert (values > 0).all() and (np.diff(values) < 0).all()
    assert values[-1] < 1e-18  # far below the rounding of a 100-dollar spot


# --- implied volatility ------------------------------------------------------------------------

MONEYNESS = [0.5, 0.8, 0.95, 1.0, 1.05, 1.25, 2.0]
TIMES = [1 / 365 / 24, 1 / 365, 7 / 365, 0.25, 1.0, 5.0]
VOLS = [0.03, 0.15, 0.4, 1.0, 3.0]


def test_iv_round_trip_grid() -> None:
    k, t, vol, call = (a.ravel() for a in np.meshgrid(MONEYNESS, TIMES, VOLS, [True, False], indexing="ij"))
    s, r, q = 100.0, 0.03, 0.01
    strike = s * k
    value = bs.price(s, strike, t, vol, call, r, q)
    iv = bs.implied_volatility(value, s, strike, t, call, r, q)
    solved = ~np.isnan(iv)
    # Wherever it answers, the answer reproduces the price.
    repriced = bs.price(s, strike[solved], t[solved], iv[solved], call[solved], r, q)
    np.testing.assert_allclose(repriced, value[solved], rtol=1e-10)
    # Where the price actually pins the volatility down, it answers, and with the right volatility.
    conditioned = bs.vega(s, strike, t, vol, r, q) * vol > 1e-6 * value
    assert conditioned.sum() > 0.6 * conditioned.size
    assert solved[conditioned].all()
    np.testing.assert_allclose(iv[conditioned], vol[conditioned], rtol=1e-7)


@pytest.mark.parametrize(("s", "k", "t", "vol", "r", "q"), CASES)
@pytest.mark.parametrize("call", [True, False])
def test_iv_round_trip_cases(
    s: float, k: float, t: float, vol: float, r: float, q: float, call: bool
) -> None:
    value = bs.price(s, k, t, vol, call, r, q)
    assert bs.implied_volatility(value, s, k, t, call, r, q) == pytest.approx(vol, rel=1e-10)


def test_iv_hull_rounded_quotes() -> None:
    got = bs.implied_volatility([4.76, 0.81], 42, 40, 0.5, [True, False], 0.1)
    np.testing.assert_allclose(got, 0.2, atol=5e-4)


def test_iv_deep_wing_tiny_prices() -> None:
    # A 1-day 40 %-vol call 30 % out of the money is worth ~5e-37: still solvable to full precision.
    value = bs.price(100.0, 130.0, 1 / 365, 0.4, True)
    assert 0 < value < 1e-30
    assert bs.implied_volatility(value, 100.0, 130.0, 1 / 365, True) == pytest.approx(0.4, rel=1e-9)


WING_NAN = {
    "NaN price": (math.nan, 100.0, 100.0, 1.0, True),
    "zero price": (0.0, 100.0, 100.0, 1.0, True),
    "negative price": (-1.0, 100.0, 100.0, 1.0, False),
    "call below intrinsic": (9.0, 110.0, 100.0, 1.0, True),
    "call at intrinsic": (10.0, 110.0, 100.0, 1.0, True),
    "put below intrinsic": (4.0, 95.0, 100.0, 1.0, False),
    "call at the spot bound": (100.0, 100.0, 100.0, 1.0, True),
    "call above the spot bound": (120.0, 100.0, 50.0, 1.0, True),
    "put at the strike bound": (100.0, 10.0, 100.0, 1.0, False),
    "expired": (5.0, 100.0, 100.0, 0.0, True),
    "negative time": (5.0, 100.0, 100.0, -1.0, True),
    "NaN spot": (5.0, math.nan, 100.0, 1.0, True),
    "zero strike": (5.0, 100.0, 0.0, 1.0, True),
    # Needs a volatility above the 1000 % ceiling.
    "beyond max vol": (99.99999, 100.0, 100.0, 1.0, True),
    # Deep ITM: the time value (~1e-80) is lost in the rounding of the intrinsic 50.
    "time value below rounding": (float(bs.price(100.0, 50.0, 0.1, 0.2, True)), 100.0, 50.0, 0.1, True),
    "subnormal price": (1e-310, 100.0, 150.0, 0.1, True),
}


@pytest.mark.parametrize("case", WING_NAN)
def test_iv_undefined_gives_nan_never_a_number_or_an_exception(case: str) -> None:
    price, s, k, t, call = WING_NAN[case]
    with np.errstate(all="raise"):
        assert math.isnan(bs.implied_volatility(price, s, k, t, call))


def test_iv_nan_lanes_do_not_disturb_others() -> None:
    good = float(bs.price(100.0, 105.0, 0.5, 0.3, True))
    got = bs.implied_volatility([good, math.nan, -1.0, good], 100.0, 105.0, [0.5, 0.5, 0.5, 0.0], True)
    assert got[0] == pytest.approx(0.3, rel=1e-10)
    assert np.isnan(got[1:]).all()


def test_iv_shapes() -> None:
    assert isinstance(bs.implied_volatility(7.97, 100, 100, 1.0, True), np.floating)
    grid = bs.price(100.0, np.array([[90.0], [110.0]]), np.array([0.1, 1.0]), 0.3, True)
    iv = bs.implied_volatility(grid, 100.0, np.array([[90.0], [110.0]]), np.array([0.1, 1.0]), True)
    assert iv.shape == (2, 2)
    np.testing.assert_allclose(iv, 0.3, rtol=1e-10)
    assert bs.implied_volatility(np.array([]), 100.0, 100.0, 1.0, True).shape == (0,)
