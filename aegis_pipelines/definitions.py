"""The ``aegis`` code location: everything Dagster loads, assembled in one place.

Settings are read when Dagster loads the location (not at import), so a missing required setting
fails the load with the variable's name. Each domain contributes a ``*_definitions(settings)``
function; they are merged below with the global policy: the executor and the instance's own sensors.
The asset-level policy Dagster fixes at declaration (vendor pool, back-fills) is ``aegis_assets/
policy.py``; the instance's limits are ``dagster.yaml``.
"""

import dagster as dg

from aegis_core.base.settings import Settings, load_settings
from aegis_pipelines.instance.orphans import orphaned_run_sensor
from aegis_pipelines.instance.workers import recording_in_process_executor
from aegis_pipelines.ldas.eod import eod_definitions
from aegis_pipelines.ldas.intraday import intraday_definitions
from aegis_pipelines.ldas.quality import quality_definitions
from aegis_pipelines.ldas.readiness import readiness_definitions
from aegis_pipelines.ldas.sessions import archive_partitions
from aegis_pipelines.ops.pt_health import pt_health_definitions
from aegis_pipelines.ops.saxo import saxo_definitions

# One entry per domain; each takes the settings and returns its Definitions. The archive's domains
# also take its partitions (the go-live session is decided once, when the location loads).
ARCHIVE_DOMAINS = [eod_definitions, intraday_definitions, quality_definitions, readiness_definitions]
DOMAINS = [pt_health_definitions, saxo_definitions]

GLOBAL_POLICY = dg.Definitions(
    sensors=[orphaned_run_sensor],
    # Steps share one process: the work is I/O-bound and a process per step costs seconds. The
    # process records itself on the run as it starts, so a run of any origin can be judged when its
    # process is gone (instance/workers.py).
    executor=recording_in_process_executor,
)


def build_definitions(settings: Settings) -> dg.Definitions:
    partitions = archive_partitions(settings)
    return dg.Definitions.merge(
        *(domain(settings, partitions=partitions) for domain in ARCHIVE_DOMAINS),
        *(domain(settings) for domain in DOMAINS),
        GLOBAL_POLICY,
    )


@dg.definitions
def defs() -> dg.Definitions:
    return build_definitions(load_settings())
