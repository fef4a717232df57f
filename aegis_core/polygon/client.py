"""The async REST client of Polygon (now Massive), contract §3.

- Auth only by the ``Authorization: Bearer`` header, sent only to the configured origin; the key
  is a ``SecretStr`` and never enters a URL, a repr, an exception or a log line.
- Every request passes a concurrency bound (a pool of ``max_concurrency`` connections, see
  ``pool.py``) and a requests-per-second ceiling (token bucket), both shared by all calls of one client.
- 429, 5xx, timeouts, dropped connections and cut bodies are retried with backoff and jitter,
  honouring ``Retry-After``. 401/403 are never retried: the first one trips the client, so every
  other request of the run fails at once instead of repeating it 712 times.
- Chain pages are decoded on a worker thread (the decoder releases the GIL) while the event loop
  keeps downloading.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
import urllib.parse
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple, TypeVar

import httpx
import orjson
import polars as pl
from pydantic import SecretStr

from aegis_core.base.clock import Clock
from aegis_core.base.endpoint_url import EndpointURLError, check_endpoint_url
from aegis_core.base.http_deadline import (
    Deadline,
    DeadlineExceeded,
    ResponseTooLarge,
    aread_bounded,
    tls_failure,
)
from aegis_core.base.retry import Backoff, parse_retry_after, past_deadline
from aegis_core.polygon.batch import ProgressCallback, run_batch
from aegis_core.polygon.errors import (
    PolygonAuthError,
    PolygonCaptureWindowError,
    PolygonDeadlineError,
    PolygonError,
    PolygonHTTPError,
    PolygonNoDataError,
    PolygonPaginationError,
    PolygonResponseError,
    PolygonRetryError,
)
from aegis_core.polygon.parse import (
    ChainPage,
    ResponseShapeError,
    TruncatedJSONError,
    chain_frame,
    read_bars,
    read_chain_page,
    stocks_frame,
    vix_frame,
)
from aegis_core.polygon.pool import ConnectionPool
from aegis_core.polygon.ratelimit import TokenBucket
from aegis_core.polygon.results import ChainsResult, StocksResult
from aegis_core.polygon.retry import retry_reason_for_exception, retry_reason_for_status
from aegis_core.polygon.stats import RequestStats
from aegis_core.polygon.urls import origin, path_segment

T = TypeVar("T")
log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.massive.com"
PAGE_LIMIT = 250  # the snapshot endpoint's maximum
# SPY, the largest chain, is ~13,000 contracts = ~52 pages; far beyond that something loops.
MAX_PAGES_PER_SYMBOL = 400
# A full page of 250 contracts is ~0.3 MB and the grouped daily bars of the whole market ~3 MB.
MAX_RESPONSE_BYTES = 64 * 1024 * 1024
_AUTH_STATUSES = (401, 403)
_HEADERS = {"Accept": "application/json", "User-Agent": "aegis-pipelines"}
_FATAL = "fatal"


class PolygonClient:
    """Async client of the Polygon REST endpoints the archive needs. Use as ``async with``."""

    def __init__(
        self,
        base_url: str,
        api_key: str | SecretStr,
        *,
        max_concurrency: int = 16,
        max_requests_per_second: float = 50.0,
        timeout_s: float = 30.0,
        max_retries: int = 6,
        backoff_base_s: float = 0.5,
        backoff_max_s: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
        max_pages_per_symbol: int = MAX_PAGES_PER_SYMBOL,
        budget_s: float | Deadline | None = None,
        max_response_bytes: int = MAX_RESPONSE_BYTES,
    ) -> None:
        """``base_url`` may carry a path prefix (kept: endpoint paths are joined onto it).
        ``max_requests_per_second`` <= 0 lifts the ceiling. ``timeout_s`` bounds each attempt as a
        whole (connect, wait and body). ``budget_s`` bounds everything the client does (every
        request, retry and pause) from its creation, or from a given ``Deadline``'s start (a run's):
        past it each request fails by name at once.
        ``max_response_bytes`` caps one body. ``transport`` replaces httpx's network transport.
        Create the client inside the event loop that uses it."""
        try:
            base = httpx.URL(base_url)
        except (httpx.InvalidURL, TypeError, ValueError):
            raise ValueError("base_url is not a valid URL") from None  # not echoed: it might hold a key
        if base.userinfo or base.query or base.fragment:
            # The key travels in a header only; a URL with credentials or a query is refused unread.
            raise ValueError("base_url must not carry credentials, a query or a fragment")
        try:
            # https, or plain http on loopback only (the simulated market, a local relay).
            check_endpoint_url(base_url, "base_url")
        except EndpointURLError as exc:
            raise ValueError(str(exc)) from None
        key = api_key if isinstance(api_key, SecretStr) else SecretStr(api_key)
        if not key.get_secret_value().strip():
            raise ValueError("api_key is empty")
        if max_concurrency < 1:
            raise ValueError(f"max_concurrency must be >= 1, got {max_concurrency}")
        if max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, got {max_retries}")
        if max_pages_per_symbol < 1:
            raise ValueError(f"max_pages_per_symbol must be >= 1, got {max_pages_per_symbol}")

        self.base_url = str(base).rstrip("/")
        self._origin = origin(base)
        self._key = key
        self.max_concurrency = max_concurrency
        self.max_requests_per_second = max_requests_per_second
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self.max_pages_per_symbol = max_pages_per_symbol
        self.max_response_bytes = max_response_bytes
        self._budget = Deadline(budget_s) if isinstance(budget_s, int | float) else budget_s
        self.budget_s = self._budget.budget_s if self._budget is not None else None
        self._backoff = Backoff(backoff_base_s, backoff_max_s)
        self._base = httpx.URL(self.base_url)
        self._bucket = TokenBucket(max_requests_per_second)
        self._auth_failure: PolygonAuthError | None = None
        self.stats = RequestStats()  # everything this client did, across calls
        # The pool is also the concurrency bound; it never follows redirects (the key must not travel).
        self._pool = ConnectionPool(
            max_concurrency, timeout_s=timeout_s, headers=_HEADERS, transport=transport
        )

    def __repr__(self) -> str:
        return (
            f"PolygonClient(base_url={self.base_url!r}, max_concurrency={self.max_concurrency}, "
            f"max_requests_per_second={self.max_requests_per_second}, timeout_s={self.timeout_s}, "
            f"max_retries={self.max_retries})"
        )

    async def __aenter__(self) -> PolygonClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._pool.aclose()

    # --- endpoints -----------------------------------------------------------------------------

    async def vix(self, day: dt.date) -> pl.DataFrame:
        """The VIX daily bar of ``day`` in the ``VIX`` contract; ``PolygonNoDataError`` if none."""
        endpoint = f"/v2/aggs/ticker/I:VIX/range/1/day/{day}/{day}"
        stats = RequestStats()
        try:
            frame = await self._get(
                self._url(endpoint),
                endpoint=endpoint,
                symbol="VIX",
                stats=stats,
                decode=lambda body: vix_frame(read_bars(body), day),
            )
        finally:
            self.stats.add(stats)
        if frame.is_empty():
            raise PolygonNoDataError(f"VIX: no bar for {day} at {endpoint}", symbol="VIX", endpoint=endpoint)
        return frame

    async def stocks(
        self, day: dt.date, universe: Iterable[str], *, on_progress: ProgressCallback | None = None
    ) -> StocksResult:
        """Daily bars of ``universe`` for ``day``: one grouped request for the whole market, then
        per-ticker requests only for the symbols it lacks. Symbols without any bar are ``missing``.
        ``on_progress`` reports the per-ticker fallback. A failing grouped request is raised: without
        it every symbol would need its own request, and a re-run is the better remedy."""
        started = time.perf_counter()
        symbols = list(dict.fromkeys(universe))
        stats = RequestStats()
        try:
            grouped = f"/v2/aggs/grouped/locale/us/market/stocks/{day}"
            frame = await self._get(
                self._url(grouped, adjusted="true"),
                endpoint=grouped,
                symbol=None,
                stats=stats,
                decode=lambda body: stocks_frame(read_bars(body), day, universe=symbols),
            )
            have = set(frame.get_column("symbol").to_list())
            lacking = [s for s in symbols if s not in have]
            if lacking:
                log.info(
                    "grouped bars of %s lack %d of %d symbols; asking per ticker",
                    day,
                    len(lacking),
                    len(symbols),
                )

            async def one(symbol: str) -> pl.DataFrame:
                endpoint = f"/v2/aggs/ticker/{path_segment(symbol)}/range/1/day/{day}/{day}"
                return await self._get(
                    self._url(endpoint, adjusted="true"),
                    endpoint=endpoint,
                    symbol=symbol,
                    stats=stats,
                    decode=lambda body: stocks_frame(read_bars(body), day, symbol=symbol),
                )

            fallback, failures = await run_batch(
                lacking,
                one,
                concurrency=self.max_concurrency,
                fatal=(PolygonAuthError,),
                on_progress=on_progress,
            )
        finally:
            self.stats.add(stats)
        found = [f for f in fallback.values() if not f.is_empty()]
        order = {s: i for i, s in enumerate(symbols)}
        combined = pl.concat([frame, *found]) if found else frame
        combined = combined.sort(pl.col("symbol").replace_strict(order, return_dtype=pl.Int64()))
        return StocksResult(
            frame=combined,
            missing=[s for s, f in fallback.items() if f.is_empty()],
            failures=failures,
            stats=stats,
            elapsed_s=time.perf_counter() - started,
        )

    async def option_chain(
        self, symbol: str, captured_at: dt.datetime, window: CaptureWindow | None = None
    ) -> pl.DataFrame:
        """The whole chain snapshot of one underlying in the ``OPTIONS`` contract, all pages followed.
        ``captured_at`` (timezone-aware) becomes the ``timestamp`` column; with ``window``, the whole
        fetch must end inside it (see ``CaptureWindow``)."""
        _require_aware(captured_at)
        stats = RequestStats()
        try:
            return await self._chain(symbol, captured_at, stats, window)
        finally:
            self.stats.add(stats)

    async def option_chains(
        self,
        symbols: Iterable[str],
        captured_at: dt.datetime,
        on_progress: ProgressCallback | None = None,
        on_chain: Callable[[str, pl.DataFrame], None] | None = None,
        window: CaptureWindow | None = None,
    ) -> ChainsResult:
        """Chains of many underlyings, ``max_concurrency`` at a time. Every symbol ends up either in
        ``sizes`` (and ``frames``) or in ``failures``; a ``PolygonAuthError`` cancels the rest and is
        raised. ``on_progress(done, total, symbol)`` is called as each symbol finishes, either way.
        With ``on_chain(symbol, frame)``, each chain is handed over as it arrives instead of being kept
        in ``frames``: the caller writes it and memory never holds the whole batch. With ``window``, a
        chain whose fetch does not end inside the capture window fails by name (``CaptureWindow``)."""
        _require_aware(captured_at)
        started = time.perf_counter()
        stats = RequestStats()
        sizes: dict[str, int] = {}

        def arrived(symbol: str, frame: pl.DataFrame) -> None:
            sizes[symbol] = frame.height
            if on_chain is not None:
                on_chain(symbol, frame)

        try:
            frames, failures = await run_batch(
                symbols,
                lambda symbol: self._chain(symbol, captured_at, stats, window),
                concurrency=self.max_concurrency,
                fatal=(PolygonAuthError,),
                on_progress=on_progress,
                on_result=arrived if on_chain is not None else None,
            )
        finally:
            self.stats.add(stats)
        if on_chain is None:
            sizes = {s: f.height for s, f in frames.items()}
        ordered = {s: sizes[s] for s in dict.fromkeys(symbols) if s in sizes}
        return ChainsResult(frames, failures, stats, time.perf_counter() - started, ordered)

    # --- pagination ------------------------------------------------------------------------------

    async def _chain(
        self, symbol: str, captured_at: dt.datetime, stats: RequestStats, window: CaptureWindow | None = None
    ) -> pl.DataFrame:
        endpoint = f"/v3/snapshot/options/{path_segment(symbol)}"
        url = self._url(endpoint, limit=str(PAGE_LIMIT))
        pages: list[ChainPage] = []
        cursors: set[str] = set()
        while True:
            if window is not None:  # no request for a page past the window
                window.check(symbol, endpoint, pages=len(pages))
            page = await self._get(
                url, endpoint=endpoint, symbol=symbol, stats=stats, decode=read_chain_page, offload=True
            )
            pages.append(page)
            stats.pages += 1
            if not page.next_url:
                break
            url = self._next_url(page.next_url, endpoint=endpoint, symbol=symbol)
            cursor = url.params.get("cursor") or str(url)
            if cursor in cursors:
                raise PolygonPaginationError(
                    f"next_url repeats a cursor after page {len(pages)} (upstream pagination loop)",
                    symbol=symbol,
                    endpoint=endpoint,
                )
            cursors.add(cursor)
            if len(pages) >= self.max_pages_per_symbol:
                raise PolygonPaginationError(
                    f"more than {self.max_pages_per_symbol} pages (max_pages_per_symbol)",
                    symbol=symbol,
                    endpoint=endpoint,
                )
        if window is not None:  # the last page must have arrived inside the window too
            window.check(symbol, endpoint, pages=len(pages))
        try:
            frame, rejected = await asyncio.to_thread(chain_frame, pages, symbol, captured_at)
        except ResponseShapeError as exc:
            raise PolygonResponseError(str(exc), symbol=symbol, endpoint=endpoint) from None
        stats.contracts += frame.height
        if rejected:
            stats.reject(symbol, rejected)
            log.warning("%s: rejected %d contracts at the door: %s", symbol, sum(rejected.values()), rejected)
        return frame

    def _url(self, path: str, **params: str) -> httpx.URL:
        """``path`` joined onto the base URL, keeping the base's own path prefix."""
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        return httpx.URL(f"{self.base_url}{path}{query}")

    def _next_url(self, next_url: str, *, endpoint: str, symbol: str) -> httpx.URL:
        try:
            url = self._base.join(next_url)
        except (httpx.InvalidURL, ValueError):
            raise PolygonResponseError("next_url is not a URL", symbol=symbol, endpoint=endpoint) from None
        if origin(url) != self._origin:
            raise PolygonPaginationError(
                f"next_url points to {url.scheme}://{url.netloc.decode()}, not the configured origin; "
                "refusing to send the API key there",
                symbol=symbol,
                endpoint=endpoint,
            )
        return url

    # --- one request with retries ------------------------------------------------------------------

    async def _get(
        self,
        url: httpx.URL,
        *,
        endpoint: str,
        symbol: str | None,
        stats: RequestStats,
        decode: Callable[[bytes], T],
        offload: bool = False,
    ) -> T:
        """GET ``url`` and decode the body; retry what is worth retrying; raise a ``PolygonError``."""
        if origin(url) != self._origin:  # belt and braces: the key goes to the configured origin only
            raise PolygonPaginationError(
                "refusing to send the API key to another origin", symbol=symbol, endpoint=endpoint
            )
        attempts = self.max_retries + 1
        last = ""
        for attempt in range(attempts):
            self._check_budget(last, symbol=symbol, endpoint=endpoint)
            status, body, retry_after, failure, detail = await self._attempt(url, stats)
            if failure == _FATAL:
                who = f"{symbol}: " if symbol else ""
                raise PolygonError(
                    f"{who}request to {endpoint} failed: {detail}", symbol=symbol, endpoint=endpoint
                )
            if failure is not None:
                reason, last = failure, f"{failure} ({detail})"
            elif 200 <= status < 300:
                try:
                    return await asyncio.to_thread(decode, body) if offload else decode(body)
                except TruncatedJSONError as exc:
                    reason, last = "invalid_json", f"invalid_json ({self._scrub(str(exc))})"
                except ResponseShapeError as exc:
                    raise PolygonResponseError(
                        self._scrub(str(exc)), symbol=symbol, endpoint=endpoint
                    ) from None
            else:
                message = self._error_message(body)
                if status in _AUTH_STATUSES:
                    error = PolygonAuthError(status, message, symbol=symbol, endpoint=endpoint)
                    self._auth_failure = error
                    log.error("%s", error)
                    raise error
                retryable = retry_reason_for_status(status)
                if retryable is None:
                    raise PolygonHTTPError(status, message, symbol=symbol, endpoint=endpoint)
                reason, last = retryable, f"HTTP {status}: {message}"
            if attempt + 1 == attempts:
                break
            stats.retries[reason] += 1
            delay = self._backoff.delay(attempt, retry_after)
            if self._budget is not None and past_deadline(delay, self._budget):
                raise PolygonDeadlineError(self._budget.budget_s, last, symbol=symbol, endpoint=endpoint)
            log.info(
                "retrying %s%s in %.2fs after %s (retry %d of %d)",
                f"{symbol} " if symbol else "",
                endpoint,
                delay,
                last,
                attempt + 1,
                self.max_retries,
            )
            await asyncio.sleep(delay)
        raise PolygonRetryError(attempts, last, symbol=symbol, endpoint=endpoint)

    def _check_budget(self, last: str, *, symbol: str | None, endpoint: str) -> None:
        if self._budget is not None and self._budget.expired:
            raise PolygonDeadlineError(self._budget.budget_s, last, symbol=symbol, endpoint=endpoint)

    async def _attempt(self, url: httpx.URL, stats: RequestStats) -> _Outcome:
        """One request inside the concurrency bound and the rate ceiling; never retries itself."""
        if self._auth_failure is not None:
            raise self._auth_failure
        async with self._pool.client() as http:
            if self._auth_failure is not None:  # tripped while this request waited for a slot
                raise self._auth_failure
            stats.rate_limited_s += await self._bucket.acquire()
            stats.requests += 1
            reading_body = False
            limit = self.timeout_s if self._budget is None else min(self.timeout_s, self._budget.remaining())
            attempt = Deadline(max(limit, 0.001))
            try:
                async with asyncio.timeout(attempt.budget_s):
                    async with http.stream("GET", url, headers=self._auth_header()) as response:
                        reading_body = True
                        body = await aread_bounded(response, attempt, self.max_response_bytes, url.path)
                        stats.bytes_received += response.num_bytes_downloaded
            except ResponseTooLarge as exc:
                return _Outcome(failure=_FATAL, detail=str(exc))
            except DeadlineExceeded:
                return _Outcome(failure="timeout", detail="TimeoutError")
            except (httpx.HTTPError, TimeoutError) as exc:
                tls = tls_failure(exc, url)  # plain HTTP behind https://: no retry cures it
                if tls is not None:
                    return _Outcome(failure=_FATAL, detail=tls)
                # Only the exception's type: its text may quote the URL, never needed here.
                reason = retry_reason_for_exception(exc, reading_body=reading_body)
                return _Outcome(failure=reason or _FATAL, detail=type(exc).__name__)
        retry_after = None
        if retry_reason_for_status(response.status_code) is not None:
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
        return _Outcome(status=response.status_code, body=body, retry_after=retry_after)

    def _auth_header(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._key.get_secret_value()}"}

    def _scrub(self, text: str) -> str:
        """``text`` without the key, should a server or a library ever echo it back."""
        secret = self._key.get_secret_value()
        return text.replace(secret, "**********") if secret in text else text

    def _error_message(self, body: bytes) -> str:
        """Polygon's ``message`` (or ``error``) from an error body, on one line, without the key."""
        message: Any = None
        try:
            doc = orjson.loads(body)
            if isinstance(doc, dict):
                message = doc.get("message") or doc.get("error") or doc.get("status")
        except orjson.JSONDecodeError:
            message = body[:200].decode("utf-8", "replace")
        text = " ".join(str(message).split()) if message else f"(no message; {len(body)} bytes)"
        return self._scrub(text[:300])


