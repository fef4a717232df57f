"""Bounded HTTP: a total deadline (connect + every read) and a size cap on every outbound call.

httpx timeouts bound each socket operation, not a request: a server that sends its headers and then
one byte per second keeps a plain ``client.get(url, timeout=3)`` alive for as long as it likes. Every
client of the project (Polygon, Saxo, the dashboard, the doctor) therefore reads through this module:

- ``Deadline``: a monotonic budget started once and shared by every attempt, retry pause and read of
  one logical call; each socket operation is given at most what is left of it.
- ``get_bounded`` / ``send_bounded`` (sync) and ``aread_bounded`` (async): stream the body, stop
  when the deadline passes or when it grows past ``max_bytes``, and return a small ``Answer``.

Bounds and their limits: the body is bounded in total (checked after each chunk). Before the first
body byte (connect, request, headers) each socket operation is bounded by what remains of the
deadline; the async client additionally wraps the whole attempt in ``asyncio.timeout``.
"""

from __future__ import annotations

import math
import ssl
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson

# The shortest socket timeout handed to httpx: zero would mean "no timeout" to some layers.
_MIN_SOCKET_S = 0.001


class DeadlineExceeded(TimeoutError):
    """A call did not finish inside its total deadline; the message names what did not answer."""


class ResponseTooLarge(ValueError):
    """A response body exceeded its size cap; the message names the source and the cap."""


@dataclass
class Deadline:
    """``budget_s`` seconds from creation, on a monotonic clock (injectable for tests)."""

    budget_s: float
    clock: Callable[[], float] = time.monotonic
    started: float = field(init=False)

    def __post_init__(self) -> None:
        if not (self.budget_s > 0 and math.isfinite(self.budget_s)):
            raise ValueError(f"a deadline needs a positive finite number of seconds, got {self.budget_s!r}")
        self.started = self.clock()

    @classmethod
    def since(cls, started: float, budget_s: float, clock: Callable[[], float] = time.time) -> Deadline:
        """A budget that began at ``started`` on ``clock`` (e.g. a run's start, in epoch seconds)."""
        deadline = cls(budget_s, clock)
        deadline.started = started
        return deadline

    def remaining(self) -> float:
        return max(0.0, self.started + self.budget_s - self.clock())

    @property
    def expired(self) -> bool:
        return self.remaining() <= 0.0

    def elapsed(self) -> float:
        return self.clock() - self.started

    def check(self, what: str) -> None:
        """Raise ``DeadlineExceeded`` naming ``what`` once the budget is spent."""
        if self.expired:
            raise DeadlineExceeded(f"{what} did not answer within {self.budget_s:g} s")

    def socket_timeout(self, cap: float | None = None) -> float:
        """Seconds one socket operation may take: what is left, at most ``cap``."""
        left = self.remaining() if cap is None else min(cap, self.remaining())
        return max(left, _MIN_SOCKET_S)

    def httpx_timeout(self, cap: float | None = None) -> httpx.Timeout:
        return httpx.Timeout(self.socket_timeout(cap))


@dataclass(frozen=True)
class Answer:
    """A response read whole within its bounds: the parts the clients use."""

    status_code: int
    reason_phrase: str
    headers: httpx.Headers
    content: bytes

    @property
    def is_success(self) -> bool:
        return 200 <= self.status_code < 300

    def json(self) -> Any:
        """The body as JSON; ``ValueError`` if it is not JSON."""
        return orjson.loads(self.content)


def _declared_too_large(headers: httpx.Headers, max_bytes: int, what: str) -> None:
    declared = headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise ResponseTooLarge(f"{what} answered {int(declared)} bytes, over the {max_bytes}-byte cap")


def _collect(chunks: Iterator[bytes], deadline: Deadline, max_bytes: int, what: str) -> bytes:
    parts: list[bytes] = []
    size = 0
    for chunk in chunks:
        size += len(chunk)
        if size > max_bytes:
            raise ResponseTooLarge(f"{what} sent more than {max_bytes} bytes (the size cap)")
        parts.append(chunk)
        deadline.check(what)
    return b"".join(parts)


