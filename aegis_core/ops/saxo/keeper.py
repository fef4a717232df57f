"""The keeper's one step (contract §8): under the cache lock, read, classify, refresh if needed, save.

``check_token`` is the cheap read-only classification (a sensor tick); ``refresh_if_needed`` is the
job's work. Neither raises for an expected failure: the outcome says what happened, with times and
a message that are safe for logs, Dagster metadata and alerts (they never carry a token).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from aegis_core.base.clock import Clock, wall_clock
from aegis_core.ops.saxo.cache import (
    TokenCache,
    TokenCacheError,
    cache_owner_problem,
    load_token_cache,
    remove_stale_temp_files,
    save_token_cache,
)
from aegis_core.ops.saxo.client import TokenRefresher
from aegis_core.ops.saxo.errors import REAUTH_MESSAGE, TokenRefreshError
from aegis_core.ops.saxo.freshness import DEFAULT_MARGIN, Freshness, FreshnessReport, assess
from aegis_core.ops.saxo.lock import CacheLockTimeout, CacheLockUnavailable, cache_lock

log = logging.getLogger(__name__)


class OutcomeKind(StrEnum):
    REFRESHED = "refreshed"
    STILL_VALID = "still_valid"
    # The refresh token had lapsed before we got to it: a person must re-authorise.
    EXPIRED = "expired"
    # Retrying cannot help (invalid_grant, bad client credentials, unusable cache file): alert a person.
    FAILED_TERMINAL = "failed_terminal"
    # Worth another try at the next scheduled refresh (5xx, timeouts, lock held, malformed answer).
    FAILED_TRANSIENT = "failed_transient"


@dataclass(frozen=True)
class RefreshOutcome:
    """What one keeper step did. Times describe the cache as it stands afterwards (None if unreadable)."""

    kind: OutcomeKind
    message: str
    cache_path: str
    checked_at: dt.datetime
    freshness: Freshness | None = None  # the state found before acting
    issued_at: dt.datetime | None = None
    expires_at: dt.datetime | None = None
    refresh_expires_at: dt.datetime | None = None
    http_attempts: int = 0
    http_status: int | None = None
    error_code: str | None = None  # the OAuth error code, e.g. invalid_grant

    @property
    def ok(self) -> bool:
        return self.kind in (OutcomeKind.REFRESHED, OutcomeKind.STILL_VALID)

    @property
    def state(self) -> Freshness | None:
        """The runbook's state of the cached token after this step (None if the cache was unreadable)."""
        if self.kind is OutcomeKind.EXPIRED:
            return Freshness.EXPIRED
        if self.kind in (OutcomeKind.REFRESHED, OutcomeKind.STILL_VALID):
            expired = self.expires_at is not None and self.expires_at <= self.checked_at
            return Freshness.NEEDS_REFRESH if expired else Freshness.ACCESS_VALID
        return self.freshness

    @property
    def needs_operator(self) -> bool:
        """True when only a person can fix it (alert; do not retry in a loop)."""
        return self.kind in (OutcomeKind.EXPIRED, OutcomeKind.FAILED_TERMINAL)

    def metadata(self) -> dict[str, str | int | None]:
        """Plain values for Dagster metadata, logs and alerts."""

        def iso(moment: dt.datetime | None) -> str | None:
            return moment.isoformat() if moment else None

        return {
            "outcome": self.kind.value,
            "message": self.message,
            "cache_path": self.cache_path,
            "checked_at": self.checked_at.isoformat(),
            "freshness_before": self.freshness.value if self.freshness else None,
            "state": self.state.value if self.state else None,
            "issued_at": iso(self.issued_at),
            "expires_at": iso(self.expires_at),
            "refresh_expires_at": iso(self.refresh_expires_at),
            "http_attempts": self.http_attempts,
            "http_status": self.http_status,
            "error_code": self.error_code,
        }


def check_token(
    cache_path: Path | str, *, clock: Clock = wall_clock, margin: dt.timedelta = DEFAULT_MARGIN
) -> FreshnessReport:
    """Read and classify the cache without locking or network: cheap enough for every sensor tick.

    Raises ``TokenCacheError`` (naming the file) when the cache is missing or invalid."""
    return assess(load_token_cache(cache_path), clock(), margin)


