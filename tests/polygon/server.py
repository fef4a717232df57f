"""A scripted loopback HTTP/1.1 server for the Polygon client tests.

It speaks raw HTTP over asyncio streams on its own thread, so a test can make it misbehave the
way real servers and proxies do: stall, cut a body short, drop the connection, loop a cursor.
Each request is recorded (method, target, headers, arrival time) and answered by a handler the
test supplies: ``handler(request) -> Reply``.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

import orjson


@dataclass(frozen=True)
class Request:
    method: str
    target: str  # path and query, exactly as the client sent it
    headers: dict[str, str]  # lower-case names
    at: float  # time.monotonic() on arrival

    @property
    def path(self) -> str:
        return urlsplit(self.target).path

    @property
    def query(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(urlsplit(self.target).query).items()}


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0  # stall before answering
    truncate_at: int | None = None  # announce the full length, send this many bytes, hang up
    drop: bool = False  # hang up without answering


def json_reply(doc: object, status: int = 200, **headers: str) -> Reply:
    return Reply(status=status, body=orjson.dumps(doc), headers=dict(headers))


NOT_AUTHORIZED = {
    "status": "NOT_AUTHORIZED",
    "request_id": "6d6d4d5a1f6b4e2f",
    "message": "Unknown API Key",
}

_REASONS = {200: "OK", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 429: "Too Many Requests"}


class LoopbackServer:
    def __init__(self, handler: Callable[[Request], Reply], host: str = "127.0.0.1") -> None:
        self.handler = handler
        self.host = host
        self.port = 0
        self.requests: list[Request] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self._conns: set[asyncio.Task] = set()

    @property
    def running(self) -> bool:
        return not self._loop.is_closed()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def __enter__(self) -> LoopbackServer:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(5)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()

    async def _start(self) -> None:
        self._server = await asyncio.start_server(self._accept, self.host, 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _stop(self) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._conns):
            task.cancel()
        await asyncio.gather(*self._conns, return_exceptions=True)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._conns.add(task)
        try:
            await self._serve(reader, writer)
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            self._conns.discard(task)
            writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:  # keep-alive: one request after another on the same connection
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
            line, *header_lines = head.split("\r\n")
            method, target, _ = line.split(" ", 2)
            headers = {}
            for h in header_lines:
                if ":" in h:
                    name, value = h.split(":", 1)
                    headers[name.strip().lower()] = value.strip()
            request = Request(method, target, headers, time.monotonic())
            self.requests.append(request)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            try:
                reply = self.handler(request)
                if reply.delay_s:
                    await asyncio.sleep(reply.delay_s)
            finally:
                self.in_flight -= 1
            if reply.drop:
                return
            out = {"Content-Type": "application/json", "Content-Length": str(len(reply.body))}
            out.update(reply.headers)
            status_line = f"HTTP/1.1 {reply.status} {_REASONS.get(reply.status, 'Status')}\r\n"
            writer.write((status_line + "".join(f"{k}: {v}\r\n" for k, v in out.items()) + "\r\n").encode())
            if reply.truncate_at is not None:
                writer.write(reply.body[: reply.truncate_at])
                await writer.drain()
                return
            writer.write(reply.body)
            await writer.drain()
