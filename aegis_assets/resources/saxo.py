"""The Saxo token cache and token endpoint."""

import datetime as dt

import dagster as dg
from pydantic import Field

from aegis_assets.clock import Clock
from aegis_core.ops.saxo import (
    LIVE_TOKEN_URL,
    FreshnessReport,
    RefreshOutcome,
    RetryPolicy,
    SaxoTokenClient,
    check_token,
    refresh_if_needed,
)
from aegis_core.ops.saxo.bootstrap import Bootstrap, bootstrap_cache


class SaxoResource(dg.ConfigurableResource):
    """The token cache and the Saxo token endpoint. Client credentials arrive as ``dg.EnvVar``."""

    enabled: bool = True
    token_url: str = LIVE_TOKEN_URL
    cache_path: str
    app_key: str | None = Field(default=None, repr=False, description="SAXOBANK_APP_KEY_LIVE (EnvVar)")
    app_secret: str | None = Field(default=None, repr=False, description="SAXOBANK_APP_SECRET_LIVE (EnvVar)")
    refresh_margin_s: int = Field(default=300, ge=0, description="refresh this long before expiry")
    timeout_s: float = 15.0
    deadline_s: float = Field(default=60.0, gt=0, description="the whole refresh; bounds the lock hold")
    max_attempts: int = Field(default=4, ge=1, description="HTTP attempts per refresh (transient errors)")
    backoff_initial_s: float = 0.5
    backoff_max_s: float = 8.0
    lock_timeout_s: float = 60.0
    bootstrap_from: str | None = Field(
        default=None, description="canonical cache copied once when the cache is missing (never overwrites)"
    )
    cadence_s: int = Field(default=900, description="the keeper's expected write interval (runbook: 900 s)")
    cadence_slack_s: int = Field(default=300, description="tolerated lateness of a write")

    @property
    def margin(self) -> dt.timedelta:
        return dt.timedelta(seconds=self.refresh_margin_s)

    @property
    def max_interval(self) -> dt.timedelta:
        return dt.timedelta(seconds=self.cadence_s + self.cadence_slack_s)

    def bootstrap(self) -> Bootstrap | None:
        """Seed a missing cache from ``bootstrap_from`` (None when not configured). ``TokenCacheError``."""
        return bootstrap_cache(self.cache_path, self.bootstrap_from) if self.bootstrap_from else None

    def check(self, clock: Clock) -> FreshnessReport:
        """Classify the cached token (no lock, no network). Raises ``TokenCacheError``."""
        return check_token(self.cache_path, clock=clock, margin=self.margin)

    def refresh(self, clock: Clock, force: bool = False) -> RefreshOutcome:
        """One locked read-classify-refresh-save step."""
        return refresh_if_needed(
            self.cache_path,
            self._client(clock),
            clock=clock,
            margin=self.margin,
            force=force,
            lock_timeout=self.lock_timeout_s,
        )

    def _client(self, clock: Clock) -> SaxoTokenClient:
        if not self.app_key or not self.app_secret:
            raise dg.Failure(
                "The saxo resource has no client credentials: set SAXOBANK_APP_KEY_LIVE and "
                "SAXOBANK_APP_SECRET_LIVE",
                allow_retries=False,
            )
        retry = RetryPolicy(
            max_attempts=self.max_attempts,
            backoff_initial=self.backoff_initial_s,
            backoff_max=self.backoff_max_s,
        )
        return SaxoTokenClient(
            self.app_key,
            self.app_secret,
            token_url=self.token_url,
            timeout=self.timeout_s,
            deadline=self.deadline_s,
            retry=retry,
            clock=clock,
        )
