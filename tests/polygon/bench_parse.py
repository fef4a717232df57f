"""Parse-only throughput of the chain decoders (not a test; run by hand).

    uv run python -m tests.polygon.bench_parse [pages] [pages_per_symbol] [repeats]

Bodies: 250 realistic synthetic contracts per page (the fixture's shape, ~940 bytes a contract,
10% without greeks, 25% untraded). 50 distinct pages are cycled to reach ``pages`` (default 2000);
the best of ``repeats`` (default 2) runs is reported.
Candidates:
  A  orjson.loads + one list comprehension per field, Series from lists at the end
  B  pl.read_json with a fixed schema (the one the client uses), explode/unnest per symbol
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import orjson
import polars as pl

from aegis_core.archive.schemas import OPTIONS
from aegis_core.polygon.parse import chain_frame, read_chain_page
from tests.polygon.synthetic import synthetic_page

CAPTURED = dt.datetime(2026, 1, 2, 21, 5, tzinfo=dt.UTC)
_E: dict = {}


def _orjson_columns(body: bytes) -> dict[str, list]:
    res = orjson.loads(body)["results"]
    det = [r.get("details") or _E for r in res]
    gr = [r.get("greeks") or _E for r in res]
    day = [r.get("day") or _E for r in res]
    q = [r.get("last_quote") or _E for r in res]
    return {
        **{k: [d.get(k) for d in det] for k in ("ticker", "contract_type", "expiration_date")},
        **{k: [d.get(k) for d in det] for k in ("strike_price", "shares_per_contract", "exercise_style")},
        "open_interest": [r.get("open_interest") for r in res],
        "implied_volatility": [r.get("implied_volatility") for r in res],
        **{k: [g.get(k) for g in gr] for k in ("delta", "gamma", "theta", "vega")},
        **{f"day_{k}": [d.get(k) for d in day] for k in ("open", "high", "low", "close", "volume", "vwap")},
        **{k: [x.get(k) for x in q] for k in ("bid", "ask", "bid_size", "ask_size")},
        "last_price": [(r.get("last_trade") or _E).get("price") for r in res],
        "underlying_price": [(r.get("underlying_asset") or _E).get("price") for r in res],
        "break_even_price": [r.get("break_even_price") for r in res],
    }


def orjson_chain(bodies: list[bytes]) -> pl.DataFrame:
    cols: dict[str, list] = {}
    for body in bodies:
        for k, v in _orjson_columns(body).items():
            cols.setdefault(k, []).extend(v)
    schema = OPTIONS.polars_schema
    series = [
        pl.Series(k, v, dtype=pl.String if k == "expiration_date" else schema[k]) for k, v in cols.items()
    ]
    return pl.DataFrame(series).select(
        pl.lit(CAPTURED).dt.cast_time_unit("us").alias("timestamp"),
        pl.lit("AAPL").alias("symbol"),
        pl.all().exclude("expiration_date"),
        pl.col("expiration_date").str.to_date(),
    )


def polars_chain(bodies: list[bytes]) -> pl.DataFrame:
    return chain_frame([read_chain_page(b) for b in bodies], "AAPL", CAPTURED)[0]


def rate(label: str, contracts: int, seconds: float) -> None:
    print(f"{label:58s} {contracts / seconds:>12,.0f} contracts/s  ({seconds:.2f} s)")


def timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def main() -> None:
    pages = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    per_symbol = int(sys.argv[2]) if len(sys.argv) > 2 else 4
    repeats = int(sys.argv[3]) if len(sys.argv) > 3 else 2
    distinct = [synthetic_page(250, seed=s, start=250 * s) for s in range(50)]
    bodies = [distinct[i % len(distinct)] for i in range(pages)]
    contracts = 250 * pages
    mb = sum(map(len, bodies)) / 1e6
    print(
        f"{pages} pages x 250 contracts = {contracts:,} contracts, {mb:,.0f} MB of JSON;",
        f"{per_symbol} pages/symbol",
    )
    groups = [bodies[i : i + per_symbol] for i in range(0, pages, per_symbol)]

    def each(fn, items) -> None:  # results are dropped at once, as the client drops pages
        for item in items:
            fn(item)

    candidates = [
        ("orjson.loads only (lower bound of A)", lambda: each(orjson.loads, bodies)),
        ("A orjson + comprehensions -> OPTIONS frame", lambda: each(orjson_chain, groups)),
        ("B pl.read_json(schema) only (read_chain_page)", lambda: each(read_chain_page, bodies)),
        ("B read_chain_page + chain_frame -> OPTIONS frame", lambda: each(polars_chain, groups)),
    ]
    for label, fn in candidates:
        best = min(timed(fn) for _ in range(repeats))
        rate(label, contracts, best)

    def two_threads() -> None:
        with ThreadPoolExecutor(2) as pool:
            for _ in pool.map(polars_chain, groups):
                pass

    best = min(timed(two_threads) for _ in range(repeats))
    rate("B -> OPTIONS frame, 2 threads (decoder releases the GIL)", contracts, best)
    a, b = orjson_chain(groups[0]), polars_chain(groups[0])
    assert a.select(b.columns).cast(b.schema).equals(b), "A and B disagree"


if __name__ == "__main__":
    main()
