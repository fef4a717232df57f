"""Read the status document from the trading runtime's dashboard: GET only, never a mutation.

Several URLs (e.g. a private-network name, then a fallback) are tried in order; the first that
answers with a valid document wins. Any failure — timeout, refused connection, non-2xx, bad JSON, a
document that does not match the model — becomes an event with the reason instead of an exception:
a monitor that crashes is a monitor that is silent. The bearer token is sent in a header only and
never appears in a message, a log line or a repr.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx
from pydantic import SecretStr

from aegis_core.base.http_deadline import (
    Deadline,
    DeadlineExceeded,
    ResponseTooLarge,
    get_bounded,
    tls_failure,
)
from aegis_core.ops.pt_health.events import Event, Severity
from aegis_core.ops.pt_health.status import PtStatus, StatusError, parse_status

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_SEC = 10.0
# A status document is a few kilobytes; anything past this is not one.
MAX_STATUS_BYTES = 1 << 20


@dataclass(frozen=True)
class FetchResult:
    """A parsed status (``status``) or the reason every URL failed (``failures``, one per URL)."""

    status: PtStatus | None
    url: str | None = None  # the URL that answered, shown without credentials or query
    failures: tuple[str, ...] = field(default=())

    def events(self) -> list[Event]:
        """``dashboard_unreachable`` (critical) if no URL answered; ``dashboard_fallback_used`` (warn)
        if a later URL answered after earlier ones failed; nothing otherwise."""
        if self.status is None:
            return [
                Event(
                    "dashboard_unreachable",
                    Severity.CRITICAL,
                    "dashboard",
                    list(self.failures),
                    "dashboard status could not be read: " + "; ".join(self.failures),
                )
            ]
        if self.failures:
            return [
                Event(
                    "dashboard_fallback_used",
                    Severity.WARN,
                    "dashboard",
                    list(self.failures),
                    f"status read from {self.url} after: " + "; ".join(self.failures),
                )
            ]
        return []


def fetch_status(
    urls: Sequence[str],
    token: SecretStr | str | None = None,
    *,
    timeout: float = DEFAULT_TIMEOUT_SEC,
    transport: httpx.BaseTransport | None = None,
    max_bytes: int = MAX_STATUS_BYTES,
) -> FetchResult:
    """GET the status from the first URL that works; never raises for a failing dashboard.

    ``timeout`` is the total deadline of each URL (connect and every read), ``max_bytes`` its body cap.
    """
    if not urls:
        raise ValueError("no dashboard URL configured")
    secret = SecretStr(token) if isinstance(token, str) else token
    headers = {"Accept": "application/json"}
    if secret is not None and secret.get_secret_value():
        headers["Authorization"] = f"Bearer {secret.get_secret_value()}"
    failures: list[str] = []
    with httpx.Client(timeout=timeout, transport=transport, follow_redirects=False) as client:
        for url in urls:
            shown = display_url(url)
            try:
                status = _get(client, url, headers, Deadline(timeout), max_bytes)
            except _FetchFailure as exc:
                failures.append(f"{shown}: {exc}")
                log.warning("dashboard %s failed: %s", shown, exc)
                continue
            return FetchResult(status=status, url=shown, failures=tuple(failures))
    return FetchResult(status=None, failures=tuple(failures))


class _FetchFailure(Exception):
    pass


def _get(
    client: httpx.Client, url: str, headers: dict[str, str], deadline: Deadline, max_bytes: int
) -> PtStatus:
    try:
        response = get_bounded(
            client, url, deadline=deadline, max_bytes=max_bytes, what="the dashboard", headers=headers
        )
    except DeadlineExceeded:
        budget = deadline.budget_s
        raise _FetchFailure(f"timed out after {budget:g}s (total, connect and all reads)") from None
    except ResponseTooLarge as exc:
        raise _FetchFailure(str(exc)) from None
    except (httpx.HTTPError, httpx.InvalidURL, ValueError) as exc:
        tls = tls_failure(exc, url)
        raise _FetchFailure(tls or f"{type(exc).__name__}: {exc}") from None
    if not response.is_success:
        raise _FetchFailure(f"HTTP {response.status_code} {response.reason_phrase}".rstrip())
    try:
        return parse_status(response.content)
    except StatusError as exc:
        raise _FetchFailure(str(exc)) from None


def display_url(url: str) -> str:
    """``url`` without user info, query or fragment, so nothing secret-looking is ever shown."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "<invalid url>"
    return f"{parts.scheme}://{host}{port}{parts.path}"
