"""Golden cases for IV rank and IV percentile (contract §6 "IV rank"), by hand on small windows."""

from __future__ import annotations

import datetime as dt
import math
import random
from typing import Any

import polars as pl
import pytest

from aegis_core.analytics.iv import IvRankResult, iv_rank
from aegis_core.archive.schemas import IV_RANK
from aegis_core.calendar import nyse
from tests.analytics.chains import AS_OF, SESSION

# Five consecutive weekday sessions ending on SESSION (Mon 16 .. Fri 20 November 2026).
WINDOW = [SESSION - dt.timedelta(days=n) for n in range(4, -1, -1)]


def history(values: dict[str, list[float | None]], window: list[dt.date] = WINDOW) -> pl.DataFrame:
    """Per symbol, one value per window day (oldest first); None = no row that day (a gap)."""
    rows = [
        {"symbol": symbol, "session_date": day, "atm_iv": value}
        for symbol, series in values.items()
        for day, value in zip(window, series, strict=True)
        if value is not None
    ]
    return pl.DataFrame(rows, schema={"symbol": pl.String, "session_date": pl.Date, "atm_iv": pl.Float64})


def run(
    values: dict[str, list[float | None]] | pl.DataFrame, min_observations: int = 1, **kw: Any
) -> IvRankResult:
    frame = values if isinstance(values, pl.DataFrame) else history(values)
    kw.setdefault("window_sessions", WINDOW)
    return iv_rank(frame, session_date=SESSION, as_of=AS_OF, min_observations=min_observations, **kw)


def one(values: dict[str, list[float | None]] | pl.DataFrame, **kw: Any) -> dict[str, Any]:
    frame = run(values, **kw).frame
    assert frame.height == 1, frame
    return frame.row(0, named=True)


@pytest.mark.parametrize(
    ("series", "iv", "low", "high", "rank", "percentile", "observations"),
    [
        # rank = 100·(0.30−0.20)/(0.40−0.20); earlier below 0.30: 0.20, 0.25 of 4.
        ([0.20, 0.30, 0.25, 0.40, 0.30], 0.30, 0.20, 0.40, 50.0, 50.0, 5),
        # Today is the high: rank 100, every earlier day below.
        ([0.20, 0.30, 0.25, 0.40, 0.45], 0.45, 0.20, 0.45, 100.0, 100.0, 5),
        # Today is the low: rank 0, no earlier day below.
        ([0.20, 0.30, 0.25, 0.40, 0.10], 0.10, 0.10, 0.40, 0.0, 0.0, 5),
        # Ties are not "strictly below": 1 of 3 earlier days (0.2), not the two equal 0.3s.
        ([None, 0.30, 0.30, 0.20, 0.30], 0.30, 0.20, 0.30, 100.0, 100 / 3, 4),
        # Gaps are not forward-filled: 2 observed earlier days, one below.
        ([0.50, None, None, 0.10, 0.30], 0.30, 0.10, 0.50, 50.0, 50.0, 3),
    ],
    ids=["middle", "new high", "new low", "ties", "gaps"],
)
def test_by_hand(
    series: list[float | None],
    iv: float,
    low: float,
    high: float,
    rank: float,
    percentile: float,
    observations: int,
) -> None:
    got = one({"AAA": series})
    assert (got["iv"], got["iv_low"], got["iv_high"]) == (iv, low, high)
    assert got["iv_rank"] == pytest.approx(rank)
    assert got["iv_percentile"] == pytest.approx(percentile)
    assert got["observations"] == observations


@pytest.mark.parametrize(
    "series", [[0.3, 0.3, 0.3, 0.3, 0.3], [None, None, None, None, 0.3]], ids=["flat", "alone"]
)
def test_flat_window_has_no_rank(series: list[float | None]) -> None:
    got = one({"AAA": series})
    assert got["iv_rank"] is None and got["iv_percentile"] is None
    assert got["iv_low"] == got["iv_high"] == got["iv"] == 0.3
    assert got["observations"] == sum(v is not None for v in series)


@pytest.mark.parametrize(("minimum", "ranked"), [(3, True), (4, True), (5, False)])
def test_minimum_observations(minimum: int, ranked: bool) -> None:
    got = one({"AAA": [0.2, None, 0.4, 0.25, 0.3]}, min_observations=minimum)
    assert got["observations"] == 4
    assert (got["iv_rank"] is not None) is ranked and (got["iv_percentile"] is not None) is ranked
    # The levels are reported either way.
    assert (got["iv_low"], got["iv_high"]) == (0.2, 0.4)


def test_only_the_window_counts() -> None:
    inside = history({"AAA": [0.2, 0.3, 0.25, 0.4, 0.3]})
    outside = pl.DataFrame(
        {
            "symbol": ["AAA", "AAA", "AAA"],
            "session_date": [
                WINDOW[0] - dt.timedelta(days=3),
                dt.date(2020, 1, 2),
                SESSION + dt.timedelta(days=3),
            ],
            "atm_iv": [5.0, 0.01, 9.0],
        }
    )
    assert one(pl.concat([outside, inside])) == one(inside)


