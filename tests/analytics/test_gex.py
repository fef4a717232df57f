"""Golden cases for gex_summary (contract §6 "Gamma exposure")."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import numpy as np
import polars as pl
import pytest

from aegis_core.analytics import black_scholes as bs
from aegis_core.analytics.gex import (
    GexParams,
    GexResult,
    NonFiniteGexError,
    _gex_profile,
    first_zero_crossing,
    gex_summary,
)
from aegis_core.archive.schemas import GEX_SUMMARY
from tests.analytics.chains import AS_OF, CAPTURE, SESSION, chain_frame, contract, spots_frame
from tests.analytics.reference import reference_row

SPOT = 100.0


def run(rows: list[dict[str, Any]], spots: dict[str, float | None] | None = None, **params: Any) -> GexResult:
    return gex_summary(
        chain_frame(rows),
        spots_frame({"AAA": SPOT} if spots is None else spots),
        session_date=SESSION,
        as_of=AS_OF,
        params=GexParams(**params),
    )


def row(result: GexResult, symbol: str = "AAA") -> dict[str, Any]:
    rows = result.frame.filter(pl.col("symbol") == symbol).to_dicts()
    assert len(rows) == 1, f"expected one row for {symbol}, got {rows}"
    return rows[0]


@pytest.mark.parametrize(
    ("kind", "gamma", "oi", "shares", "spot", "expected"),
    [
        ("call", 0.02, 1000, 100, 100.0, 0.02 * 1000 * 100 * 100.0**2 * 0.01),
        ("put", 0.02, 1000, 100, 100.0, -0.02 * 1000 * 100 * 100.0**2 * 0.01),
        ("call", 0.0031, 7, 10, 512.5, 0.0031 * 7 * 10 * 512.5**2 * 0.01),  # a mini contract
        ("put", 0.05, 3, None, 42.0, -0.05 * 3 * 100 * 42.0**2 * 0.01),  # null shares -> 100
    ],
)
def test_per_contract_dollar_gamma_per_one_percent(
    kind: str, gamma: float, oi: int, shares: int | None, spot: float, expected: float
) -> None:
    got = row(run([contract(kind=kind, strike=spot, gamma=gamma, oi=oi, shares=shares)], {"AAA": spot}))
    assert got["net_gex"] == pytest.approx(expected, rel=1e-12)
    assert got["abs_gex"] == pytest.approx(abs(expected), rel=1e-12)
    assert got["gex_regime"] == ("positive" if kind == "call" else "negative")
    assert got["underlying_price"] == spot


def test_sums_over_contracts() -> None:
    rows = [
        contract(kind="call", strike=105, gamma=0.03, oi=500),
        contract(kind="put", strike=95, gamma=0.01, oi=2000, days=60),
        contract(kind="call", strike=110, gamma=0.015, oi=100, days=7),
    ]
    gex = [0.03 * 500 * 100, -0.01 * 2000 * 100, 0.015 * 100 * 100]
    got = row(run(rows))
    assert got["net_gex"] == pytest.approx(sum(gex) * SPOT**2 * 0.01)
    assert got["abs_gex"] == pytest.approx(sum(map(abs, gex)) * SPOT**2 * 0.01)


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ({"gamma": None}, "null gamma"),
        ({"gamma": math.nan}, "null gamma"),
        ({"oi": 0}, "zero or null open_interest"),
        ({"oi": None}, "zero or null open_interest"),
        ({"days": -1}, "expired"),
        ({"kind": "straddle"}, "unknown contract_type"),
    ],
    ids=["null gamma", "NaN gamma", "zero OI", "null OI", "expired", "unknown type"],
)
def test_contracts_that_contribute_nothing(bad: dict[str, Any], reason: str) -> None:
    good = contract(kind="call", strike=110, gamma=0.02, oi=400)
    fields = {"kind": "put", "strike": 90.0, "gamma": 0.05, "oi": 9000, **bad}
    kind, strike, days = fields.pop("kind"), fields.pop("strike"), fields.pop("days", 30)
    result = run([good, contract(kind=kind, strike=strike, days=days, **fields)])
    alone = run([good])
    assert row(result) == row(alone)
    assert result.contracts_used == 1
    assert result.contracts_dropped == {reason: 1}


def test_expired_alone_gives_no_row() -> None:
    result = run([contract(days=-1), contract(kind="put", days=-30)])
    assert result.frame.height == 0 and "no usable contract" in result.skipped["AAA"]
    assert result.contracts_dropped == {"expired": 2}


def test_zero_dte_contracts_count() -> None:
    got = row(run([contract(kind="call", days=0, gamma=0.2, oi=10)]))
    assert got["net_gex"] == pytest.approx(0.2 * 10 * 100 * SPOT**2 * 0.01)


def zero_dte_chain() -> list[dict[str, Any]]:
    # Captured at 17:15 ET, after the 16:00 expiry: re-pricing needs the time-to-expiry floor.
    return [
        contract(kind="put", strike=97, days=0, oi=3000, iv=0.5, gamma=0.1),
        contract(kind="call", strike=103, days=0, oi=1000, iv=0.5, gamma=0.1),
    ]


@pytest.mark.parametrize("floor_days", [1 / 24, 0.25, 1.0])
def test_zero_dte_is_repriced_with_the_floor(floor_days: float) -> None:
    got = row(run(zero_dte_chain(), min_time_to_expiry_days=floor_days))
    want = reference_row(zero_dte_chain(), SPOT, SESSION, floor_days=floor_days)
    assert want["zero_gamma_level"] > 0
    assert got["zero_gamma_level"] == pytest.approx(want["zero_gamma_level"], rel=1e-9)


def test_the_floor_changes_the_level() -> None:
    levels = {
        f: row(run(zero_dte_chain(), min_time_to_expiry_days=f))["zero_gamma_level"] for f in (1 / 24, 1.0)
    }
    assert 97 < levels[1 / 24] < 103 and 97 < levels[1.0] < 103
    assert abs(levels[1 / 24] - levels[1.0]) > 1e-3


def test_zero_dte_intraday_uses_the_time_left() -> None:
    # Captured 10:00 ET: six hours to the 16:00 expiry, more than the one-hour floor.
    capture = dt.datetime.combine(SESSION, dt.time(10, 0), tzinfo=CAPTURE.tzinfo)
    rows = [{**r, "timestamp": capture.astimezone(dt.UTC)} for r in zero_dte_chain()]
    got = row(run(rows))
    six_hours = reference_row(rows, SPOT, SESSION, floor_days=1 / 24)
    floored = reference_row(zero_dte_chain(), SPOT, SESSION, floor_days=0.25)  # 6 h as a floor
    assert got["zero_gamma_level"] == pytest.approx(six_hours["zero_gamma_level"], rel=1e-9)
    assert got["zero_gamma_level"] == pytest.approx(floored["zero_gamma_level"], rel=1e-9)


def test_calls_only_has_no_crossing() -> None:
    got = row(run([contract(kind="call", strike=k) for k in (95.0, 100.0, 105.0)]))
    assert got["zero_gamma_level"] == 0.0
    assert got["put_wall"] == 0.0
    assert got["gamma_wall"] == 95.0  # equal gex at every strike: the lower strike wins the tie
    assert got["gex_regime"] == "positive"


def test_puts_only_has_no_crossing_and_no_gamma_wall() -> None:
    got = row(run([contract(kind="put", strike=k, oi=100 * k) for k in (90, 95, 99)]))
    assert got["zero_gamma_level"] == 0.0
    assert got["gamma_wall"] == 0.0
    assert got["put_wall"] == 99.0
    assert got["gex_regime"] == "negative"


def test_crossing_between_put_and_call_concentrations() -> None:
    rows = [contract(kind="put", strike=90, oi=5000), contract(kind="call", strike=110, oi=5000)]
    got = row(run(rows))
    assert 90 < got["zero_gamma_level"] < 110
    assert got["zero_gamma_level"] == pytest.approx(reference_row(rows, SPOT, SESSION)["zero_gamma_level"])


@pytest.mark.parametrize(
    ("chain", "reason"),
    [
        ([], "no option chain archived"),
        ([contract(days=-5)], "no usable contract"),
        ([contract(oi=0), contract(kind="put", gamma=None)], "no usable contract"),
    ],
    ids=["no chain", "only expired", "no oi or gamma"],
)
def test_symbols_with_a_spot_and_nothing_usable_get_no_row(chain: list[dict[str, Any]], reason: str) -> None:
    # Regression (issue 12): a failed chain used to become a "neutral" row of zeros.
    result = run(chain, {"AAA": 100.0, "BBB": 50.0})
    assert result.frame.height == 0
    assert set(result.skipped) == {"AAA", "BBB"}
    assert reason in result.skipped["AAA"]
    assert "no option chain archived" in result.skipped["BBB"]


@pytest.mark.parametrize("spot", [None, math.nan, 0.0, -3.0, math.inf])
def test_invalid_spot_is_skipped_not_guessed(spot: float | None) -> None:
    result = run([contract("AAA"), contract("BBB")], {"AAA": 100.0, "BBB": spot})
    assert result.frame.get_column("symbol").to_list() == ["AAA"]
    assert "BBB" in result.skipped and "spot is not a positive number" in result.skipped["BBB"]


def test_chain_without_spot_is_reported() -> None:
    result = run([contract("AAA"), contract("ZZZ")], {"AAA": 100.0})
    assert result.frame.get_column("symbol").to_list() == ["AAA"]
    assert result.skipped == {"ZZZ": "no spot (session close) for this symbol"}


def mixed_chain() -> list[dict[str, Any]]:
    return [
        contract(kind="put", strike=90, oi=4000, gamma=0.02),
        contract(kind="put", strike=95, oi=3000, gamma=0.03),
        contract(kind="call", strike=105, oi=2500, gamma=0.03),
        contract(kind="call", strike=110, oi=1000, gamma=0.02),
    ]


def test_custom_sign_convention() -> None:
    default = row(run(mixed_chain()))
    flipped = row(run(mixed_chain(), call_sign=-1.0, put_sign=1.0))
    assert flipped["net_gex"] == pytest.approx(-default["net_gex"])
    assert flipped["abs_gex"] == pytest.approx(default["abs_gex"])
    assert {default["gex_regime"], flipped["gex_regime"]} == {"positive", "negative"}
    # Walls are concentrations, so they do not move; the negated profile crosses at the same spot.
    assert (
        (flipped["gamma_wall"], flipped["put_wall"])
        == (default["gamma_wall"], default["put_wall"])
        == (105, 95)
    )
    assert flipped["zero_gamma_level"] == pytest.approx(default["zero_gamma_level"], rel=1e-12)
    assert default["zero_gamma_level"] > 0


def test_both_long_convention() -> None:
    # Some desks count dealers long both sides: no crossing, every contract adds.
    got = row(run(mixed_chain(), call_sign=1.0, put_sign=1.0))
    assert got["net_gex"] == pytest.approx(got["abs_gex"])
    assert got["zero_gamma_level"] == 0.0


def test_walls_sum_across_expiries_at_a_strike() -> None:
    rows = [
        contract(kind="call", strike=100, oi=600, days=7),
        contract(kind="call", strike=100, oi=600, days=35),
        contract(kind="call", strike=105, oi=1000),
        contract(kind="put", strike=90, oi=500),
        contract(kind="put", strike=95, oi=2000),
        contract(kind="put", strike=95, oi=100, days=60, gamma=None),  # contributes nothing
    ]
    got = row(run(rows))
    assert (got["gamma_wall"], got["put_wall"]) == (100.0, 95.0)


@pytest.mark.parametrize(
    ("rows", "regime"),
    [
        ([contract(kind="call", oi=2), contract(kind="put", oi=1)], "positive"),
        ([contract(kind="call", oi=1), contract(kind="put", oi=2)], "negative"),
        ([contract(kind="call", oi=5), contract(kind="put", oi=5)], "neutral"),
    ],
    ids=["positive", "negative", "exactly cancelling"],
)
def test_regime_follows_the_sign_of_net_gex(rows: list[dict[str, Any]], regime: str) -> None:
    got = row(run(rows))
    assert got["gex_regime"] == regime
    assert got["abs_gex"] > 0


def test_contract_without_iv_counts_in_net_but_not_in_the_profile() -> None:
    no_iv = contract(kind="call", strike=100, oi=50_000, iv=None, gamma=0.04)
    with_it = run([*mixed_chain(), no_iv])
    without = run(mixed_chain())
    assert row(with_it)["net_gex"] == pytest.approx(
        row(without)["net_gex"] + 0.04 * 50_000 * 100 * SPOT**2 * 0.01
    )
    assert row(with_it)["zero_gamma_level"] == row(without)["zero_gamma_level"]
    assert with_it.contracts_not_repriced == 1 and with_it.contracts_used == 5


def test_output_conforms_to_the_contract() -> None:
    result = run(
        [*mixed_chain(), contract("BBB", kind="put", strike=48)], {"AAA": 100.0, "BBB": 50.0, "CCC": 9.0}
    )
    frame = result.frame
    assert frame.schema == GEX_SUMMARY.polars_schema
    assert all(frame[c].null_count() == 0 for c in frame.columns)
    assert frame.get_column("symbol").to_list() == ["AAA", "BBB"]  # CCC: a spot but no chain
    assert result.skipped == {"CCC": "no option chain archived for this symbol"}
    assert frame.get_column("timestamp").unique().to_list() == [AS_OF.astimezone(dt.UTC)]
    assert (frame["abs_gex"] >= frame["net_gex"].abs()).all()
    GEX_SUMMARY.to_arrow(frame)  # writable with the non-null flags


def test_each_symbol_is_computed_independently() -> None:
    together = run(
        [*mixed_chain(), *(contract("BBB", kind=k, strike=s) for k, s in (("put", 45), ("call", 55)))],
        {"AAA": 100.0, "BBB": 50.0},
    )
    alone = run(mixed_chain())
    assert row(together) == row(alone)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("grid_low", 1.3),
        ("grid_low", 0.0),
        ("grid_points", 1),
        ("min_time_to_expiry_days", 0.0),
        ("call_sign", math.nan),
        ("default_shares_per_contract", 0),
    ],
)
def test_bad_params_name_the_field(field: str, value: Any) -> None:
    with pytest.raises(ValueError, match=field if field != "grid_low" else "grid"):
        GexParams(**{field: value})


def test_bad_inputs_raise_naming_them() -> None:
    chain = chain_frame([contract()])
    with pytest.raises(ValueError, match="timezone-aware"):
        gex_summary(
            chain, spots_frame({"AAA": 1.0}), session_date=SESSION, as_of=dt.datetime(2026, 11, 20, 22)
        )
    with pytest.raises(ValueError, match=r"more than one spot for symbols \['AAA'\]"):
        gex_summary(
            chain,
            pl.DataFrame({"symbol": ["AAA", "AAA"], "spot": [1.0, 2.0]}),
            session_date=SESSION,
            as_of=AS_OF,
        )
    with pytest.raises(ValueError, match=r"chains: missing columns \['gamma'\]"):
        gex_summary(chain.drop("gamma"), spots_frame({"AAA": 1.0}), session_date=SESSION, as_of=AS_OF)
    with pytest.raises(ValueError, match=r"spots: missing columns \['spot'\]"):
        gex_summary(chain, pl.DataFrame({"symbol": ["AAA"]}), session_date=SESSION, as_of=AS_OF)


def test_profile_kernel_matches_dense_black_scholes_across_blocks() -> None:
    # More contracts than one block, symbols straddling block edges, some symbols with none.
    rng = np.random.default_rng(3)
    n, n_rows = 20_000, 40
    row_of = np.sort(rng.choice(np.arange(n_rows)[::2], size=n))
    spots = rng.uniform(10, 500, n_rows)
    spot = spots[row_of]
    strike = spot * rng.uniform(0.6, 1.4, n)
    years = rng.uniform(1 / 365 / 24, 2.0, n)
    vol = rng.uniform(0.05, 1.5, n)
    weight = rng.choice([-1.0, 1.0], n) * rng.uniform(1, 1e5, n)
    params = GexParams(rate=0.03, dividend=0.01, grid_points=21)
    got = _gex_profile(
        row=row_of,
        spot=spot,
        strike=strike,
        years=years,
        vol=vol,
        weight=weight,
        n_rows=n_rows,
        grid=params.grid,
        rate=0.03,
        dividend=0.01,
    )
    hypothetical = spot[:, None] * params.grid[None, :]
    cells = weight[:, None] * bs.gamma(
        hypothetical, strike[:, None], years[:, None], vol[:, None], 0.03, 0.01
    )
    want = np.zeros((n_rows, params.grid_points))
    np.add.at(want, row_of, cells * hypothetical**2)
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9 * np.abs(want).max())
    assert not got[1::2].any()


@pytest.mark.parametrize(
    ("profile", "level"),
    [
        ([-2.0, 2.0, 0.0], 15.0),
        ([2.0, 1.0, -3.0], 22.5),
        ([1.0, 2.0, 3.0], 0.0),
        ([0.0, 0.0, 0.0], 0.0),
        ([0.0, -1.0, 0.0], 0.0),  # underflowed edges are not a sign
        ([1.0, 0.0, -1.0], 20.0),  # an exact zero on the grid is the level
        ([-1.0, 0.0, 0.0, 3.0], 20.0),
        ([0.0, 0.0, -1.0, 2.0], 100.0 / 3.0),
        ([1.0, -1.0, 1.0], 15.0),  # the first of several crossings
    ],
)
def test_first_zero_crossing(profile: list[float], level: float) -> None:
    p = np.array([profile])
    spots = np.array([[10.0 * (i + 1) for i in range(p.shape[1])]])
    assert first_zero_crossing(p, spots)[0] == pytest.approx(level)


def test_a_non_finite_gamma_exposure_is_refused_naming_the_symbol() -> None:
    # Issue 24: a gamma of 1e300 (finite, so not "null gamma") made net_gex infinite and the row was written.
    rows = [contract(kind="call", strike=SPOT, gamma=1e300, oi=1000), contract(kind="put", strike=SPOT)]
    with pytest.raises(NonFiniteGexError, match=r"AAA: net_gex inf, abs_gex inf"):
        run(rows)
    assert math.isfinite(row(run([contract(kind="call", strike=SPOT, gamma=0.02, oi=1000)]))["net_gex"])
