"""The Saxo OAuth2 refresh call (contract §8): one form POST with HTTP Basic client auth, bounded retries.

Any 2xx is success (Saxo answers 201 at times). 400/401 with an OAuth error body is terminal
(``ReauthorizationRequired``); 408, 429, 5xx, timeouts and connection errors are retried a bounded
number of times within one deadline, waiting as the shared policy says (``aegis_core.base.retry``).
Secrets travel only in the Basic header and the form body, never in the URL, and are never logged.
"""

from __future__ import annotations

import logging
import math
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import httpx
from pydantic import SecretStr, ValidationError

from aegis_core.base.clock import Clock, wall_clock
from aegis_core.base.endpoint_url import check_endpoint_url, is_loopback
from aegis_core.base.http_deadline import (
    Answer,
    Deadline,
    DeadlineExceeded,
    ResponseTooLarge,
    send_bounded,
    tls_failure,
)
from aegis_core.base.retry import Backoff, parse_retry_after, past_deadline
from aegis_core.ops.saxo.cache import TokenCache, describe_validation_error
from aegis_core.ops.saxo.errors import (
    REAUTH_MESSAGE,
    MalformedTokenResponse,
    ReauthorizationRequired,
    RefreshRejected,
    TransientRefreshError,
)

log = logging.getLogger(__name__)

LIVE_TOKEN_URL = "https://live.logonvalidation.net/token"
SIM_TOKEN_URL = "https://sim.logonvalidation.net/token"

# A token document is a few hundred bytes; anything past this is not one.
MAX_TOKEN_RESPONSE_BYTES = 64 * 1024
DEFAULT_DEADLINE_S = 60.0
_RETRY_STATUS = {408, 429}
# OAuth codes that describe the server, not the grant: worth another attempt.
_TRANSIENT_OAUTH = {"temporarily_unavailable", "server_error"}
_SAFE_CODE = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")


@dataclass(frozen=True)
class RetryPolicy:
    """How many attempts a refresh makes in total (not retries), and the shared backoff between them
    (``aegis_core.base.retry``), in seconds."""

    max_attempts: int = 4
    backoff_initial: float = 0.5
    backoff_max: float = 8.0
    jitter: float = 0.25  # a pause is drawn from [d * (1 - jitter), d], so keepers never retry in lock-step
    retry_after_max: float = 30.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1 (got {self.max_attempts})")

    def backoff(self, rng: random.Random | None = None) -> Backoff:
        return Backoff(self.backoff_initial, self.backoff_max, self.jitter, rng or random.Random())


@dataclass(frozen=True)
class RefreshResult:
    token: TokenCache
    attempts: int
    status: int


class TokenRefresher(Protocol):
    """What the keeper needs from a client: exchange a refresh token for a new token."""

    def refresh(self, refresh_token: SecretStr) -> RefreshResult: ...


def _secret(value: str | SecretStr, name: str) -> SecretStr:
    secret = value if isinstance(value, SecretStr) else SecretStr(value)
    if not secret.get_secret_value():
        raise ValueError(f"{name} is empty")
    return secret


def _check_url(url: str) -> str:
    # The client secret goes in the Basic header: plain HTTP is tolerated only for loopback fakes.
    return check_endpoint_url(url, "Saxo token URL")


def _oauth_error_code(response: Answer) -> str | None:
    """The OAuth ``error`` field if the body is an OAuth error document; only a safe token-like code."""
    try:
        body = response.json()
    except ValueError:
        return None
    code = body.get("error") if isinstance(body, dict) else None
    if not isinstance(code, str):
        return None
    return code if _SAFE_CODE.match(code) else "unrecognised_error"


