"""Timings of the derived analytics at production scale (contract §6, §11).

Builds a synthetic end-of-day chain set for 712 symbols (~700 contracts each, SPY-sized chains of
~12,000 for a few index ETFs; ~0.5 M contracts in all) and 252 sessions of ATM IV history, then
times ``gex_summary``, ``atm_iv`` and ``iv_rank`` (best of ``--repeat`` runs).

    uv run python benchmarks/bench_analytics.py [--symbols 712] [--repeat 3] [--seed 7]
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import polars as pl

from aegis_core.analytics import black_scholes as bs
from aegis_core.analytics.gex import gex_summary
from aegis_core.analytics.iv import atm_iv, iv_rank
from aegis_core.archive.schemas import OPTIONS
from aegis_core.calendar import NY, nyse

SESSION = dt.date(2026, 11, 20)
BIG_CHAINS = {"SPY": 12_000, "QQQ": 9_000, "IWM": 6_000}


def _symbol_names(n: int) -> list[str]:
    names = list(BIG_CHAINS)
    i = 0
    while len(names) < n:
        # Synthetic tickers: AAAA, AAAB, ...
        names.append("".join(chr(65 + (i // 26**p) % 26) for p in (3, 2, 1, 0)))
        i += 1
    return names[:n]


def synthetic_chains(n_symbols: int, seed: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """An OPTIONS-contract frame for ``n_symbols`` symbols, and their spots."""
    rng = np.random.default_rng(seed)
    capture = dt.datetime.combine(SESSION, dt.time(17, 15), tzinfo=NY).astimezone(dt.UTC)
    # Weeklies for 8 weeks, then monthlies to two years out.
    expiries = [SESSION + dt.timedelta(days=d) for d in (0, 7, 14, 21, 28, 35, 42, 49, 56)]
    expiries += [SESSION + dt.timedelta(days=30 * m) for m in (3, 4, 5, 6, 9, 12, 18, 24)]
    parts = []
    spots = {}
    for symbol in _symbol_names(n_symbols):
        target = BIG_CHAINS.get(symbol, int(rng.integers(400, 1000)))
        spot = float(np.exp(rng.uniform(np.log(10), np.log(800))))
        spots[symbol] = spot
        n_exp = len(expiries)
        per_expiry = max(2, target // (2 * n_exp))
        strikes = spot * np.linspace(0.5, 1.5, per_expiry)
        strikes = np.round(strikes, 1)
        exp_idx = np.repeat(np.arange(n_exp), per_expiry * 2)
        strike = np.tile(np.repeat(strikes, 2), n_exp)
        is_call = np.tile(np.array([True, False]), per_expiry * n_exp)
        days = np.array([(e - SESSION).days for e in expiries])[exp_idx]
        years = np.maximum(days, 1 / 24) / 365.0
        base = rng.uniform(0.15, 0.6)
        moneyness = np.log(strike / spot)
        iv = base * (1 + 0.8 * moneyness**2 - 0.3 * moneyness) * (1 + 0.1 * np.exp(-days / 60))
        gamma = bs.gamma(spot, strike, years, iv)
        near = np.exp(-((moneyness / 0.15) ** 2))
        round_strike = (np.abs(strike % 5) < 1e-9).astype(float)
        oi = rng.poisson(50 + 3000 * near * (1 + round_strike)).astype(np.int64)
        n = strike.size
        # Some greeks missing, as Polygon sends for deep ITM contracts.
        missing = rng.random(n) < 0.03
        parts.append(
            pl.DataFrame(
                {
                    "symbol": [symbol] * n,
                    "contract_type": np.where(is_call, "call", "put"),
                    "expiration_date": [expiries[i] for i in exp_idx],
                    "strike_price": strike,
                    "open_interest": oi,
                    "implied_volatility": np.where(missing, np.nan, iv),
                    "gamma": np.where(missing, np.nan, gamma),
                }
            ).with_columns(pl.col("implied_volatility", "gamma").fill_nan(None))
        )
    body = pl.concat(parts)
    chains = body.with_columns(
        pl.lit(capture).alias("timestamp"),
        ("O:" + pl.col("symbol") + pl.int_range(pl.len()).cast(pl.String)).alias("ticker"),
        pl.lit(100).alias("shares_per_contract"),
    )
    schema = OPTIONS.polars_schema
    chains = chains.select(
        pl.col(c).cast(schema[c]) if c in chains.columns else pl.lit(None, dtype=schema[c]).alias(c)
        for c in OPTIONS.column_names
    )
    spot_frame = pl.DataFrame({"symbol": list(spots), "spot": list(spots.values())})
    return OPTIONS.conform(chains), spot_frame


def synthetic_history(symbols: list[str], sessions: list[dt.date], seed: int) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    n_sym, n_days = len(symbols), len(sessions)
    level = rng.uniform(0.15, 0.6, size=(n_sym, 1))
    walk = np.exp(np.cumsum(rng.normal(0, 0.03, size=(n_sym, n_days)), axis=1))
    iv = level * walk
    observed = rng.random((n_sym, n_days)) > 0.02  # ~2 % of days missing
    observed[:, -1] = True
    sym_idx, day_idx = np.nonzero(observed)
    return pl.DataFrame(
        {
            "symbol": [symbols[i] for i in sym_idx],
            "session_date": [sessions[j] for j in day_idx],
            "atm_iv": iv[sym_idx, day_idx],
        }
    )


def best_of(repeat: int, fn: Callable[[], Any]) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--symbols", type=int, default=712)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    start = time.perf_counter()
    chains, spots = synthetic_chains(args.symbols, args.seed)
    window = [s.date for s in nyse().sessions_before(SESSION, 252)]
    history = synthetic_history(spots.get_column("symbol").to_list(), window, args.seed)
    as_of = dt.datetime.combine(SESSION, dt.time(17, 30), tzinfo=NY)
    spy = chains.filter(pl.col("symbol") == "SPY").height
    print(
        f"data: {args.symbols} symbols, {chains.height:,} contracts (SPY {spy:,}), "
        f"{history.height:,} ATM IV history rows over {len(window)} sessions "
        f"(built in {time.perf_counter() - start:.1f} s)"
    )

    t_gex, gex = best_of(args.repeat, lambda: gex_summary(chains, spots, session_date=SESSION, as_of=as_of))
    t_atm, atm = best_of(args.repeat, lambda: atm_iv(chains, spots, session_date=SESSION, as_of=as_of))
    t_rank, rank = best_of(
        args.repeat,
        lambda: iv_rank(
            history, session_date=SESSION, window_sessions=window, as_of=as_of, min_observations=20
        ),
    )
    regimes = dict(gex.frame.group_by("gex_regime").len().iter_rows())
    crossings = gex.frame.filter(pl.col("zero_gamma_level") > 0).height
    print(
        f"gex_summary: {t_gex:6.3f} s  ({gex.frame.height} rows, {gex.contracts_used:,} contracts used, "
        f"regimes {regimes}, {crossings} with a zero-gamma level)"
    )
    print(f"atm_iv:      {t_atm:6.3f} s  ({atm.frame.height} rows, {len(atm.skipped)} skipped)")
    print(f"iv_rank:     {t_rank:6.3f} s  ({rank.frame.height} rows)")


if __name__ == "__main__":
    main()
