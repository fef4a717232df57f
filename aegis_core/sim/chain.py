"""Columnar generation of one option chain at one moment (numpy only; no per-contract Python).

Pricing convention (also what the greeks mean): Black–Scholes with r = q = 0 on the underlying
price, time to expiry ``T = max(expiry close − moment, 1 hour) / 365 days`` (the expiry close is
that session's close in New York; the 1-hour floor keeps 0DTE contracts priceable after the bell),
``theta`` per calendar day, ``vega`` per 1 volatility point (0.01), ``delta`` and ``gamma`` per $1
of the underlying. With r = q = 0 an American option is worth its European price, so these are
consistent with ``exercise_style: american``.

Contracts come in OCC ticker order: by expiry, calls before puts, strikes ascending.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from aegis_core.calendar import NY, Session
from aegis_core.sim.expiries import Expiry
from aegis_core.sim.seeding import rng
from aegis_core.sim.universe import SymbolProfile

YEAR_SECONDS = 365.0 * 86_400.0
MIN_T_SECONDS = 3_600.0
STRIKE_STEPS = (0.5, 1.0, 2.5, 5.0, 10.0, 25.0, 50.0, 100.0)
_INV_SQRT_2PI = 1.0 / np.sqrt(2.0 * np.pi)
# OPRA participant ids, as Polygon reports them in ``last_trade.exchange``.
OPTION_EXCHANGES = np.array([300, 301, 302, 303, 304, 307, 308, 309, 312, 313, 315, 316, 319, 322, 323, 325])
# A few OPRA trade-condition codes (209: regular electronic, 227/228: auction, 232: multi-leg).
TRADE_CONDITIONS = ((209,), (209,), (209,), (227,), (232,), (209, 228))
KIND_OI = {"daily": 0.5, "weekly": 1.0, "monthly": 2.2, "quarterly": 2.0, "leaps": 1.4}
KIND_STRIKES = {"daily": 0.8, "weekly": 1.0, "monthly": 1.3, "quarterly": 1.1, "leaps": 1.0}


@dataclass(frozen=True)
class ChainInputs:
    profile: SymbolProfile
    seed: int
    moment: dt.datetime  # aware
    spot: float  # underlying price at the moment
    reference: float  # close of the last session before the moment's date: strikes are listed around it
    listing_vol: float  # volatility level the day's listing (strike range, open interest) assumes
    vol_level: float  # ATM implied volatility level at the moment
    session: Session  # the session whose day bar the contracts report
    session_fraction: float  # 0..1: how much of that session has elapsed at the moment
    expiries: tuple[Expiry, ...]


@dataclass(frozen=True, eq=False)
class OptionChain:
    """One underlying's chain at one moment; ``columns`` hold one numpy array per field.

    Missing values: ``implied_volatility`` and the greeks are NaN where the contract does not
    report them (``has_iv`` / ``has_greeks`` false); ``traded`` false means no trade today (no day
    bar, no last trade).
    """

    symbol: str
    moment: dt.datetime
    session_date: dt.date  # the session the day bars belong to
    underlying_price: float
    underlying_ns: int
    columns: dict[str, np.ndarray]

    def __len__(self) -> int:
        return len(self.columns["strike_price"])


def black_scholes(
    spot: float, strike: np.ndarray, t_years: np.ndarray, vol: np.ndarray, is_call: np.ndarray
) -> dict[str, np.ndarray]:
    """Price and greeks with r = q = 0 (theta per calendar day, vega per vol point)."""
    from scipy.special import ndtr  # imported on first use: scipy is slow to import

    sqrt_t = np.sqrt(t_years)
    sd = vol * sqrt_t
    d1 = (np.log(spot / strike) + 0.5 * sd * sd) / sd
    d2 = d1 - sd
    pdf = _INV_SQRT_2PI * np.exp(-0.5 * d1 * d1)
    call = spot * ndtr(d1) - strike * ndtr(d2)
    put = call - spot + strike  # put–call parity with r = q = 0
    return {
        "price": np.where(is_call, call, put),
        "delta": np.where(is_call, ndtr(d1), ndtr(d1) - 1.0),
        "gamma": pdf / (spot * sd),
        "theta": -spot * pdf * vol / (2.0 * sqrt_t) / 365.0,
        "vega": spot * pdf * sqrt_t / 100.0,
    }


def _strike_step(ideal: float, minimum: float) -> float:
    for step in STRIKE_STEPS:
        if step >= max(ideal * 0.8, minimum):
            return step
    return STRIKE_STEPS[-1]


def _min_step(profile: SymbolProfile, price: float) -> float:
    if profile.penny_strikes or price < 25:
        return 0.5 if price < 25 else 1.0
    return 1.0 if price < 200 else 2.5


def _is_multiple(x: np.ndarray, step: float) -> np.ndarray:
    q = x / step
    return np.abs(q - np.round(q)) < 1e-6


def _ns(moment: dt.datetime) -> int:
    return round(moment.timestamp() * 1e6) * 1000


def _floor_tick(x: np.ndarray, tick: np.ndarray) -> np.ndarray:
    return np.round(np.floor(x / tick + 1e-9) * tick, 2)


def _ceil_tick(x: np.ndarray, tick: np.ndarray) -> np.ndarray:
    return np.round(np.ceil(x / tick - 1e-9) * tick, 2)


def build_chain(inp: ChainInputs) -> OptionChain:
    p, moment, spot = inp.profile, inp.moment, inp.spot
    exps = inp.expiries
    today = moment.astimezone(NY).date()
    # Draws that define the day's listing and trading come from a stream of the date, so every
    # snapshot of one day shows the same contracts and open interest.
    g = rng(inp.seed, "chain", p.symbol, today.isoformat())
    g_now = rng(inp.seed, "quotes", p.symbol, moment.isoformat())

    # Per expiry: time, ATM vol (term structure), strike grid.
    # In UTC: two New York datetimes subtract as wall-clock times, an hour off across a DST change.
    at = moment.astimezone(dt.UTC)
    t_exp = np.array(
        [max((e.close.astimezone(dt.UTC) - at).total_seconds(), MIN_T_SECONDS) / YEAR_SECONDS for e in exps]
    )
    stress = inp.vol_level / p.volatility - 1.0  # > 0 when vol is bid: short end inverts
    atm_exp = inp.vol_level * (1.0 + 0.35 * stress * np.exp(-t_exp / 0.25)) * (1.0 + 0.02 * np.log1p(t_exp))
    weights = np.array([KIND_STRIKES[e.kind] for e in exps])
    per_side = np.maximum(4, np.round(p.target_contracts / 2.0 * weights / weights.sum())).astype(int)
    # Listing (strikes, open interest) depends on the day, not the minute: stable intraday.
    t_list = np.array([max((e.date - today).days, 1) for e in exps]) / 365.0
    ref = inp.reference
    min_step = _min_step(p, ref)
    strikes_l, exp_l = [], []
    for j, n in enumerate(per_side):
        half_width = np.clip(4.0 * inp.listing_vol * np.sqrt(max(t_list[j], 5 / 365)), 0.06, 0.85)
        step = _strike_step(2.0 * half_width * ref / n, min_step)
        centre = np.round(ref / step) * step
        below = min(n // 2, int(centre / step + 0.5) - 1)  # never list a strike at or below zero
        k = np.round(centre + step * (np.arange(n) - below), 3)
        strikes_l.append(k)
        exp_l.append(np.full(k.size, j))
    # Calls then puts within each expiry (OCC ticker order).
    strike = np.concatenate([np.concatenate((k, k)) for k in strikes_l])
    exp_idx = np.concatenate([np.concatenate((e, e)) for e in exp_l])
    is_call = np.concatenate([np.arange(2 * k.size) < k.size for k in strikes_l])
    n = strike.size
    t = t_exp[exp_idx]
    atm = atm_exp[exp_idx]
    kind_oi = np.array([KIND_OI[e.kind] for e in exps])[exp_idx]

    # Volatility smile in standard deviations of log-moneyness, plus fitting noise.
    z = np.clip(np.log(strike / spot) / (atm * np.sqrt(np.maximum(t, 2 / 365))), -6.0, 6.0)
    iv = atm * (1.0 + p.skew * z + p.smile * z * z)
    iv = np.maximum(iv, np.maximum(0.4 * atm, 0.04)) * (1.0 + 0.004 * g.standard_normal(n))
    bs = black_scholes(spot, strike, t, iv, is_call)
    theo = bs["price"]
    delta = bs["delta"]

    # Deep in the money some contracts report no greeks, and some of those no IV either.
    deep = np.abs(delta) > 0.985
    u = g.random(n)
    has_greeks = ~(deep & (u < 0.2))
    has_iv = ~(deep & (u < 0.07))

    # Open interest: near the money, on round strikes, on monthlies; puts below spot, calls above.
    tl = t_list[exp_idx]
    z_list = np.log(strike / ref) / (inp.listing_vol * np.sqrt(np.maximum(tl, 2 / 365)))
    moneyness_w = np.exp(-0.5 * (z_list / 1.3) ** 2) + 0.02
    round_w = np.where(
        _is_multiple(strike, 10 * min_step), 3.0, np.where(_is_multiple(strike, 5 * min_step), 1.8, 1.0)
    )
    side_w = np.where(is_call == (strike >= ref), 1.3, 0.8)
    oi_mean = p.base_open_interest * moneyness_w * round_w * side_w * kind_oi * (0.55 + 0.45 * np.exp(-tl))
    open_interest = np.floor(oi_mean * np.exp(0.6 * g.standard_normal(n) - 0.18)).astype(np.int64)
    open_interest[g.random(n) < 0.03] = 0  # freshly listed or fully closed out

    # Quotes around the theoretical price.
    penny = p.penny_strikes | (theo < 3.0)
    tick = np.where(penny, 0.01, 0.05)
    half = np.maximum(tick / 2, theo * p.spread * (1.0 + 0.25 * np.abs(z)) / 2 + 0.005)
    bid = np.maximum(_floor_tick(theo - half, tick), 0.0)
    ask = np.maximum(_ceil_tick(theo + half, tick), bid + tick)
    ask = np.round(ask, 2)
    mid = np.round((bid + ask) / 2, 4)
    bid_size = np.ceil(g.pareto(1.5, n) * 20 * p.liquidity + 1).astype(np.int64)
    ask_size = np.ceil(g.pareto(1.5, n) * 20 * p.liquidity + 1).astype(np.int64)
    bid_size, ask_size = np.minimum(bid_size, 5000), np.minimum(ask_size, 5000)

    # Today's trading: likelier near the money, on liquid names, and as the session goes on.
    session = inp.session
    frac = inp.session_fraction
    p_trade = np.clip((0.04 + 0.92 * np.exp(-0.5 * (z / 1.2) ** 2)) * p.liquidity, 0, 0.97) * np.sqrt(frac)
    traded = g.random(n) < p_trade
    turnover = g.uniform(0.02, 0.35, n) * np.exp(0.5 * g.standard_normal(n))
    volume = np.floor((1 + open_interest * turnover) * frac)
    volume = np.maximum(volume, 1).astype(np.int64)
    close_px = np.maximum(np.round(theo * (1 + 0.03 * g.standard_normal(n)), 2), 0.01)
    prev_close = np.maximum(np.round(theo * np.exp(0.15 * g.standard_normal(n)), 2), 0.01)
    open_px = np.maximum(np.round(prev_close * np.exp(0.10 * g.standard_normal(n)), 2), 0.01)
    high = np.round(np.maximum(open_px, close_px) * (1 + np.abs(0.05 * g.standard_normal(n))), 2)
    low = np.round(np.minimum(open_px, close_px) * (1 - np.abs(0.05 * g.standard_normal(n))), 2)
    low = np.maximum(low, 0.01)
    vwap = np.round(low + (high - low) * g.uniform(0.2, 0.8, n), 4)
    change = np.round(close_px - prev_close, 4)
    change_pct = np.round(change / prev_close * 100.0, 4)
    # Trade and quote times (integer nanoseconds), never after the moment or the session close.
    last_seen = min(moment, session.close)
    span_s = max((last_seen.astimezone(dt.UTC) - session.open.astimezone(dt.UTC)).total_seconds(), 1.0)
    last_seen_ns = _ns(last_seen)
    trade_ns = last_seen_ns - (g.random(n) ** 3 * span_s * 1e9).astype(np.int64)
    quote_ns = last_seen_ns - (g_now.random(n) * min(span_s, 60.0) * 1e9).astype(np.int64)
    trade_size = np.minimum(volume, np.ceil(g.pareto(1.2, n) * 2).astype(np.int64) + 1)
    exchange = OPTION_EXCHANGES[g.integers(0, OPTION_EXCHANGES.size, n)]
    condition = g.integers(0, len(TRADE_CONDITIONS), n)

    # Identity: OCC tickers, e.g. O:SPY251121C00600000.
    exp_codes = np.array([e.date.strftime("%y%m%d") for e in exps])[exp_idx]
    exp_dates = np.array([e.date.isoformat() for e in exps])[exp_idx]
    strike_codes = np.char.zfill(np.round(strike * 1000).astype(np.int64).astype("U8"), 8)
    ticker = np.char.add(np.char.add(f"O:{p.occ_root}", exp_codes), np.where(is_call, "C", "P"))
    ticker = np.char.add(ticker, strike_codes)
    break_even = np.round(np.where(is_call, strike + mid, strike - mid), 4)

    nan = np.nan
    cols = {
        "ticker": ticker,
        "contract_type": np.where(is_call, "call", "put"),
        "expiration_date": exp_dates,
        "strike_price": strike,
        "open_interest": open_interest,
        "implied_volatility": np.where(has_iv, iv, nan),
        "delta": np.where(has_greeks, delta, nan),
        "gamma": np.where(has_greeks, bs["gamma"], nan),
        "theta": np.where(has_greeks, bs["theta"], nan),
        "vega": np.where(has_greeks, bs["vega"], nan),
        "has_iv": has_iv,
        "has_greeks": has_greeks,
        # Half of the contracts without greeks send "greeks": {} rather than no key at all.
        "empty_greeks": ~has_greeks & (u < 0.1),
        "traded": traded,
        "day_open": open_px,
        "day_high": high,
        "day_low": low,
        "day_close": close_px,
        "day_volume": volume,
        "day_vwap": vwap,
        "day_change": change,
        "day_change_percent": change_pct,
        "day_previous_close": prev_close,
        "bid": bid,
        "ask": ask,
        "midpoint": mid,
        "bid_size": bid_size,
        "ask_size": ask_size,
        "quote_ns": quote_ns,
        "trade_ns": trade_ns,
        "trade_size": trade_size,
        "trade_exchange": exchange,
        "trade_condition": condition,
        "break_even_price": break_even,
        "change_to_break_even": np.round(break_even - spot, 4),
        "theoretical_price": theo,
    }
    return OptionChain(p.symbol, moment, session.date, spot, _ns(min(moment, session.close)), cols)