def read_bounded(response: httpx.Response, deadline: Deadline, max_bytes: int, what: str) -> bytes:
    """The (decoded) body of a streamed response, within ``deadline`` and ``max_bytes``."""
    _declared_too_large(response.headers, max_bytes, what)
    return _collect(response.iter_bytes(), deadline, max_bytes, what)


async def aread_bounded(response: httpx.Response, deadline: Deadline, max_bytes: int, what: str) -> bytes:
    """The async twin of ``read_bounded``."""
    _declared_too_large(response.headers, max_bytes, what)
    parts: list[bytes] = []
    size = 0
    chunks: AsyncIterator[bytes] = response.aiter_bytes()
    async for chunk in chunks:
        size += len(chunk)
        if size > max_bytes:
            raise ResponseTooLarge(f"{what} sent more than {max_bytes} bytes (the size cap)")
        parts.append(chunk)
        deadline.check(what)
    return b"".join(parts)


def send_bounded(
    client: httpx.Client,
    method: str,
    url: str | httpx.URL,
    *,
    deadline: Deadline,
    max_bytes: int,
    what: str,
    per_call_s: float | None = None,
    **kwargs: Any,
) -> Answer:
    """One request through ``client`` bounded by ``deadline`` (and ``per_call_s`` if smaller).

    Raises ``DeadlineExceeded`` (also when httpx's own socket timeout fires), ``ResponseTooLarge``, or
    the ``httpx.TransportError`` of a failed connection.
    """
    deadline.check(what)
    left = deadline.remaining()
    # The bound this call runs to, and the one a timeout names: the overall deadline, or the
    # per-call limit where that is shorter.
    shown = per_call_s if per_call_s and per_call_s < left else deadline.budget_s
    attempt = Deadline(max(min(per_call_s, left) if per_call_s else left, _MIN_SOCKET_S))
    try:
        with client.stream(method, url, timeout=attempt.httpx_timeout(), **kwargs) as response:
            body = read_bounded(response, attempt, max_bytes, what)
            return Answer(response.status_code, response.reason_phrase, response.headers, body)
    except (httpx.TimeoutException, DeadlineExceeded):
        raise DeadlineExceeded(f"{what} did not answer within {shown:g} s") from None


# What OpenSSL says when the other side answered the ClientHello with something that is not TLS.
_PLAIN_HTTP = ("WRONG_VERSION_NUMBER", "record layer failure", "HTTP_REQUEST", "packet length too long")


def tls_failure(exc: BaseException, url: str | httpx.URL) -> str | None:
    """One line when ``exc`` is a failed TLS handshake with ``url`` (None otherwise): a plain-HTTP
    server behind an ``https://`` URL, or a certificate that does not verify. Neither is cured by a
    retry, so the clients stop at once with this line instead of retrying a ``ConnectError``."""
    cause: BaseException | None = exc
    seen: set[int] = set()
    while cause is not None and id(cause) not in seen and not isinstance(cause, ssl.SSLError):
        seen.add(id(cause))
        cause = cause.__cause__ or cause.__context__
    if not isinstance(cause, ssl.SSLError):
        return None
    parsed = httpx.URL(str(url))
    shown = f"{parsed.scheme}://{parsed.host}{f':{parsed.port}' if parsed.port else ''}"
    text = str(cause)
    if any(mark in text for mark in _PLAIN_HTTP):
        return f"TLS handshake with {shown} failed: the server speaks plain HTTP, not HTTPS (check the URL)"
    reason = getattr(cause, "verify_message", None) or getattr(cause, "reason", None) or type(cause).__name__
    return f"TLS handshake with {shown} failed ({reason})"


def get_bounded(
    client: httpx.Client, url: str, *, deadline: Deadline, max_bytes: int, what: str, **kwargs: Any
) -> Answer:
    return send_bounded(client, "GET", url, deadline=deadline, max_bytes=max_bytes, what=what, **kwargs)
