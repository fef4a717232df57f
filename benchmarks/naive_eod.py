"""A deliberately naive end-of-day options archiver, kept only as the benchmark's point of comparison.

It does what the old Python daemon did, one symbol after another: GET a page, ``json.loads`` it, copy
every contract into a Python dict, follow ``next_url``, then build a frame from the dicts and write one
parquet file per symbol. One request in flight at a time, so its wall time is about
``requests × (latency + server time + parse time)``. No retries, no rate ceiling, no lake: it is the
floor of what a sequential design can do, not a usable archiver.

    uv run python benchmarks/naive_eod.py --url http://127.0.0.1:PORT --key-var VAR [--symbols 712]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx
import polars as pl

from aegis_core.archive import layout
from aegis_core.archive.schemas import OPTIONS


@dataclass
class NaiveResult:
    symbols: int = 0
    requests: int = 0
    contracts: int = 0
    files: int = 0
    bytes_received: int = 0
    wall_s: float = 0.0


def _contract_row(c: dict, symbol: str, captured_at: dt.datetime) -> dict:
    details = c.get("details") or {}
    greeks = c.get("greeks") or {}
    day = c.get("day") or {}
    quote = c.get("last_quote") or {}
    expiry = details.get("expiration_date")
    return {
        "timestamp": captured_at,
        "symbol": symbol,
        "ticker": details.get("ticker"),
        "contract_type": details.get("contract_type"),
        "expiration_date": dt.date.fromisoformat(expiry) if expiry else None,
        "strike_price": details.get("strike_price"),
        "shares_per_contract": details.get("shares_per_contract"),
        "exercise_style": details.get("exercise_style"),
        "open_interest": c.get("open_interest"),
        "implied_volatility": c.get("implied_volatility"),
        "delta": greeks.get("delta"),
        "gamma": greeks.get("gamma"),
        "theta": greeks.get("theta"),
        "vega": greeks.get("vega"),
        "day_open": day.get("open"),
        "day_high": day.get("high"),
        "day_low": day.get("low"),
        "day_close": day.get("close"),
        "day_volume": day.get("volume"),
        "day_vwap": day.get("vwap"),
        "bid": quote.get("bid"),
        "ask": quote.get("ask"),
        "bid_size": quote.get("bid_size"),
        "ask_size": quote.get("ask_size"),
        "last_price": (c.get("last_trade") or {}).get("price"),
        "underlying_price": (c.get("underlying_asset") or {}).get("price"),
        "break_even_price": c.get("break_even_price"),
    }


def naive_eod(
    base_url: str, api_key: str, symbols: list[str], captured_at: dt.datetime, out_root: Path
) -> NaiveResult:
    """Fetch, parse and write every chain of ``symbols``, sequentially. ``base_url`` may carry a prefix."""
    result = NaiveResult(symbols=len(symbols))
    session = captured_at.date()
    started = time.perf_counter()
    headers = {"Authorization": f"Bearer {api_key}"}
    with httpx.Client(headers=headers, timeout=60) as http:
        for symbol in symbols:
            rows = []
            url: str | None = f"{base_url.rstrip('/')}/v3/snapshot/options/{symbol}?limit=250"
            while url:
                response = http.get(url)
                response.raise_for_status()
                result.requests += 1
                result.bytes_received += len(response.content)
                doc = json.loads(response.content)
                rows.extend(_contract_row(c, symbol, captured_at) for c in doc.get("results", []))
                url = doc.get("next_url")
            frame = pl.from_dicts(rows, schema=OPTIONS.polars_schema) if rows else None
            if frame is not None:
                path = layout.options_file(out_root, symbol, session)
                path.parent.mkdir(parents=True, exist_ok=True)
                frame.write_parquet(path, compression="zstd")
                result.files += 1
                result.contracts += frame.height
    result.wall_s = time.perf_counter() - started
    return result


def main() -> None:
    from common import session_close

    from aegis_core.sim import default_universe, sim_base_url

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="the running simulated server")
    parser.add_argument("--key-var", required=True, help="environment variable holding its key")
    parser.add_argument("--symbols", type=int, default=712)
    parser.add_argument("--session", default="2026-11-20")
    parser.add_argument("--out", type=Path, default=Path("/tmp/aegis-naive-eod"))
    args = parser.parse_args()
    close = session_close(args.session)
    result = naive_eod(
        sim_base_url(args.url, close),
        os.environ[args.key_var],
        list(default_universe()[: args.symbols]),
        close,
        args.out,
    )
    print(json.dumps(asdict(result)))


if __name__ == "__main__":
    main()
