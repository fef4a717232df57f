"""The fetch-and-parse floor: how fast chains can be had at all, for the benchmark to compare with.

Concurrent GETs of every page of the given symbols, with the client's worker-pool shape, connection
pool and concurrency, decoding each page with the client's parser on a worker thread, and nothing else:
no rate ceiling, no retries, no frame building, no validation. The gap between this and
``PolygonClient.option_chains`` is what the client's own work costs.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import httpx
from pydantic import SecretStr

from aegis_core.polygon.batch import run_batch
from aegis_core.polygon.client import PAGE_LIMIT
from aegis_core.polygon.errors import PolygonError
from aegis_core.polygon.parse import ResponseShapeError, read_chain_page
from aegis_core.polygon.pool import ConnectionPool
from aegis_core.polygon.urls import origin, path_segment


@dataclass
class FloorResult:
    symbols: int = 0
    pages: int = 0
    contracts: int = 0
    bytes_received: int = 0
    elapsed_s: float = 0.0
    failures: dict[str, str] = field(default_factory=dict)

    @property
    def contracts_per_s(self) -> float:
        return self.contracts / self.elapsed_s if self.elapsed_s else 0.0

    @property
    def pages_per_s(self) -> float:
        return self.pages / self.elapsed_s if self.elapsed_s else 0.0


async def fetch_and_parse_floor(
    base_url: str,
    api_key: str | SecretStr,
    symbols: list[str],
    *,
    max_concurrency: int = 16,
    timeout_s: float = 30.0,
    max_pages_per_symbol: int = 400,
    transport: httpx.AsyncBaseTransport | None = None,
) -> FloorResult:
    """Fetch and decode every chain page of ``symbols``; a failing symbol lands in ``failures``."""
    key = api_key.get_secret_value() if isinstance(api_key, SecretStr) else api_key
    base = httpx.URL(base_url)
    base_str = str(base).rstrip("/")
    result = FloorResult(symbols=len(symbols))
    headers = {"Authorization": f"Bearer {key}", "Accept": "application/json"}
    pool = ConnectionPool(max_concurrency, timeout_s=timeout_s, headers=headers, transport=transport)
    try:

        async def one(symbol: str) -> None:
            endpoint = f"/v3/snapshot/options/{path_segment(symbol)}"
            url = httpx.URL(f"{base_str}{endpoint}?limit={PAGE_LIMIT}")
            for _ in range(max_pages_per_symbol):
                if origin(url) != origin(base):
                    raise PolygonError(f"{symbol}: next_url leaves the configured origin", symbol=symbol)
                try:
                    async with pool.client() as http:
                        response = await http.get(url)
                    response.raise_for_status()
                    page = await asyncio.to_thread(read_chain_page, response.content)
                except (httpx.HTTPError, ResponseShapeError) as exc:
                    what = (
                        f"HTTP {exc.response.status_code}"
                        if isinstance(exc, httpx.HTTPStatusError)
                        else type(exc).__name__
                    )
                    failure = f"{symbol}: {what} at {endpoint} (the floor never retries)"
                    raise PolygonError(failure, symbol=symbol) from None
                result.pages += 1
                result.contracts += page.count
                result.bytes_received += response.num_bytes_downloaded
                if not page.next_url:
                    return
                url = base.join(page.next_url)
            raise PolygonError(f"{symbol}: more than {max_pages_per_symbol} pages", symbol=symbol)

        started = time.perf_counter()
        _, result.failures = await run_batch(symbols, one, concurrency=max_concurrency)
        result.elapsed_s = time.perf_counter() - started
    finally:
        await pool.aclose()
    return result