def test_unusable_values_are_not_observations() -> None:
    frame = history({"AAA": [0.2, 0.3, 0.25, 0.4, 0.3]}).with_columns(
        pl.when(pl.col("session_date") == WINDOW[0]).then(None).otherwise(pl.col("atm_iv")).alias("atm_iv")
    )
    frame = pl.concat([frame, history({"BBB": [math.nan, -0.1, 0.0, 0.3, 0.3]})])
    got = run(frame).frame
    assert got.get_column("observations").to_list() == [4, 2]
    assert got.get_column("iv_low").to_list() == [0.25, 0.3]


def test_symbols_without_todays_iv_get_no_row() -> None:
    result = run({"AAA": [0.2, 0.3, 0.25, 0.4, 0.3], "OLD": [0.2, 0.3, 0.25, 0.4, None]})
    assert result.frame.get_column("symbol").to_list() == ["AAA"]
    assert set(result.skipped) == {"OLD"}


def test_output_conforms_to_the_contract() -> None:
    result = run({"BBB": [0.3] * 5, "AAA": [0.2, 0.3, 0.25, 0.4, 0.3]}, min_observations=1)
    frame = result.frame
    assert frame.schema == IV_RANK.polars_schema
    assert frame.get_column("symbol").to_list() == ["AAA", "BBB"]
    assert frame.get_column("timestamp").unique().to_list() == [AS_OF.astimezone(dt.UTC)]
    IV_RANK.to_arrow(frame)  # nullable rank/percentile, non-null levels and count


def test_bad_inputs_raise_naming_them() -> None:
    frame = history({"AAA": [0.2, 0.3, 0.25, 0.4, 0.3]})
    with pytest.raises(ValueError, match="min_observations"):
        run(frame, min_observations=0)
    with pytest.raises(ValueError, match="must end with session_date"):
        run(frame, window_sessions=WINDOW[:-1])
    with pytest.raises(ValueError, match="must end with session_date"):
        run(frame, window_sessions=[])
    with pytest.raises(ValueError, match=r"duplicate .* AAA on 2026-11-20"):
        run(pl.concat([frame, frame.tail(1)]))
    with pytest.raises(ValueError, match=r"history: missing columns \['atm_iv'\]"):
        run(frame.drop("atm_iv"))
    with pytest.raises(ValueError, match="timezone-aware"):
        iv_rank(
            frame,
            session_date=SESSION,
            window_sessions=WINDOW,
            as_of=dt.datetime(2026, 11, 20),
            min_observations=1,
        )


def slow_iv_rank(
    values: dict[str, dict[dt.date, float]], window: list[dt.date], today: dt.date, minimum: int
) -> dict:
    out = {}
    for symbol, series in values.items():
        if today not in series:
            continue
        iv = series[today]
        observed = [series[d] for d in window if d in series]
        earlier = [series[d] for d in window if d in series and d < today]
        low, high = min(observed), max(observed)
        ranked = len(observed) >= minimum and high > low
        out[symbol] = (
            iv,
            low,
            high,
            100 * (iv - low) / (high - low) if ranked else None,
            100 * sum(v < iv for v in earlier) / len(earlier) if ranked else None,
            len(observed),
        )
    return out


def test_a_year_of_many_symbols_matches_a_slow_loop() -> None:
    window = [s.date for s in nyse().sessions_before(SESSION, 252)]
    assert len(window) == 252 and window[-1] == SESSION
    rng = random.Random(5)
    values: dict[str, dict[dt.date, float]] = {}
    for n in range(60):
        # Extra days before the window must not count; some symbols are sparse, some miss today.
        days = [s.date for s in nyse().sessions_before(SESSION, 300)]
        keep = rng.uniform(0.3, 1.0)
        values[f"S{n:02d}"] = {d: round(rng.uniform(0.1, 0.9), 2) for d in days if rng.random() < keep}
    frame = pl.DataFrame(
        [
            {"symbol": s, "session_date": d, "atm_iv": v}
            for s, series in values.items()
            for d, v in series.items()
        ]
    )
    got = iv_rank(
        frame, session_date=SESSION, window_sessions=window, as_of=AS_OF, min_observations=150
    ).frame
    want = slow_iv_rank(values, window, SESSION, 150)
    assert got.get_column("symbol").to_list() == sorted(want)
    assert any(w[3] is None for w in want.values()) and any(w[3] is not None for w in want.values())
    for r in got.iter_rows(named=True):
        iv, low, high, rank, percentile, observations = want[r["symbol"]]
        assert (r["iv"], r["iv_low"], r["iv_high"], r["observations"]) == (iv, low, high, observations)
        assert r["iv_rank"] == (None if rank is None else pytest.approx(rank, rel=1e-12))
        assert r["iv_percentile"] == (None if percentile is None else pytest.approx(percentile, rel=1e-12))
