"""The trading runtime's dashboard and the health monitor's windows."""

import datetime as dt

import dagster as dg
from pydantic import Field, SecretStr

from aegis_core.ops.pt_health import (
    FetchResult,
    ThresholdError,
    Thresholds,
    WindowPolicy,
    display_url,
    fetch_status,
)


class DashboardResource(dg.ConfigurableResource):
    """The trading runtime's dashboard (read-only) and the evaluation windows of the health monitor."""

    enabled: bool = False
    urls: list[str] = Field(default=[], description="status URLs, tried in order (fallbacks after the first)")
    # repr=False: the resolved value must never show up in a repr or a log line. Pass a dg.EnvVar.
    token: str | None = Field(default=None, repr=False, description="bearer token (AEGIS_DASHBOARD_TOKEN)")
    timeout_s: float = 10.0
    window_minutes: int = 10
    open_buffer_minutes: int = 30
    close_buffer_minutes: int = 120
    # A window counts as missed once it ended this long ago without a successful evaluation.
    watchdog_grace_minutes: int = 8
    # ``Thresholds`` fields (validated by the settings model); unset fields keep their defaults.
    thresholds: dict[str, int] = Field(default={})

    def policy(self) -> WindowPolicy:
        return WindowPolicy(
            length=dt.timedelta(minutes=self.window_minutes),
            before_open=dt.timedelta(minutes=self.open_buffer_minutes),
            after_close=dt.timedelta(minutes=self.close_buffer_minutes),
        )

    def detector_thresholds(self) -> Thresholds:
        try:
            return Thresholds(**self.thresholds)
        except (ThresholdError, TypeError) as exc:
            raise dg.Failure(f"bad health threshold in the dashboard resource: {exc}") from None

    @property
    def watchdog_grace(self) -> dt.timedelta:
        return dt.timedelta(minutes=self.watchdog_grace_minutes)

    def shown_urls(self) -> list[str]:
        """The configured URLs without user info or query, for metadata and messages."""
        return [display_url(u) for u in self.urls]

    def fetch(self) -> FetchResult:
        """GET the status document; a failing dashboard is a result with failures, never an exception."""
        if not self.urls:
            raise dg.Failure(
                "no dashboard URL configured: set AEGIS_DASHBOARD_URLS (or pt_health.dashboard_urls)"
            )
        token = SecretStr(self.token) if self.token else None
        return fetch_status(self.urls, token, timeout=self.timeout_s)