class SaxoTokenClient:
    """Refreshes Saxo OAuth2 tokens at ``token_url`` with the app key/secret as Basic client auth."""

    def __init__(
        self,
        app_key: str | SecretStr,
        app_secret: str | SecretStr,
        *,
        token_url: str = LIVE_TOKEN_URL,
        timeout: float = 15.0,
        deadline: float = DEFAULT_DEADLINE_S,
        retry: RetryPolicy | None = None,
        clock: Clock = wall_clock,
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.token_url = _check_url(token_url)
        self._app_key = _secret(app_key, "app_key")
        self._app_secret = _secret(app_secret, "app_secret")
        self._timeout = timeout
        if not (deadline > 0 and math.isfinite(deadline)):
            raise ValueError(f"deadline must be a positive number of seconds, got {deadline!r}")
        self._deadline_s = deadline
        self._retry = retry or RetryPolicy()
        self._clock = clock
        self._sleep = sleep
        self._transport = transport
        self._rng = rng

    def __repr__(self) -> str:
        return f"SaxoTokenClient(token_url={self.token_url!r})"

    def refresh(self, refresh_token: SecretStr) -> RefreshResult:
        """POST the refresh grant; return the new token stamped with the time the request was sent.

        ``timeout`` bounds each attempt, ``deadline`` the whole refresh (every attempt, read and
        pause): the caller's cache lock is never held longer than that."""
        form = {"grant_type": "refresh_token", "refresh_token": refresh_token.get_secret_value()}
        auth = httpx.BasicAuth(self._app_key.get_secret_value(), self._app_secret.get_secret_value())
        policy = self._retry
        backoff = policy.backoff(self._rng)
        # A loopback endpoint (a fake, a local relay) never goes through an environment proxy.
        trust_env = not is_loopback(httpx.URL(self.token_url).host)
        deadline = Deadline(self._deadline_s)
        what = f"Saxo token endpoint {self.token_url}"
        with httpx.Client(timeout=self._timeout, transport=self._transport, trust_env=trust_env) as http:
            for attempt in range(1, policy.max_attempts + 1):
                # Stamped before sending: the token cannot have been issued earlier, so expiry is
                # never over-estimated.
                issued_at = math.floor(self._clock().timestamp())
                status: int | None = None
                retry_after: float | None = None
                attempt_s = min(self._timeout, deadline.remaining())
                try:
                    response = send_bounded(
                        http,
                        "POST",
                        self.token_url,
                        deadline=deadline,
                        max_bytes=MAX_TOKEN_RESPONSE_BYTES,
                        what=what,
                        per_call_s=attempt_s,
                        data=form,
                        auth=auth,
                        headers={"Accept": "application/json"},
                    )
                except DeadlineExceeded:
                    reason = f"timed out after {attempt_s:.3g} s (connect and all reads)"
                except ResponseTooLarge as exc:
                    raise MalformedTokenResponse(str(exc), attempts=attempt) from None
                except httpx.TransportError as exc:
                    tls = tls_failure(exc, self.token_url)
                    if tls is not None:  # no retry cures it: stop at once, naming the URL
                        raise RefreshRejected(
                            f"Saxo token endpoint {self.token_url}: {tls}", status=None, attempts=attempt
                        ) from None
                    reason = f"connection failed ({type(exc).__name__})"
                else:
                    status = response.status_code
                    if 200 <= status < 300:
                        return self._success(response, issued_at, attempt)
                    reason = self._failure_reason(response, attempt)
                    retry_after = parse_retry_after(
                        response.headers.get("Retry-After"),
                        now=lambda: self._clock().timestamp(),
                        cap=policy.retry_after_max,
                    )
                pause = backoff.delay(attempt - 1, retry_after)
                out_of_time = past_deadline(pause, deadline)
                if attempt == policy.max_attempts or out_of_time:
                    budget = f" (the {self._deadline_s:g} s refresh deadline is spent)" if out_of_time else ""
                    raise TransientRefreshError(
                        f"Saxo token refresh at {self.token_url} failed after {attempt} attempt(s){budget}: "
                        f"{reason}",
                        status=status,
                        attempts=attempt,
                    )
                log.warning(
                    "Saxo token refresh attempt %d/%d at %s failed (%s); retrying in %.2f s",
                    attempt,
                    policy.max_attempts,
                    self.token_url,
                    reason,
                    pause,
                )
                self._sleep(pause)
        raise AssertionError("unreachable: the retry loop returns or raises")

    def _failure_reason(self, response: Answer, attempt: int) -> str:
        """Describe a retryable non-2xx answer, or raise at once for a terminal one."""
        status = response.status_code
        code = _oauth_error_code(response)
        if status in _RETRY_STATUS or status >= 500 or code in _TRANSIENT_OAUTH:
            return f"HTTP {status}" + (f" {code}" if code else "")
        if status in (400, 401) and code:
            log.error("Saxo token refresh refused (HTTP %d %s): %s", status, code, REAUTH_MESSAGE)
            raise ReauthorizationRequired(
                f"{REAUTH_MESSAGE} ({code}): Saxo token endpoint {self.token_url} answered HTTP {status}",
                status=status,
                error_code=code,
                attempts=attempt,
            )
        raise RefreshRejected(
            f"Saxo token endpoint {self.token_url} rejected the refresh with HTTP {status}"
            + (f" ({code})" if code else " (no OAuth error body): check the token URL"),
            status=status,
            error_code=code,
            attempts=attempt,
        )

    def _success(self, response: Answer, issued_at: int, attempt: int) -> RefreshResult:
        status = response.status_code
        where = f"Saxo token endpoint {self.token_url} answered HTTP {status}"
        try:
            body = response.json()
        except ValueError:
            raise MalformedTokenResponse(
                f"{where} with a body that is not JSON", status=status, attempts=attempt
            ) from None
        if not isinstance(body, dict):
            raise MalformedTokenResponse(
                f"{where} with a body that is not a JSON object", status=status, attempts=attempt
            )
        try:
            token = TokenCache.model_validate({**body, "issued_at": issued_at})
        except ValidationError as exc:
            raise MalformedTokenResponse(
                f"{where} without a usable token: {describe_validation_error(exc)}",
                status=status,
                attempts=attempt,
            ) from None
        log.info(
            "Saxo token refreshed (HTTP %d, attempt %d): access token valid until %s, refresh token until %s",
            status,
            attempt,
            token.expires_at.isoformat(),
            token.refresh_expires_at.isoformat(),
        )
        return RefreshResult(token=token, attempts=attempt, status=status)