def refresh_if_needed(
    cache_path: Path | str,
    client: TokenRefresher,
    *,
    clock: Clock = wall_clock,
    margin: dt.timedelta = DEFAULT_MARGIN,
    force: bool = False,
    lock_timeout: float = 60.0,
) -> RefreshOutcome:
    """Refresh the cached token if it needs it (or if ``force``), holding the cache lock throughout.

    A second caller that waited on the lock reads the token the first one saved, finds it valid and
    does nothing. On any failure the cache file is left exactly as it was.
    """
    path = Path(cache_path)
    try:
        with cache_lock(path, lock_timeout):
            return _step(path, client, clock, margin, force)
    except CacheLockTimeout as exc:
        log.warning("%s", exc)
        return RefreshOutcome(OutcomeKind.FAILED_TRANSIENT, str(exc), str(path), clock())
    except CacheLockUnavailable as exc:
        log.error("%s", exc)
        return RefreshOutcome(OutcomeKind.FAILED_TERMINAL, str(exc), str(path), clock())


def _step(
    path: Path, client: TokenRefresher, clock: Clock, margin: dt.timedelta, force: bool
) -> RefreshOutcome:
    now = clock()
    try:
        token = load_token_cache(path)
    except TokenCacheError as exc:
        log.error("%s", exc)
        return RefreshOutcome(OutcomeKind.FAILED_TERMINAL, str(exc), str(path), now)
    report = assess(token, now, margin)

    def outcome(
        kind: OutcomeKind,
        message: str,
        current: TokenCache = token,
        http_attempts: int = 0,
        http_status: int | None = None,
        error_code: str | None = None,
    ) -> RefreshOutcome:
        return RefreshOutcome(
            kind=kind,
            message=message,
            cache_path=str(path),
            checked_at=now,
            freshness=report.state,
            issued_at=current.issued_at_dt,
            expires_at=current.expires_at,
            refresh_expires_at=current.refresh_expires_at,
            http_attempts=http_attempts,
            http_status=http_status,
            error_code=error_code,
        )

    if report.state is Freshness.EXPIRED:
        message = (
            f"{REAUTH_MESSAGE}: the refresh token in {path} expired at {token.refresh_expires_at.isoformat()}"
        )
        log.error("%s", message)
        return outcome(OutcomeKind.EXPIRED, message)
    if report.state is Freshness.ACCESS_VALID and not force:
        return outcome(
            OutcomeKind.STILL_VALID,
            f"Access token valid until {token.expires_at.isoformat()}; "
            f"refresh due at {report.refresh_due_at.isoformat()}",
        )

    owner_problem = cache_owner_problem(path)
    if owner_problem:  # found before Saxo rotates the refresh token, not after
        log.error("%s", owner_problem)
        return outcome(OutcomeKind.FAILED_TERMINAL, owner_problem)

    log.info("Refreshing the Saxo token in %s (%s)", path, "forced" if force else report.reason)
    try:
        result = client.refresh(token.refresh_token)
    except TokenRefreshError as exc:
        kind = OutcomeKind.FAILED_TERMINAL if exc.terminal else OutcomeKind.FAILED_TRANSIENT
        log.error("Saxo token refresh for %s failed: %s", path, exc.message)
        return outcome(
            kind, exc.message, http_attempts=exc.attempts, http_status=exc.status, error_code=exc.error_code
        )

    remove_stale_temp_files(path)
    try:
        save_token_cache(path, result.token)
    except OSError as exc:
        # Saxo may already have rotated the refresh token, so the old cache may not refresh again.
        message = (
            f"Saxo issued a new token but {path} could not be saved ({exc.strerror}); "
            "the cache keeps the previous token, which may need manual re-authorization"
        )
        log.error("%s", message)
        return outcome(
            OutcomeKind.FAILED_TERMINAL, message, http_attempts=result.attempts, http_status=result.status
        )

    new = result.token
    if new.refresh_token_expires_in <= 0:
        # Saved (the access token may still work, and the old refresh token is spent), but only a
        # person can get a refresh token that works: alert, as for an expired cache.
        message = (
            f"{REAUTH_MESSAGE}: Saxo answered the refresh with refresh_token_expires_in="
            f"{new.refresh_token_expires_in}: the new refresh token in {path} is already expired"
        )
        log.error("%s", message)
        return outcome(
            OutcomeKind.EXPIRED,
            message,
            current=new,
            http_attempts=result.attempts,
            http_status=result.status,
        )
    message = (
        f"Refreshed: access token valid until {new.expires_at.isoformat()}, "
        f"refresh token until {new.refresh_expires_at.isoformat()}"
    )
    if new.expires_in <= 0:
        message += f" (Saxo sent expires_in={new.expires_in}: the access token is already expired)"
        log.warning("%s", message)
    return outcome(
        OutcomeKind.REFRESHED, message, current=new, http_attempts=result.attempts, http_status=result.status
    )
