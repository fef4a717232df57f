"""Every resource of the code location, built from the settings model in this one place (the classes
are in ``aegis_assets.resources``). Secrets are passed as ``dg.EnvVar`` only."""

from __future__ import annotations

import dataclasses
from typing import Any

import dagster as dg

from aegis_assets.resources import (
    AlertsResource,
    AnalyticsResource,
    ArchiveResource,
    DashboardResource,
    MarketDataResource,
    ParityResource,
    QualityResource,
    SaxoResource,
)
from aegis_core.base.settings import SaxoSettings, Settings, secret_variable


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


def saxo_resource(saxo: SaxoSettings, **overrides: Any) -> SaxoResource:
    """The "saxo" resource from the settings; secrets only as ``dg.EnvVar``."""
    fields: dict[str, Any] = {
        "enabled": saxo.enabled,
        "token_url": saxo.token_url,
        "cache_path": str(saxo.cache_path),
        "app_key": dg.EnvVar(secret_variable("saxo.app_key")) if saxo.app_key is not None else None,
        "app_secret": dg.EnvVar(secret_variable("saxo.app_secret")) if saxo.app_secret is not None else None,
        "refresh_margin_s": saxo.refresh_margin_s,
        "bootstrap_from": str(saxo.bootstrap_from) if saxo.bootstrap_from else None,
        "cadence_s": saxo.cadence_s,
        "cadence_slack_s": saxo.cadence_slack_s,
        "deadline_s": saxo.refresh_deadline_s,
    }
    return SaxoResource(**{**fields, **overrides})


def dashboard_resource(settings: Settings) -> DashboardResource:
    pt = settings.pt_health
    return DashboardResource(
        enabled=pt.enabled,
        urls=pt.dashboard_urls,
        token=dg.EnvVar(secret_variable("pt_health.dashboard_token")) if pt.dashboard_token else None,
        timeout_s=pt.timeout_s,
        window_minutes=pt.window_minutes,
        open_buffer_minutes=pt.open_buffer_minutes,
        close_buffer_minutes=pt.close_buffer_minutes,
        watchdog_grace_minutes=pt.watchdog_grace_minutes,
        thresholds=dataclasses.asdict(pt.thresholds),
    )


def quality_resources(settings: Settings) -> dict[str, dg.ConfigurableResource]:
    resources: dict[str, dg.ConfigurableResource] = {
        "quality": QualityResource(
            universe_file=str(settings.universe_file),
            coverage_threshold=settings.quality.coverage_threshold,
            source_reject_threshold=settings.quality.source_reject_threshold,
            freshness_deadline=settings.quality.freshness_deadline.isoformat(),
        )
    }
    parity = settings.parity
    if parity.reference_root is not None:
        resources["parity"] = ParityResource(
            reference_root=str(parity.reference_root),
            file_count=parity.file_count,
            row_count=parity.row_count,
            regime=parity.regime,
            iv_rank_abs=parity.iv_rank_abs,
        )
    return resources
