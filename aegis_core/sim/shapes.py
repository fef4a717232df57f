"""Polygon's JSON shapes for the simulated market's values (see fixtures/polygon/).

Only this module knows field names and nesting. Timestamps are integer nanoseconds (``*_ns``,
``last_updated``, ``sip_timestamp``) or integer milliseconds (bar ``t``), never floats.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from aegis_core.calendar import NY
from aegis_core.sim.chain import TRADE_CONDITIONS, OptionChain
from aegis_core.sim.market import Bar

_REAL_TIME = "REAL-TIME"


def aggregates_body(ticker: str, bars: list[Bar], request_id: str, adjusted: bool) -> dict[str, Any]:
    """``/v2/aggs/ticker/{T}/range/1/day/{from}/{to}``; no ``results`` key when there are none."""
    body: dict[str, Any] = {
        "ticker": ticker,
        "queryCount": len(bars),
        "resultsCount": len(bars),
        "adjusted": adjusted,
    }
    if bars:
        body["results"] = [b.polygon() for b in bars]
    body["status"] = "OK"
    body["request_id"] = request_id
    if bars:
        body["count"] = len(bars)
    return body


def grouped_body(bars: dict[str, Bar], request_id: str, adjusted: bool) -> dict[str, Any]:
    """``/v2/aggs/grouped/locale/us/market/stocks/{date}``: one bar per ticker, ``T`` the ticker."""
    body: dict[str, Any] = {"queryCount": len(bars), "resultsCount": len(bars), "adjusted": adjusted}
    if bars:
        body["results"] = [{"T": symbol, **bar.polygon()} for symbol, bar in bars.items()]
    body["status"] = "OK"
    body["request_id"] = request_id
    if bars:
        body["count"] = len(bars)
    return body


def error_body(status: str, request_id: str, message: str, *, key: str = "message") -> dict[str, Any]:
    """Polygon's error body, e.g. ``{"status":"NOT_AUTHORIZED","request_id":…,"message":…}``."""
    return {"status": status, "request_id": request_id, key: message}


def _day_midnight_ns(day: dt.date) -> int:
    return int(dt.datetime.combine(day, dt.time(0, 0), tzinfo=NY).timestamp()) * 1_000_000_000


def option_records(chain: OptionChain, start: int, stop: int) -> list[dict[str, Any]]:
    """``/v3/snapshot/options/{underlying}`` results for contracts ``start:stop`` of ``chain``."""
    c = {name: col[start:stop].tolist() for name, col in chain.columns.items()}
    day_updated = _day_midnight_ns(chain.session_date)
    symbol, price, underlying_ns = chain.symbol, chain.underlying_price, chain.underlying_ns
    conditions = [list(codes) for codes in TRADE_CONDITIONS]
    rows = zip(
        c["break_even_price"], c["traded"], c["day_change"], c["day_change_percent"], c["day_close"],
        c["day_high"], c["day_low"], c["day_open"], c["day_previous_close"], c["day_volume"], c["day_vwap"],
        c["contract_type"], c["expiration_date"], c["strike_price"], c["ticker"],
        c["has_greeks"], c["empty_greeks"], c["delta"], c["gamma"], c["theta"], c["vega"],
        c["has_iv"], c["implied_volatility"],
        c["ask"], c["ask_size"], c["bid"], c["bid_size"], c["quote_ns"], c["midpoint"],
        c["trade_ns"], c["trade_size"], c["trade_condition"], c["trade_exchange"],
        c["open_interest"], c["change_to_break_even"],
        strict=True,
    )  # fmt: skip
    out: list[dict[str, Any]] = []
    append = out.append
    for (
        break_even, traded, change, change_pct, close, high, low, open_, prev_close, volume, vwap,
        contract_type, expiration, strike, ticker,
        has_greeks, empty_greeks, delta, gamma, theta, vega, has_iv, iv,
        ask, ask_size, bid, bid_size, quote_ns, midpoint,
        trade_ns, trade_size, condition, exchange,
        open_interest, to_break_even,
    ) in rows:  # fmt: skip
        record: dict[str, Any] = {"break_even_price": break_even}
        record["day"] = (
            {
                "change": change,
                "change_percent": change_pct,
                "close": close,
                "high": high,
                "last_updated": day_updated,
                "low": low,
                "open": open_,
                "previous_close": prev_close,
                "volume": volume,
                "vwap": vwap,
            }
            if traded
            else {}
        )
        record["details"] = {
            "contract_type": contract_type,
            "exercise_style": "american",
            "expiration_date": expiration,
            "shares_per_contract": 100,
            "strike_price": strike,
            "ticker": ticker,
        }
        if has_greeks:
            record["greeks"] = {"delta": delta, "gamma": gamma, "theta": theta, "vega": vega}
        elif empty_greeks:
            record["greeks"] = {}
        if has_iv:
            record["implied_volatility"] = iv
        record["last_quote"] = {
            "ask": ask,
            "ask_size": ask_size,
            "bid": bid,
            "bid_size": bid_size,
            "last_updated": quote_ns,
            "midpoint": midpoint,
            "timeframe": _REAL_TIME,
        }
        if traded:
            record["last_trade"] = {
                "price": close,
                "sip_timestamp": trade_ns,
                "size": trade_size,
                "conditions": conditions[condition],
                "exchange": exchange,
                "timeframe": _REAL_TIME,
            }
        record["open_interest"] = open_interest
        record["underlying_asset"] = {
            "change_to_break_even": to_break_even,
            "last_updated": underlying_ns,
            "price": price,
            "ticker": symbol,
            "timeframe": _REAL_TIME,
        }
        append(record)
    return out