@dataclass(frozen=True)
class CaptureWindow:
    """The end of a live-only snapshot's capture window and the clock that tells when it is reached.

    A chain snapshot spans its pages: a page is not requested once the window has ended, and a chain
    whose last page arrived after its end fails by name (``PolygonCaptureWindowError``), never archived
    as a snapshot of the window's moment. ``name`` says which window (e.g. "the next open")."""

    end: dt.datetime
    clock: Clock
    name: str = "its capture window"

    def check(self, symbol: str, endpoint: str, *, pages: int) -> None:
        now = self.clock()
        if now >= self.end:
            where = "before its first page" if pages == 0 else f"after {pages} page(s)"
            raise PolygonCaptureWindowError(
                f"{symbol}: {self.name} ended at {self.end.isoformat()} {where} (it is {now.isoformat()}); "
                "a snapshot fetched past it is not of its moment and Polygon keeps no historical chains",
                symbol=symbol,
                endpoint=endpoint,
            )


def _require_aware(captured_at: dt.datetime) -> None:
    if captured_at.tzinfo is None or captured_at.utcoffset() is None:
        raise ValueError(f"captured_at must be timezone-aware, got {captured_at!r}")


class _Outcome(NamedTuple):
    """What one attempt gave: an answer (status, body, Retry-After) or a retryable failure reason."""

    status: int = 0
    body: bytes = b""
    retry_after: float | None = None
    failure: str | None = None  # a retry reason, or _FATAL for a failure not worth a retry
    detail: str = ""
