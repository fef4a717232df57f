"""Which Polygon failures are worth another attempt (the waiting itself is ``aegis_core.base.retry``)."""

from __future__ import annotations

import httpx


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
