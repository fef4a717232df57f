"""Synthetic option-chain pages in the real snapshot shape (fixture ``v3_snapshot_options_AAPL.json``).

Used by the parser tests and the parse benchmark. Realistic gaps: deep in-the-money contracts
without greeks/IV, untraded contracts with ``"day": {}`` and no ``last_trade``.
"""

from __future__ import annotations

import datetime as dt
import random

import orjson


def synthetic_contract(rng: random.Random, underlying: str, spot: float, i: int) -> dict:
    expiry = dt.date(2026, 1, 16) + dt.timedelta(days=7 * (i % 20))
    # (expiry, strike, type) is unique for every i: a real chain has no repeated contract ticker.
    strike = round(spot * (0.5 + (i // 20 % 50) / 50), 0) + 0.5 * (i // 1000)
    kind = "call" if i % 2 == 0 else "put"
    occ = f"O:{underlying}{expiry:%y%m%d}{kind[0].upper()}{int(strike * 1000):08d}"
    now_ns = 1_767_225_600_000_000_000 + rng.randrange(10**12)
    contract: dict = {
        "break_even_price": round(strike + rng.random() * 10, 4),
        "day": {
            "change": round(rng.uniform(-3, 3), 4),
            "change_percent": round(rng.uniform(-10, 10), 6),
            "close": round(rng.uniform(0.05, 50), 2),
            "high": round(rng.uniform(0.05, 50), 2),
            "last_updated": now_ns,
            "low": round(rng.uniform(0.05, 50), 2),
            "open": round(rng.uniform(0.05, 50), 2),
            "previous_close": round(rng.uniform(0.05, 50), 2),
            "volume": rng.randrange(1, 20_000),
            "vwap": round(rng.uniform(0.05, 50), 4),
        },
        "details": {
            "contract_type": kind,
            "exercise_style": "american",
            "expiration_date": expiry.isoformat(),
            "shares_per_contract": 100,
            "strike_price": strike if i % 3 else int(strike),
            "ticker": occ,
        },
        "greeks": {
            "delta": rng.uniform(-1, 1),
            "gamma": rng.uniform(0, 0.1),
            "theta": rng.uniform(-1, 0),
            "vega": rng.uniform(0, 1),
        },
        "implied_volatility": rng.uniform(0.1, 1.5),
        "last_quote": {
            "ask": round(rng.uniform(0.05, 50), 2),
            "ask_exchange": 301,
            "ask_size": rng.randrange(1, 500),
            "bid": round(rng.uniform(0.05, 50), 2),
            "bid_exchange": 302,
            "bid_size": rng.randrange(1, 500),
            "last_updated": now_ns,
            "midpoint": round(rng.uniform(0.05, 50), 3),
            "timeframe": "REAL-TIME",
        },
        "last_trade": {
            "conditions": [209],
            "exchange": 309,
            "price": round(rng.uniform(0.05, 50), 2),
            "sip_timestamp": now_ns,
            "size": rng.randrange(1, 50),
            "timeframe": "REAL-TIME",
        },
        "open_interest": rng.randrange(0, 100_000),
        "underlying_asset": {
            "change_to_break_even": rng.uniform(-5, 5),
            "last_updated": now_ns,
            "price": spot,
            "ticker": underlying,
            "timeframe": "REAL-TIME",
        },
    }
    r = rng.random()
    if r < 0.1:  # deep ITM: no greeks, no IV
        del contract["greeks"], contract["implied_volatility"]
    elif r < 0.35:  # not traded today
        contract["day"] = {}
        del contract["last_trade"]
    return contract


def synthetic_page(
    n: int = 250, *, underlying: str = "AAPL", seed: int = 0, start: int = 0, next_url: str | None = None
) -> bytes:
    """One snapshot page body of ``n`` contracts (deterministic for a seed)."""
    rng = random.Random(seed)
    body: dict = {
        "request_id": f"{seed:032x}",
        "results": [synthetic_contract(rng, underlying, 187.25, start + i) for i in range(n)],
        "status": "OK",
    }
    if next_url:
        body["next_url"] = next_url
    return orjson.dumps(body)
