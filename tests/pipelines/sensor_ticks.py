"""Tick a sensor of a code location as the code server does (dagster/_grpc/impl.py): with its top-level
resources built for the tick and the cursor the previous tick stored."""

from __future__ import annotations

import dagster as dg


def tick_sensor(
    defs: dg.Definitions, instance: dg.DagsterInstance, name: str, cursor: str | None
) -> dg.SensorExecutionData:
    repo = defs.get_repository_def()
    sensor = repo.get_sensor_def(name)
    resources = {
        k: v for k, v in repo.get_top_level_resources().items() if k in sensor.required_resource_keys
    }
    with dg.build_sensor_context(
        instance=instance, cursor=cursor, repository_def=repo, sensor_name=name, resources=resources
    ) as context:
        return sensor.evaluate_tick(context)
