"""Resources built from the settings model. Secrets are passed as ``dg.EnvVar`` only."""

from __future__ import annotations

import dagster as dg

from aegis_assets.resources import AlertsResource, AnalyticsResource, ArchiveResource, MarketDataResource
from aegis_core.settings import Settings, secret_variable


def build_resources(settings: Settings) -> dict[str, dg.ConfigurableResource]:
    poly = settings.polygon
    alerts = settings.alerts
    return {
        "alerts": AlertsResource(
            slack_token=dg.EnvVar(secret_variable("alerts.slack_token")) if alerts.slack_token else None,
            slack_channel=alerts.slack_channel,
            slack_base_url=alerts.slack_base_url,
            webserver_url=alerts.webserver_url,
        ),
        "analytics": AnalyticsResource(
            call_sign=settings.gex.call_sign,
            put_sign=settings.gex.put_sign,
            grid_low=settings.gex.grid_low,
            grid_high=settings.gex.grid_high,
            grid_points=settings.gex.grid_points,
            rate=settings.gex.rate,
            dividend=settings.gex.dividend,
            iv_target_days=settings.iv.target_days,
            iv_window_sessions=settings.iv.window_sessions,
            iv_min_observations=settings.iv.min_observations,
        ),
        "archive": ArchiveResource(
            archive_root=str(settings.archive_root),
            lake_root=settings.lake_root,
            lake_storage_options=settings.lake_storage_options,
            source=settings.source,
        ),
        "market": MarketDataResource(
            source=settings.source,
            universe_file=str(settings.universe_file),
            base_url=poly.base_url,
            api_key=dg.EnvVar(secret_variable("polygon.api_key")) if settings.source == "polygon" else None,
            max_concurrency=poly.max_concurrency,
            max_requests_per_second=poly.max_requests_per_second,
            timeout_s=poly.timeout_s,
            max_retries=poly.max_retries,
            backoff_base_s=poly.backoff_base_s,
            run_budget_s=poly.run_budget_s,
            sim_seed=settings.sim.seed,
            sim_latency_ms=settings.sim.latency_ms,
            sim_faults=settings.sim.faults.model_dump(exclude_none=True),
        ),
    }
