"""Token freshness (contract §8): a pure function of the cached token, the time and a safety margin."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from aegis_core.ops.saxo.cache import TokenCache

UTC = dt.UTC

# Saxo access tokens live 20 minutes; refreshing 5 minutes early leaves room for a slow sensor tick.
DEFAULT_MARGIN = dt.timedelta(minutes=5)
# A cache issued further in the future than this was written by a clock that is wrong (or by hand):
# its expiry times cannot be trusted, so it is never "valid" — a refresh stamps a true issue time.
MAX_CLOCK_SKEW = dt.timedelta(minutes=5)


class Freshness(StrEnum):
    """The token keeper runbook's three states, spelled as the runbook (and operators' greps) spell them."""

    ACCESS_VALID = "AccessValid"
    # Access token near or past expiry (or the refresh token about to lapse) while refreshing still works.
    NEEDS_REFRESH = "NeedsRefresh"
    # The refresh token (Saxo: about 24 h) is gone: only a person re-authorising in a browser helps.
    EXPIRED = "Expired24hToken"


@dataclass(frozen=True)
class FreshnessReport:
    """The classification with the times behind it; carries no token, so it is safe to log or show."""

    state: Freshness
    reason: str
    checked_at: dt.datetime
    margin: dt.timedelta
    issued_at: dt.datetime
    expires_at: dt.datetime
    refresh_expires_at: dt.datetime

    @property
    def access_remaining(self) -> dt.timedelta:
        """Time left on the access token (negative once expired)."""
        return self.expires_at - self.checked_at

    @property
    def refresh_remaining(self) -> dt.timedelta:
        return self.refresh_expires_at - self.checked_at

    @property
    def refresh_due_at(self) -> dt.datetime:
        """The moment the state turns to ``NeedsRefresh`` (a sensor can sleep until then)."""
        return min(self.expires_at, self.refresh_expires_at) - self.margin

    def metadata(self) -> dict[str, str | float]:
        """Plain values for logs, Dagster metadata and alerts."""
        return {
            "freshness": self.state.value,
            "reason": self.reason,
            "checked_at": self.checked_at.isoformat(),
            "issued_at": self.issued_at.isoformat(),
            "expires_at": self.expires_at.isoformat(),
            "refresh_expires_at": self.refresh_expires_at.isoformat(),
            "refresh_due_at": self.refresh_due_at.isoformat(),
            "access_remaining_seconds": round(self.access_remaining.total_seconds(), 3),
            "refresh_remaining_seconds": round(self.refresh_remaining.total_seconds(), 3),
            "margin_seconds": self.margin.total_seconds(),
        }


def assess(token: TokenCache, now: dt.datetime, margin: dt.timedelta = DEFAULT_MARGIN) -> FreshnessReport:
    """Classify ``token`` at ``now`` (aware). ``margin`` is how early before expiry to refresh."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware (got a naive datetime)")
    if margin < dt.timedelta(0):
        raise ValueError(f"margin must not be negative (got {margin})")
    now = now.astimezone(UTC)
    expires_at, refresh_expires_at = token.expires_at, token.refresh_expires_at

    def report(state: Freshness, reason: str) -> FreshnessReport:
        return FreshnessReport(
            state=state,
            reason=reason,
            checked_at=now,
            margin=margin,
            issued_at=token.issued_at_dt,
            expires_at=expires_at,
            refresh_expires_at=refresh_expires_at,
        )

    # Checked first: once the refresh token is gone nothing but a person helps, even if the access
    # token still works for a few more minutes.
    if now >= refresh_expires_at:
        return report(Freshness.EXPIRED, "refresh token expired: manual re-authorization required")
    ahead = token.issued_at_dt - now
    if ahead > MAX_CLOCK_SKEW:
        return report(
            Freshness.NEEDS_REFRESH,
            f"issued_at {token.issued_at_dt.isoformat()} is {_span(ahead)} in the future (more than the "
            f"{_span(MAX_CLOCK_SKEW)} clock skew allowed): the cache's times cannot be trusted",
        )
    if now >= expires_at:
        return report(Freshness.NEEDS_REFRESH, "access token expired")
    if now >= expires_at - margin:
        return report(Freshness.NEEDS_REFRESH, "access token expires within the safety margin")
    # A refresh also renews the refresh token, so refresh while it still can be.
    if now >= refresh_expires_at - margin:
        return report(Freshness.NEEDS_REFRESH, "refresh token expires within the safety margin")
    return report(Freshness.ACCESS_VALID, "access token valid")


def _span(delta: dt.timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds >= 86_400:
        return f"{seconds / 86_400:.1f} days"
    return f"{seconds // 60} min" if seconds >= 60 else f"{seconds} s"


def classify(token: TokenCache, now: dt.datetime, margin: dt.timedelta = DEFAULT_MARGIN) -> Freshness:
    return assess(token, now, margin).state
