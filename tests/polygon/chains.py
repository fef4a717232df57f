"""A scripted option-chain source for the client tests: N pages per symbol with absolute next_url."""

from __future__ import annotations

import zlib

from tests.polygon.server import Reply, Request, json_reply
from tests.polygon.synthetic import synthetic_page


class ChainScript:
    """Answers ``/v3/snapshot/options/{symbol}`` (behind an optional path prefix) with
    ``pages[symbol]`` pages of ``per_page`` contracts; page k>0 is asked for with ``cursor=k``."""

    def __init__(self, pages: dict[str, int], per_page: int = 5, prefix: str = "") -> None:
        self.pages = pages
        self.per_page = per_page
        self.prefix = prefix

    def symbol_of(self, request: Request) -> str:
        return request.path.removeprefix(self.prefix).removeprefix("/v3/snapshot/options/")

    def next_url(self, request: Request, symbol: str, cursor: str) -> str:
        return f"http://{request.headers['host']}{self.prefix}/v3/snapshot/options/{symbol}?cursor={cursor}"

    def __call__(self, request: Request) -> Reply:
        symbol = self.symbol_of(request)
        if symbol not in self.pages:
            return json_reply({"status": "NOT_FOUND", "message": f"no chain for {symbol}"}, 404)
        index = int(request.query.get("cursor", "0"))
        last = index + 1 >= self.pages[symbol]
        next_url = None if last else self.next_url(request, symbol, str(index + 1))
        body = synthetic_page(
            self.per_page,
            underlying=symbol,
            seed=zlib.crc32(symbol.encode()) + index,
            start=index * self.per_page,
            next_url=next_url,
        )
        return Reply(body=body)
