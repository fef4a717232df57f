"""What ``pt_health_definitions`` hands to the code location."""

from __future__ import annotations

import dagster as dg
from pydantic import SecretStr

from aegis_assets.ops.pt_health import PT_HEALTH_KEY
from aegis_assets.resources import AlertsResource, DashboardResource
from aegis_core.base.settings import PtHealthSettings, Settings
from aegis_pipelines.ops.pt_health import pt_health_definitions


def test_definitions_hold_the_asset_job_sensors_and_the_dashboard_resource() -> None:
    settings = Settings(
        pt_health=PtHealthSettings(
            enabled=True,
            dashboard_urls=["https://dash.test/status_v3"],
            dashboard_token=SecretStr("t0k"),
            window_minutes=15,
            open_buffer_minutes=0,
            close_buffer_minutes=5,
            timeout_s=3.0,
        )
    )
    defs = pt_health_definitions(settings)
    assert "alerts" not in defs.resources  # provided globally by the code location
    dashboard = defs.resources["dashboard"]
    assert isinstance(dashboard, DashboardResource)
    assert dashboard.urls == ["https://dash.test/status_v3"] and dashboard.timeout_s == 3.0
    assert isinstance(dashboard.token, dg.EnvVar)
    policy = dashboard.policy()
    assert (policy.length.seconds, policy.before_open.seconds, policy.after_close.seconds) == (900, 0, 300)

    whole = dg.Definitions.merge(defs, dg.Definitions(resources={"alerts": AlertsResource()}))
    dg.Definitions.validate_loadable(whole)
    assert whole.resolve_all_asset_keys() == [PT_HEALTH_KEY]
    assert whole.resolve_assets_def(PT_HEALTH_KEY).group_names_by_key[PT_HEALTH_KEY] == "ops"
    assert whole.resolve_job_def("pt_health_job").asset_layer.executable_asset_keys == {PT_HEALTH_KEY}
    assert {s.name for s in whole.sensors} == {"pt_health_sensor", "pt_health_watchdog_sensor"}
    assert whole.resolve_sensor_def("pt_health_sensor").job_name == "pt_health_job"


def test_no_token_setting_means_no_token_variable_needed() -> None:
    defs = pt_health_definitions(Settings())
    assert defs.resources["dashboard"].token is None
    assert defs.resources["dashboard"].enabled is False
