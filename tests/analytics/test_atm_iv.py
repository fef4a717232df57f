"""Golden cases for the 30-day ATM implied volatility (contract §6 "ATM IV")."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import polars as pl
import pytest

from aegis_core.analytics.iv import AtmIvResult, atm_iv
from aegis_core.archive.schemas import ATM_IV
from tests.analytics.chains import AS_OF, SESSION, chain_frame, contract, spots_frame


def quote(
    days: int, strike: float, call_iv: float | None, put_iv: float | None, symbol: str = "AAA"
) -> list[dict]:
    return [
        contract(symbol, "call", strike, days, iv=call_iv),
        contract(symbol, "put", strike, days, iv=put_iv),
    ]


def expiry(days: int, atm: tuple[float | None, float | None], spot_strike: float = 100.0) -> list[dict]:
    """An expiry with the given call/put IV at the ATM strike and decoys at the neighbours."""
    return [
        *quote(days, spot_strike - 5, 0.9, 0.9),
        *quote(days, spot_strike, *atm),
        *quote(days, spot_strike + 5, 0.8, 0.8),
    ]


def run(
    rows: list[dict[str, Any]], spots: dict[str, float | None] | None = None, **kwargs: Any
) -> AtmIvResult:
    return atm_iv(
        chain_frame(rows),
        spots_frame({"AAA": 100.4} if spots is None else spots),
        session_date=SESSION,
        as_of=AS_OF,
        **kwargs,
    )


def only_row(result: AtmIvResult) -> dict[str, Any]:
    assert result.frame.height == 1, result.frame
    return result.frame.row(0, named=True)


def day(days: int) -> dt.date:
    return SESSION + dt.timedelta(days=days)


def total_variance_30(near: tuple[int, float], far: tuple[int, float], target: int = 30) -> float:
    (t1, s1), (t2, s2) = near, far
    w = s1**2 * t1 + (s2**2 * t2 - s1**2 * t1) * (target - t1) / (t2 - t1)
    return math.sqrt(w / target)


def test_interpolates_the_bracketing_expiries_in_total_variance() -> None:
    rows = [
        *expiry(7, (0.5, 0.5)),
        *expiry(20, (0.20, 0.22)),
        *expiry(40, (0.30, 0.28)),
        *expiry(60, (0.6, 0.6)),
    ]
    got = only_row(run(rows))
    assert got["atm_iv"] == pytest.approx(total_variance_30((20, 0.21), (40, 0.29)), rel=1e-12)
    assert got["atm_iv"] == pytest.approx(math.sqrt((0.21**2 * 20 + (0.29**2 * 40 - 0.21**2 * 20) / 2) / 30))
    assert (got["method"], got["near_expiry"], got["far_expiry"]) == ("interpolated", day(20), day(40))


def test_an_expiry_exactly_at_thirty_days_is_used_as_is() -> None:
    rows = [*expiry(20, (0.2, 0.2)), *expiry(30, (0.33, 0.35)), *expiry(40, (0.3, 0.3))]
    got = only_row(run(rows))
    assert got["atm_iv"] == pytest.approx(0.34)
    assert (got["method"], got["near_expiry"], got["far_expiry"]) == ("exact", day(30), day(30))


def test_only_nearer_expiries_use_the_latest_flat() -> None:
    got = only_row(run([*expiry(7, (0.5, 0.5)), *expiry(14, (0.25, 0.27))]))
    assert got["atm_iv"] == pytest.approx(0.26)
    assert (got["method"], got["near_expiry"], got["far_expiry"]) == ("near_only", day(14), None)


def test_only_farther_expiries_use_the_earliest_flat() -> None:
    got = only_row(run([*expiry(45, (0.31, 0.33)), *expiry(90, (0.5, 0.5))]))
    assert got["atm_iv"] == pytest.approx(0.32)
    assert (got["method"], got["near_expiry"], got["far_expiry"]) == ("far_only", None, day(45))


@pytest.mark.parametrize(
    ("atm", "expected"), [((0.24, None), 0.24), ((None, 0.26), 0.26), ((0.24, math.nan), 0.24)]
)
def test_one_side_missing_uses_the_other(atm: tuple[float | None, float | None], expected: float) -> None:
    assert only_row(run(expiry(30, atm)))["atm_iv"] == pytest.approx(expected)


def test_nearest_strike_without_iv_falls_to_the_next_nearest() -> None:
    rows = [*quote(30, 100, None, None), *quote(30, 105, 0.8, 0.8), *quote(30, 97.5, 0.3, 0.32)]
    assert only_row(run(rows))["atm_iv"] == pytest.approx(0.31)


def test_strike_tie_goes_to_the_lower_strike() -> None:
    rows = [*quote(30, 100, 0.2, 0.2), *quote(30, 105, 0.4, 0.4)]
    assert only_row(run(rows, {"AAA": 102.5}))["atm_iv"] == pytest.approx(0.2)


def test_duplicate_contracts_are_averaged_per_side() -> None:
    # e.g. an adjusted contract beside the standard one: the call side is their mean, then call/put.
    rows = [
        contract(kind="call", days=30, iv=0.2),
        contract(kind="call", days=30, iv=0.4),
        contract(kind="put", days=30, iv=0.36),
    ]
    assert only_row(run(rows))["atm_iv"] == pytest.approx(0.33)


@pytest.mark.parametrize("short", [0, -3], ids=["0DTE", "expired"])
def test_expiries_without_time_left_are_ignored(short: int) -> None:
    got = only_row(run([*expiry(short, (0.9, 0.9)), *expiry(40, (0.3, 0.3))]))
    assert (got["method"], got["atm_iv"], got["near_expiry"]) == ("far_only", pytest.approx(0.3), None)


def test_target_days_is_configurable() -> None:
    rows = [*expiry(20, (0.2, 0.2)), *expiry(40, (0.3, 0.3)), *expiry(90, (0.4, 0.4))]
    got = only_row(run(rows, target_days=60))
    assert got["atm_iv"] == pytest.approx(total_variance_30((40, 0.3), (90, 0.4), target=60))
    assert (got["near_expiry"], got["far_expiry"]) == (day(40), day(90))


def test_symbols_without_usable_iv_or_spot_get_no_row_and_are_reported() -> None:
    rows = [
        *expiry(30, (0.3, 0.3), spot_strike=100),
        *quote(30, 50, None, None, symbol="NOIV"),
        *quote(30, 50, 0.0, math.nan, symbol="ZERO"),
        *quote(30, 20, 0.5, 0.5, symbol="NOSPOT"),
        *quote(30, 20, 0.5, 0.5, symbol="BADSPOT"),
    ]
    result = run(rows, {"AAA": 100.0, "NOIV": 50.0, "ZERO": 50.0, "EMPTY": 10.0, "BADSPOT": 0.0})
    assert result.frame.get_column("symbol").to_list() == ["AAA"]
    assert result.skipped == {
        "BADSPOT": "spot is not a positive number",
        "EMPTY": "no option chain archived for this symbol",
        "NOIV": "no usable implied volatility in the chain",
        "NOSPOT": "no spot (session close) for this symbol",
        "ZERO": "no usable implied volatility in the chain",
    }


def test_many_symbols_at_once_and_the_contract() -> None:
    rows = [*expiry(20, (0.2, 0.2)), *expiry(40, (0.3, 0.3))]
    rows += [*quote(30, 10, 0.5, 0.7, symbol="BBB"), *quote(10, 10, 0.9, 0.9, symbol="CCC")]
    result = run(rows, {"CCC": 10.0, "AAA": 100.0, "BBB": 10.2})
    frame = result.frame
    assert frame.schema == ATM_IV.polars_schema
    assert frame.get_column("symbol").to_list() == ["AAA", "BBB", "CCC"]
    assert frame.get_column("method").to_list() == ["interpolated", "exact", "near_only"]
    assert frame.get_column("atm_iv").to_list() == pytest.approx(
        [total_variance_30((20, 0.2), (40, 0.3)), 0.6, 0.9]
    )
    assert frame.get_column("timestamp").unique().to_list() == [AS_OF.astimezone(dt.UTC)]
    # Each symbol alone gives the same row.
    alone = run([*expiry(20, (0.2, 0.2)), *expiry(40, (0.3, 0.3))])
    assert alone.frame.row(0) == frame.row(0)
    ATM_IV.to_arrow(frame)


def test_empty_chain() -> None:
    result = run([], {"AAA": 100.0})
    assert result.frame.height == 0 and result.frame.schema == ATM_IV.polars_schema
    assert result.skipped == {"AAA": "no option chain archived for this symbol"}


def test_bad_inputs_raise_naming_them() -> None:
    chain, spots = chain_frame(expiry(30, (0.3, 0.3))), spots_frame({"AAA": 100.0})
    with pytest.raises(ValueError, match="timezone-aware"):
        atm_iv(chain, spots, session_date=SESSION, as_of=dt.datetime(2026, 11, 20, 22))
    with pytest.raises(ValueError, match=r"chains: missing columns \['implied_volatility'\]"):
        atm_iv(chain.drop("implied_volatility"), spots, session_date=SESSION, as_of=AS_OF)
    with pytest.raises(ValueError, match=r"more than one spot for symbols \['AAA'\]"):
        atm_iv(chain, pl.concat([spots, spots]), session_date=SESSION, as_of=AS_OF)
    with pytest.raises(ValueError, match="target_days"):
        atm_iv(chain, spots, session_date=SESSION, as_of=AS_OF, target_days=0)
