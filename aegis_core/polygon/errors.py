"""Errors of the Polygon (Massive) client.

Every error names what failed (symbol, endpoint path) and never carries the API key, the request
object or its headers: messages are built from plain strings, and the client scrubs the key out of
anything the server echoes back.
"""

from __future__ import annotations


class PolygonError(Exception):
    """Base class. ``endpoint`` is the URL path only (no host, no query)."""

    def __init__(self, message: str, *, symbol: str | None = None, endpoint: str | None = None) -> None:
        super().__init__(message)
        self.symbol = symbol
        self.endpoint = endpoint

    @property
    def reason(self) -> str:
        """A one-line reason, for failure lists and metadata."""
        return " ".join(str(self).split())


class PolygonAuthError(PolygonError):
    """401/403: the key is wrong or not entitled. Never retried; a batch stops on it."""

    def __init__(
        self, status: int, message: str, *, symbol: str | None = None, endpoint: str | None = None
    ) -> None:
        super().__init__(
            f"HTTP {status} NOT_AUTHORIZED at {endpoint}: {message}", symbol=symbol, endpoint=endpoint
        )
        self.status = status
        self.message = message


class PolygonHTTPError(PolygonError):
    """A non-retryable HTTP status (4xx other than 401/403/408/429)."""

    def __init__(
        self, status: int, message: str, *, symbol: str | None = None, endpoint: str | None = None
    ) -> None:
        who = f"{symbol}: " if symbol else ""
        super().__init__(f"{who}HTTP {status} at {endpoint}: {message}", symbol=symbol, endpoint=endpoint)
        self.status = status
        self.message = message


class PolygonRetryError(PolygonError):
    """A retryable failure (429, 5xx, timeout, dropped connection, cut body) outlasted the retries."""

    def __init__(
        self, attempts: int, last: str, *, symbol: str | None = None, endpoint: str | None = None
    ) -> None:
        who = f"{symbol}: " if symbol else ""
        super().__init__(
            f"{who}gave up on {endpoint} after {attempts} attempts; last failure: {last}",
            symbol=symbol,
            endpoint=endpoint,
        )
        self.attempts = attempts
        self.last = last


class PolygonResponseError(PolygonError):
    """A response that does not have the documented shape (missing ``results``, wrong types)."""

    def __init__(self, detail: str, *, symbol: str | None = None, endpoint: str | None = None) -> None:
        who = f"{symbol}: " if symbol else ""
        super().__init__(
            f"{who}malformed response from {endpoint}: {detail}", symbol=symbol, endpoint=endpoint
        )
        self.detail = detail


class PolygonPaginationError(PolygonError):
    """Pagination went wrong: a repeated cursor, too many pages, or a next_url on another host."""

    def __init__(self, detail: str, *, symbol: str | None = None, endpoint: str | None = None) -> None:
        who = f"{symbol}: " if symbol else ""
        super().__init__(f"{who}pagination stopped at {endpoint}: {detail}", symbol=symbol, endpoint=endpoint)
        self.detail = detail


class PolygonNoDataError(PolygonError):
    """The source answered but has no bar for the requested day."""


class PolygonDeadlineError(PolygonError):
    """The run's total budget (``polygon.run_budget_s``) ran out before this request answered."""

    def __init__(
        self, budget_s: float, last: str, *, symbol: str | None = None, endpoint: str | None = None
    ) -> None:
        who = f"{symbol}: " if symbol else ""
        tail = f"; last failure: {last}" if last else ""
        super().__init__(
            f"{who}no answer from {endpoint} within the {budget_s:g} s run budget "
            f"(polygon.run_budget_s){tail}",
            symbol=symbol,
            endpoint=endpoint,
        )
        self.budget_s = budget_s


class PolygonCaptureWindowError(PolygonError):
    """A live-only snapshot whose fetch reached the end of its capture window (the next open for an
    end-of-day chain, the slot's end for an intraday one): what it would archive is not of its moment."""
