"""The ``aegis`` code location: everything Dagster loads, assembled in one place.

Settings are read when Dagster loads the location (not at import), so a missing required setting
fails the load with the variable's name. Global policy — executor, retries — is set here. Each
domain contributes a ``*_definitions(settings)`` function; they are merged below.
"""

import dagster as dg

from aegis_assets.clock import CLOCK_KEY, Clock, wall_clock
from aegis_assets.ldas.derived import DERIVED_ASSETS
from aegis_assets.ldas.eod import EOD_FETCH_ASSETS
from aegis_core.settings import Settings, load_settings
from aegis_pipelines.instance.orphans import orphaned_run_sensor
from aegis_pipelines.ldas.automation import derived_automation_sensor
from aegis_pipelines.ldas.eod import ldas_eod_job
from aegis_pipelines.ldas.intraday import intraday_definitions
from aegis_pipelines.ldas.quality import quality_definitions
from aegis_pipelines.ldas.readiness import readiness_definitions
from aegis_pipelines.ldas.sessions import ldas_eod_schedule
from aegis_pipelines.ops.pt_health import pt_health_definitions
from aegis_pipelines.ops.saxo import saxo_definitions
from aegis_pipelines.resources import build_resources


def archive_definitions(settings: Settings, clock: Clock = wall_clock) -> dg.Definitions:
    return dg.Definitions(
        assets=[*EOD_FETCH_ASSETS, *DERIVED_ASSETS],
        jobs=[ldas_eod_job],
        schedules=[ldas_eod_schedule],
        sensors=[orphaned_run_sensor, derived_automation_sensor],
        resources={**build_resources(settings), CLOCK_KEY: clock},
        # Steps share one process: the work is I/O-bound and a process per step costs seconds.
        executor=dg.in_process_executor,
    )


# One entry per domain; each takes the settings and returns its Definitions.
DOMAINS = [
    archive_definitions,
    intraday_definitions,
    quality_definitions,
    pt_health_definitions,
    saxo_definitions,
    readiness_definitions,
]


def build_definitions(settings: Settings) -> dg.Definitions:
    return dg.Definitions.merge(*(domain(settings) for domain in DOMAINS))


@dg.definitions
def defs() -> dg.Definitions:
    return build_definitions(load_settings())
