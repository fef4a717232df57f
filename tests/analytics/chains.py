"""Small OPTIONS-contract frames for the analytics tests, built from a few fields per contract."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

import polars as pl

from aegis_core.archive.schemas import OPTIONS
from aegis_core.calendar import NY

SESSION = dt.date(2026, 11, 20)  # a Friday, standard time in New York
CAPTURE = dt.datetime(2026, 11, 20, 17, 15, tzinfo=NY)  # the end-of-day capture, after the close
AS_OF = dt.datetime(2026, 11, 20, 17, 30, tzinfo=NY)


def contract(
    symbol: str = "AAA",
    kind: str = "call",
    strike: float = 100.0,
    days: int = 30,
    *,
    gamma: float | None = 0.02,
    oi: int | None = 1000,
    iv: float | None = 0.25,
    shares: int | None = 100,
    session: dt.date = SESSION,
    capture: dt.datetime = CAPTURE,
) -> dict[str, Any]:
    expiry = session + dt.timedelta(days=days)
    return {
        "timestamp": capture.astimezone(dt.UTC),
        "symbol": symbol,
        "ticker": f"O:{symbol}{expiry:%y%m%d}{kind[0].upper()}{round(strike * 1000):08d}",
        "contract_type": kind,
        "expiration_date": expiry,
        "strike_price": strike,
        "shares_per_contract": shares,
        "open_interest": oi,
        "implied_volatility": iv,
        "gamma": gamma,
    }


def chain_frame(rows: Iterable[Mapping[str, Any]]) -> pl.DataFrame:
    """An OPTIONS frame: the given fields, every other column null (never invented)."""
    rows = list(rows)
    schema = OPTIONS.polars_schema
    columns = {name: [row.get(name) for row in rows] for name in OPTIONS.column_names}
    return OPTIONS.conform(pl.DataFrame(columns, schema=schema))


def spots_frame(spots: Mapping[str, float | None]) -> pl.DataFrame:
    return pl.DataFrame(
        {"symbol": list(spots), "spot": list(spots.values())},
        schema={"symbol": pl.String, "spot": pl.Float64},
    )
