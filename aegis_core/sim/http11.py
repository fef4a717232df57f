"""Just enough HTTP/1.1 on asyncio streams for a JSON API: keep-alive, Content-Length, HEAD.

Faster and lighter than ``http.server`` threads when one client holds dozens of keep-alive
connections and pulls hundreds of megabytes of JSON.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from http import HTTPStatus

MAX_HEAD = 64 * 1024


class BadRequest(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Request:
    method: str
    target: str  # path and query as sent
    version: str
    headers: dict[str, str]  # lower-case names

    @property
    def keep_alive(self) -> bool:
        connection = self.headers.get("connection", "").lower()
        if self.version == "HTTP/1.0":
            return "keep-alive" in connection
        return "close" not in connection


@dataclass
class Response:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    # Fault knobs: hold the response this long first; send only this many body bytes, then close.
    delay_s: float = 0.0
    truncate_to: int | None = None

    def head(self, keep_alive: bool) -> bytes:
        try:
            reason = HTTPStatus(self.status).phrase
        except ValueError:
            reason = "Unknown"
        lines = [f"HTTP/1.1 {self.status} {reason}", "Content-Type: application/json"]
        lines.append(f"Content-Length: {len(self.body)}")
        lines.extend(f"{k}: {v}" for k, v in self.headers.items())
        lines.append("Connection: keep-alive" if keep_alive else "Connection: close")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


async def read_request(reader: asyncio.StreamReader) -> Request | None:
    """The next request on the connection; None when the client closed it cleanly."""
    try:
        raw = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if exc.partial.strip():
            raise BadRequest(400, "incomplete request head") from None
        return None
    except asyncio.LimitOverrunError:
        raise BadRequest(431, f"request head larger than {MAX_HEAD} bytes") from None
    lines = raw.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise BadRequest(400, f"malformed request line {lines[0][:100]!r}")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep:
            raise BadRequest(400, f"malformed header line {line[:100]!r}")
        headers[name.strip().lower()] = value.strip()
    length = headers.get("content-length")
    if length:  # GET bodies are meaningless here, but must be consumed to keep the stream in sync
        try:
            await reader.readexactly(int(length))
        except (ValueError, asyncio.IncompleteReadError):
            raise BadRequest(400, f"bad request body (Content-Length {length!r})") from None
    return Request(parts[0].upper(), parts[1], parts[2], headers)


async def write_response(
    writer: asyncio.StreamWriter, response: Response, keep_alive: bool, head_only: bool
) -> int:
    """Send ``response``; return the bytes written. Closes the connection after a truncation."""
    head = response.head(keep_alive)
    if head_only:
        writer.write(head)
        await writer.drain()
        return len(head)
    body = response.body if response.truncate_to is None else response.body[: response.truncate_to]
    writer.write(head + body)
    await writer.drain()
    return len(head) + len(body)
