"""What the benchmark's performance fixes must not change (see the issue note for the figures).

- The client's connection pool (one httpx client per connection) still bounds requests in flight and
  reuses its keep-alive connections.
- The archive converts a chain frame to Arrow once and writes zero-copy slices per symbol: every
  symbol still gets exactly its own rows in their order, even when the frame interleaves symbols.
"""

import asyncio
import datetime as dt

import polars as pl
import pytest

from aegis_core.archive.lake import Lake
from aegis_core.archive.schemas import OPTIONS
from aegis_core.archive.store import Archive
from aegis_core.calendar import nyse
from aegis_core.polygon import PolygonClient
from aegis_core.sim import SimMarket, SimServer, sim_base_url
from tests.conftest import SMALL_UNIVERSE

KEY = "pk-perf-test-0123456789"
SESSION = dt.date(2026, 11, 20)


@pytest.fixture(scope="module")
def server():
    with SimServer(SimMarket(7, SMALL_UNIVERSE), api_key=KEY) as srv:
        yield srv


def test_pool_bounds_concurrency_and_reuses_connections(server):
    close = nyse().session(SESSION).close
    base = sim_base_url(server.url, close)
    symbols = list(SMALL_UNIVERSE)  # 5 pages in all (AAXJ 2, BDRY 1, CORN 2)

    async def fetch():
        async with PolygonClient(base, KEY, max_concurrency=2, max_requests_per_second=0) as client:
            return await client.option_chains(symbols, close)

    before = server.stats.connections
    batch = asyncio.run(fetch())
    assert not batch.failures and batch.stats.pages == 5
    assert server.stats.connections - before <= 2  # keep-alive: at most one connection per slot


def test_files_per_symbol_keep_their_own_rows_in_order_when_symbols_interleave(tmp_path):
    at = dt.datetime(2026, 11, 20, 21, tzinfo=dt.UTC)
    symbols = ["SPY", "AAPL", "SPY", "QQQ", "AAPL", "SPY"]
    frame = pl.DataFrame(
        {
            "timestamp": [at] * len(symbols),
            "symbol": symbols,
            "ticker": [f"O:{s}261218C{100 + i:05d}000" for i, s in enumerate(symbols)],
            "contract_type": ["call"] * len(symbols),
            "expiration_date": [dt.date(2026, 12, 18)] * len(symbols),
            "strike_price": [100.0 + i for i in range(len(symbols))],
        }
    )
    frame = frame.with_columns(pl.lit(None).alias(c) for c in OPTIONS.column_names if c not in frame.columns)
    archive = Archive(tmp_path / "archive", Lake(str(tmp_path / "lake")), "sim")
    report = archive.write_options(frame, SESSION)
    assert [p.parts[-4] for p in report.files] == ["SPY", "AAPL", "QQQ"]  # first-appearance order
    for path in report.files:
        symbol = path.parts[-4]
        written = pl.read_parquet(path)
        assert written["ticker"].to_list() == frame.filter(pl.col("symbol") == symbol)["ticker"].to_list()
    assert report.rows == len(symbols)
    assert archive.lake.read_sessions("options", SESSION, SESSION).height == len(symbols)
