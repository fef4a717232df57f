"""Which failures are retried, and how long to wait before the next attempt."""

from __future__ import annotations

import datetime as dt
import email.utils
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

# A server asking for more than this is treated as asking for this: one bad header must not park a
# run for hours (an intraday slot lasts 15 minutes).
MAX_RETRY_AFTER_S = 300.0


def retry_reason_for_status(status: int) -> str | None:
    """The stats label of a retryable status, or None when the status must not be retried."""
    if status == 429:
        return "429"
    if status == 408:
        return "timeout"
    if status >= 500:
        return "5xx"
    return None


def retry_reason_for_exception(exc: BaseException, *, reading_body: bool) -> str | None:
    """The stats label of a retryable transport failure, or None for anything else."""
    if isinstance(exc, httpx.TimeoutException | TimeoutError):
        return "timeout"
    if isinstance(exc, httpx.ConnectError):
        return "connect"
    if isinstance(exc, httpx.ReadError | httpx.WriteError | httpx.RemoteProtocolError | httpx.DecodingError):
        # A cut during the body (incomplete read) is a truncated body; before it, a dropped connection.
        return "truncated" if reading_body else "disconnect"
    return None


def parse_retry_after(value: str | None, *, now: Callable[[], float] = time.time) -> float | None:
    """``Retry-After`` as seconds to wait: delta-seconds or an HTTP date; None if absent/unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:  # HTTP dates are GMT by definition
            when = when.replace(tzinfo=dt.UTC)
        seconds = when.timestamp() - now()
    if seconds != seconds:  # NaN
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_S)


@dataclass
class Backoff:
    """Exponential backoff with "equal jitter": a wait in [d/2, d], d = min(max, base * 2**retry)."""

    base_s: float = 0.5
    max_s: float = 30.0
    rng: random.Random = field(default_factory=random.Random)

    def delay(self, retry: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number ``retry`` (0-based); ``Retry-After`` wins when given."""
        if retry_after is not None:
            return retry_after
        ceiling = min(self.max_s, self.base_s * (2.0**retry))
        return ceiling / 2 + self.rng.uniform(0, ceiling / 2)
