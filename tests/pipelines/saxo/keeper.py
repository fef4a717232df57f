"""The daemon in miniature: ticks the real sensor at a simulated time and runs what it asks for."""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg

from aegis_assets.ops.saxo import SAXO_TOKEN_KEY
from aegis_assets.resources import AlertsResource
from aegis_core.base.settings import Settings
from aegis_pipelines.ops.saxo import JOB_NAME, SENSOR_NAME, saxo_definitions
from aegis_pipelines.resources import saxo_resource
from tests.fakes.saxo import FakeSaxoTokenServer
from tests.fakes.slack import FakeSlack

# Fast client retries (three attempts) and a short lock timeout keep the failure paths quick. The HTTP
# timeout is not short: on a loaded machine a loopback answer can take over half a second, and a refresh
# the fake server completed (rotating the refresh token) but the client gave up on is retried with the old
# refresh token, which the server then refuses (invalid_grant): the scripted day drifts off its script.
FAST = {
    "timeout_s": 5.0,
    "max_attempts": 3,
    "backoff_initial_s": 0.01,
    "backoff_max_s": 0.02,
    "lock_timeout_s": 0.2,
}


def authorise(
    cache_path: Path, saxo: FakeSaxoTokenServer, issued_at: dt.datetime, expires_in: int = 1200
) -> dict[str, object]:
    """What a person re-authorising in a browser leaves behind: a fresh cache file (0600)."""
    doc: dict[str, object] = {
        "access_token": f"browser-access-{int(issued_at.timestamp())}-{os.urandom(6).hex()}",
        "token_type": "Bearer",
        "expires_in": expires_in,
        "refresh_token": saxo.mint_refresh_token(),
        "refresh_token_expires_in": 3600,
        "issued_at": int(issued_at.timestamp()),
    }
    cache_path.write_text(json.dumps(doc))
    cache_path.chmod(0o600)
    return doc


def alerts_resource(slack: FakeSlack) -> AlertsResource:
    return AlertsResource(slack_token="xoxb-fake", slack_channel="#ops", slack_base_url=slack.base_url)


@dataclass
class Tick:
    at: dt.datetime
    run_keys: list[str]
    skip_reason: str | None
    runs: list[dg.ExecuteInProcessResult] = field(default_factory=list)


class Keeper:
    """``saxo_definitions`` plus the "alerts" resource the lead provides globally, driven by hand."""

    def __init__(self, settings: Settings, instance: dg.DagsterInstance, slack: FakeSlack) -> None:
        self.settings = settings
        self.instance = instance
        self.alerts = alerts_resource(slack)
        self.defs = dg.Definitions.merge(
            saxo_definitions(settings), dg.Definitions(resources={"alerts": self.alerts})
        )
        self.sensor = self.defs.resolve_sensor_def(SENSOR_NAME)
        self.job = self.defs.resolve_job_def(JOB_NAME)
        self.cursor: str | None = None
        self.launched: set[str] = set()
        self.ticks: list[Tick] = []

    def resources(self, now: dt.datetime) -> dict[str, object]:
        saxo = saxo_resource(self.settings.saxo, **FAST)
        return {"saxo": saxo, "alerts": self.alerts, "clock": lambda: now}

    def tick(self, now: dt.datetime, launch: bool = True) -> Tick:
        """One sensor evaluation; launches its run requests as the daemon would (run keys deduplicated)."""
        with dg.build_sensor_context(
            instance=self.instance, cursor=self.cursor, resources=self.resources(now)
        ) as context:
            data = self.sensor.evaluate_tick(context)
        self.cursor = data.cursor
        requests = data.run_requests or []
        tick = Tick(now, [r.run_key for r in requests], data.skip_message)
        for request in requests:
            if launch and request.run_key not in self.launched:
                self.launched.add(request.run_key)
                tick.runs.append(self.run(now, tags={**request.tags, "dagster/run_key": request.run_key}))
        self.ticks.append(tick)
        return tick

    def run(
        self, now: dt.datetime, tags: dict[str, str] | None = None, force: bool = False
    ) -> dg.ExecuteInProcessResult:
        config = {"ops": {"ops__saxo_token": {"config": {"force": True}}}} if force else None
        return self.job.execute_in_process(
            instance=self.instance,
            resources=self.resources(now),
            tags=tags or {},
            run_config=config,
            raise_on_error=False,
        )

    def materializations(self) -> list[dg.AssetMaterialization]:
        records = self.instance.fetch_materializations(SAXO_TOKEN_KEY, limit=1000).records
        return [r.asset_materialization for r in records if r.asset_materialization]

    def observations(self) -> list[dg.AssetObservation]:
        records = self.instance.fetch_observations(SAXO_TOKEN_KEY, limit=1000).records
        return [r.asset_observation for r in records if r.asset_observation]
