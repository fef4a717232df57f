"""A pool of single-connection HTTP clients: the concurrency bound and the connection pool in one.

httpx's own connection pool (httpcore) scans every connection for each request and asks each idle
one whether its socket is still usable (a ``getpeername`` and a ``poll`` apiece). With 32 keep-alive
connections that scan cost more CPU than decoding the page itself: the end-of-day fetch of 712
chains was bound by it, not by the network or the parser. Here each connection has its own httpx
client; a request borrows an idle one from a LIFO queue (the most recently used connection, still
warm), touches only that connection, and the queue bounds the requests in flight.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import httpx


class ConnectionPool:
    """``size`` connections, each in its own ``httpx.AsyncClient``. Create it inside the event loop.

    With an injected ``transport`` (tests, custom networking) one client shares it and the pool only
    bounds concurrency.
    """

    def __init__(
        self,
        size: int,
        *,
        timeout_s: float,
        headers: Mapping[str, str] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if size < 1:
            raise ValueError(f"pool size must be >= 1, got {size}")
        timeout = httpx.Timeout(timeout_s)
        fixed = dict(headers or {})

        def make(**kwargs: Any) -> httpx.AsyncClient:
            # Never follow redirects: the key must not travel to another address.
            return httpx.AsyncClient(timeout=timeout, follow_redirects=False, headers=fixed, **kwargs)

        if transport is not None:
            shared = make(transport=transport)
            self._clients = [shared]
            borrowable = [shared] * size
        else:
            ssl_context = httpx.create_ssl_context()  # once: loading the CA bundle takes ~50 ms
            one = httpx.Limits(max_connections=1, max_keepalive_connections=1)
            self._clients = [make(verify=ssl_context, limits=one) for _ in range(size)]
            borrowable = self._clients
        self.size = size
        self._idle: asyncio.LifoQueue[httpx.AsyncClient] = asyncio.LifoQueue()
        for client in borrowable:
            self._idle.put_nowait(client)

    @asynccontextmanager
    async def client(self) -> AsyncIterator[httpx.AsyncClient]:
        """An idle client for one request; waits while all ``size`` are busy."""
        http = await self._idle.get()
        try:
            yield http
        finally:
            self._idle.put_nowait(http)

    async def aclose(self) -> None:
        for client in self._clients:
            await client.aclose()
