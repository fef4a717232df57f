"""Independent slow pure-Python re-derivation of a gex_summary row (contract §6), contract by contract.

It shares nothing with ``aegis_core.analytics`` except the parameter values: its own Black-Scholes
gamma (``math``), its own time to expiry (the expiration day's close from pandas-market-calendars, in
UTC), its own grid and crossing loop.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from collections.abc import Iterable, Mapping
from typing import Any
from zoneinfo import ZoneInfo

NEW_YORK = ZoneInfo("America/New_York")


def norm_cdf(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def bs_d1(s: float, k: float, t: float, vol: float, r: float, q: float) -> float:
    return (math.log(s / k) + (r - q + 0.5 * vol * vol) * t) / (vol * math.sqrt(t))


def bs_gamma(s: float, k: float, t: float, vol: float, r: float = 0.0, q: float = 0.0) -> float:
    d1 = bs_d1(s, k, t, vol, r, q)
    return math.exp(-q * t) * math.exp(-0.5 * d1 * d1) / math.sqrt(2.0 * math.pi) / (s * vol * math.sqrt(t))


def bs_call_delta(s: float, k: float, t: float, vol: float, r: float = 0.0, q: float = 0.0) -> float:
    return math.exp(-q * t) * norm_cdf(bs_d1(s, k, t, vol, r, q))


@functools.cache
def exchange_close(expiry: dt.date) -> dt.datetime:
    """The NYSE close of ``expiry`` from pandas-market-calendars (13:00 on an early close), 16:00 New York
    where it has no session that day."""
    import pandas_market_calendars as mcal

    schedule = mcal.get_calendar("NYSE").schedule(expiry.isoformat(), expiry.isoformat())
    if schedule.empty:
        return dt.datetime(expiry.year, expiry.month, expiry.day, 16, 0, tzinfo=NEW_YORK)
    return schedule["market_close"].iloc[0].to_pydatetime().astimezone(dt.UTC)


def years_to_expiry(expiry: dt.date, capture: dt.datetime, floor_days: float) -> float:
    close = exchange_close(expiry).astimezone(dt.UTC)
    return max((close - capture.astimezone(dt.UTC)).total_seconds() / (365 * 86400), floor_days / 365)


def reference_row(
    rows: Iterable[Mapping[str, Any]],
    spot: float,
    session_date: dt.date,
    *,
    call_sign: float = 1.0,
    put_sign: float = -1.0,
    grid_low: float = 0.8,
    grid_high: float = 1.2,
    grid_points: int = 81,
    rate: float = 0.0,
    dividend: float = 0.0,
    floor_days: float = 1.0 / 24.0,
    default_shares: int = 100,
) -> dict[str, Any]:
    contributing = []
    for row in rows:
        gamma, oi = row["gamma"], row["open_interest"]
        if row["expiration_date"] < session_date or row["contract_type"] not in ("call", "put"):
            continue
        if gamma is None or not math.isfinite(gamma) or oi is None or oi <= 0:
            continue
        sign = call_sign if row["contract_type"] == "call" else put_sign
        shares = row["shares_per_contract"] if row["shares_per_contract"] is not None else default_shares
        contributing.append((row, sign, shares, sign * gamma * oi * shares * spot * spot * 0.01))

    net = sum(g for *_, g in contributing)
    gross = sum(abs(g) for *_, g in contributing)
    per_strike: dict[tuple[str, float], float] = {}
    for row, _, _, g in contributing:
        key = (row["contract_type"], row["strike_price"])
        per_strike[key] = per_strike.get(key, 0.0) + g

    def wall(kind: str) -> float:
        best: tuple[float, float] | None = None
        for (k, strike), total in sorted(per_strike.items()):
            if k == kind and (best is None or abs(total) > best[1]):
                best = (strike, abs(total))
        return best[0] if best else 0.0

    spots = [spot * (grid_low + (grid_high - grid_low) * i / (grid_points - 1)) for i in range(grid_points)]
    profile = []
    for s in spots:
        total = 0.0
        for row, sign, shares, _ in contributing:
            vol = row["implied_volatility"]
            if vol is None or not math.isfinite(vol) or vol <= 0:
                continue
            t = years_to_expiry(row["expiration_date"], row["timestamp"], floor_days)
            gamma = bs_gamma(s, row["strike_price"], t, vol, rate, dividend)
            total += sign * gamma * row["open_interest"] * shares * s * s * 0.01
        profile.append(total)
    level = 0.0
    for i in range(grid_points - 1):
        if profile[i] * profile[i + 1] < 0:
            level = spots[i] + (spots[i + 1] - spots[i]) * profile[i] / (profile[i] - profile[i + 1])
            break
    regime = "positive" if net > 0 else "negative" if net < 0 else "neutral"
    return {
        "net_gex": net,
        "abs_gex": gross,
        "gamma_wall": wall("call"),
        "put_wall": wall("put"),
        "zero_gamma_level": level,
        "gex_regime": regime,
        "profile": profile,
    }
