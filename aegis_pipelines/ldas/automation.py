"""Declarative automation of the derived analytics: the sensor that evaluates their conditions.

Dagster's implicit ``default_automation_condition_sensor`` starts STOPPED, so derived data would go
stale until someone found the toggle. This one starts RUNNING: under the daemon (``dagster dev`` or
``dagster-daemon run``), a re-materialized session's chains recompute that session's gex_summary and
atm_iv and the IV rank of every later session whose window includes it, with no click.
"""

import dagster as dg

from aegis_assets.ldas.derived import DERIVED_ASSETS

DERIVED_AUTOMATION_SENSOR = "ldas_derived_automation_sensor"

derived_automation_sensor = dg.AutomationConditionSensorDefinition(
    DERIVED_AUTOMATION_SENSOR,
    target=dg.AssetSelection.assets(*DERIVED_ASSETS),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
    description="Recomputes derived analytics whose inputs changed (gex_summary, atm_iv, iv_rank).",
)
