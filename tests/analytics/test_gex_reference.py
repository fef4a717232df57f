"""gex_summary against an independent slow pure-Python re-derivation (tests/analytics/reference.py)."""

from __future__ import annotations

import datetime as dt
import math
import random

import pytest

from aegis_core.analytics.gex import GexParams, gex_summary
from tests.analytics.chains import AS_OF, CAPTURE, SESSION, chain_frame, contract, spots_frame
from tests.analytics.reference import bs_call_delta, bs_gamma, reference_row


def realistic_chain(
    symbol: str, spot: float, seed: int, capture: dt.datetime, session: dt.date
) -> list[dict]:
    """Puts heavy below spot, calls above (so the profile crosses), plus every kind of bad row."""
    rng = random.Random(seed)
    rows = []
    for days in (-1, 0, 7, 14, 30, 60, 120):
        for i in range(-8, 9):
            strike = round(spot * (1 + 0.025 * i), 2)
            for kind in ("call", "put"):
                iv = 0.22 + 0.1 * abs(i) / 8 + rng.uniform(-0.02, 0.02)
                heavy = (kind == "put" and i < 0) or (kind == "call" and i > 0)
                oi = rng.randint(2000, 9000) if heavy else rng.randint(0, 800)
                # The source's gamma is not our re-priced one (a different model, a different time).
                reported = bs_gamma(spot, strike, max(days, 0.5) / 365, iv) * rng.uniform(0.9, 1.1)
                row = contract(
                    symbol, kind, strike, days, gamma=reported, oi=oi, iv=iv, session=session, capture=capture
                )
                roll = rng.random()
                if roll < 0.05:
                    row["gamma"] = None
                elif roll < 0.10:
                    row["implied_volatility"] = None
                elif roll < 0.13:
                    row["open_interest"] = None
                elif roll < 0.16:
                    row["shares_per_contract"] = None
                rows.append(row)
    return rows


CASES = {
    "default": ({}, CAPTURE, SESSION),
    "custom signs and grid": (
        {"call_sign": -1.0, "put_sign": 1.0, "grid_points": 41, "grid_low": 0.85, "grid_high": 1.15},
        CAPTURE,
        SESSION,
    ),
    "rates and a longer 0DTE floor": (
        {"rate": 0.04, "dividend": 0.01, "min_time_to_expiry_days": 0.5},
        CAPTURE,
        SESSION,
    ),
    # Daylight-saving time in New York, captured intraday: 0DTE has hours left, above the floor.
    "summer intraday": (
        {},
        dt.datetime(2026, 7, 15, 11, 5, tzinfo=dt.timezone(dt.timedelta(hours=-4))),
        dt.date(2026, 7, 15),
    ),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_matches_the_slow_reference(case: str) -> None:
    overrides, capture, session = CASES[case]
    params = GexParams(**overrides)
    rows = realistic_chain("AAA", 187.3, seed=11, capture=capture, session=session)
    other = realistic_chain("BBB", 42.0, seed=12, capture=capture, session=session)
    result = gex_summary(
        chain_frame(other + rows),
        spots_frame({"AAA": 187.3, "BBB": 42.0}),
        session_date=session,
        as_of=AS_OF,
        params=params,
    )
    got = result.frame.row(0, named=True)
    assert got["symbol"] == "AAA"

    want = reference_row(
        rows,
        187.3,
        session,
        call_sign=params.call_sign,
        put_sign=params.put_sign,
        grid_low=params.grid_low,
        grid_high=params.grid_high,
        grid_points=params.grid_points,
        rate=params.rate,
        dividend=params.dividend,
        floor_days=params.min_time_to_expiry_days,
    )
    assert want["zero_gamma_level"] > 0, "the reference chain must cross zero for this test to mean anything"
    for column in ("net_gex", "abs_gex", "zero_gamma_level"):
        assert got[column] == pytest.approx(want[column], rel=1e-9), column
    assert got["gamma_wall"] == want["gamma_wall"]
    assert got["put_wall"] == want["put_wall"]
    assert got["gex_regime"] == want["gex_regime"]
    assert got["underlying_price"] == 187.3


def test_reference_gamma_is_the_derivative_of_its_erf_delta() -> None:
    # Guards the reference itself: its closed-form gamma agrees with a finite difference of N(d1).
    for s, k, t, vol in [(100, 90, 0.1, 0.3), (100, 100, 1 / 365, 0.2), (50, 60, 2.0, 0.6)]:
        h = 1e-6 * s
        numeric = (bs_call_delta(s + h, k, t, vol) - bs_call_delta(s - h, k, t, vol)) / (2 * h)
        assert math.isclose(bs_gamma(s, k, t, vol), numeric, rel_tol=1e-5)
