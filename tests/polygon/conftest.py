from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.polygon.server import LoopbackServer, Reply, Request

# A key shaped like a real one, so a leak would be found by a plain substring search.
KEY = "pk_Test_9fQ2xL7vR4mZ8wK1sT6yB3nH"


@pytest.fixture
def serve() -> Iterator[Callable[..., LoopbackServer]]:
    """Start loopback servers for one test; all are stopped at its end."""
    servers: list[LoopbackServer] = []

    def start(handler: Callable[[Request], Reply], host: str = "127.0.0.1") -> LoopbackServer:
        server = LoopbackServer(handler, host)
        server.__enter__()
        servers.append(server)
        return server

    yield start
    for server in servers:
        if server.running:
            server.__exit__(None, None, None)
