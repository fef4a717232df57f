"""A health monitor wired to a fake dashboard and a fake Slack on loopback, with a clock tests move.

``Monitor`` plays the Dagster daemon's part: it ticks the sensors (keeping their cursors, as the
daemon does) and executes the runs they request in-process, on one temporary instance.
"""

from __future__ import annotations

import datetime as dt
import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from pydantic import SecretStr

from aegis_assets.ops.pt_health import PT_HEALTH_KEY, WINDOW_TAG
from aegis_assets.resources import AlertsResource
from aegis_core.base.settings import PtHealthSettings, Settings
from aegis_core.ops.pt_health import ENV_NAMES
from aegis_pipelines.ops.pt_health import pt_health_definitions
from tests.fakes.dashboard import FakeDashboard
from tests.fakes.slack import FakeSlack
from tests.pt_health.statuses import status_doc

TOKEN = "dash-tok-5ecret-value"
SLACK_TOKEN = "xoxb-test-token"
WEBSERVER = "http://dagster.test"
SENSOR = "pt_health_sensor"
WATCHDOG = "pt_health_watchdog_sensor"


class Clock:
    def __init__(self, now: dt.datetime | None = None):
        self.now = now or dt.datetime(2026, 6, 1, 14, 0, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now


class Monitor:
    def __init__(self, instance: dg.DagsterInstance, dashboard: FakeDashboard, slack: FakeSlack, **pt: Any):
        self.instance, self.dashboard, self.slack = instance, dashboard, slack
        self.clock = Clock()
        self.cursors: dict[str, str | None] = {}
        options = {
            "enabled": True,
            "dashboard_urls": [dashboard.url],
            "dashboard_token": SecretStr(TOKEN),
            "timeout_s": 2.0,
            **pt,
        }
        self.settings = Settings(pt_health=PtHealthSettings(**options))
        self.restart()

    def restart(self) -> None:
        """New definitions and resource objects, as after a daemon or code-server restart.

        The instance (runs, materializations, sensor cursors) survives, as it does in production.
        """
        alerts = AlertsResource(
            slack_token=SLACK_TOKEN,
            slack_channel="#pt-health",
            slack_base_url=self.slack.base_url,
            webserver_url=WEBSERVER,
        )
        self.defs = dg.Definitions.merge(
            pt_health_definitions(self.settings, clock=self.clock),
            dg.Definitions(resources={"alerts": alerts}),
        )

    def tick(self, name: str) -> Any:
        """One sensor tick at the clock's time; the cursor is kept for the next tick."""
        sensor = self.defs.resolve_sensor_def(name)
        with dg.build_sensor_context(
            instance=self.instance, cursor=self.cursors.get(name), resources=self.defs.resources
        ) as context:
            data = sensor.evaluate_tick(context)
        self.cursors[name] = data.cursor
        return data

    def evaluate(self, tags: dict[str, str] | None = None, **status_patch: Any) -> dg.ExecuteInProcessResult:
        """Run ``pt_health_job`` now, with the dashboard serving the healthy document patched."""
        self.dashboard.status = status_doc(self.clock.now, **status_patch)
        job = self.defs.resolve_job_def("pt_health_job")
        return job.execute_in_process(instance=self.instance, tags=tags or {}, raise_on_error=False)

    def run_window(self, key: str, **status_patch: Any) -> dg.ExecuteInProcessResult:
        return self.evaluate({WINDOW_TAG: key}, **status_patch)

    def materializations(self) -> list[dict[str, Any]]:
        """Every recorded evaluation's metadata (plain values), oldest first."""
        records = self.instance.fetch_materializations(PT_HEALTH_KEY, limit=500, ascending=True).records
        return [{k: v.value for k, v in r.asset_materialization.metadata.items()} for r in records]

    def slack_texts(self) -> list[str]:
        return [m["text"] + "\n" + json.dumps(m.get("blocks", "")) for m in self.slack.messages]


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in ENV_NAMES.values():
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("AEGIS_DASHBOARD_TOKEN", TOKEN)


@pytest.fixture
def dashboard() -> Iterator[FakeDashboard]:
    with FakeDashboard() as fake:
        yield fake


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake


@pytest.fixture
def instance(tmp_path: Path) -> Iterator[dg.DagsterInstance]:
    # A simulated session executes dozens of runs, so the test instance is made cheap per run:
    # storage on memory-backed /dev/shm where there is one (sqlite commits on disk cost ~3 ms each),
    # one event-log database for all runs (the default creates a sqlite file per run, ~0.5 s each),
    # and no stdout/stderr capture (the default spawns `tail` processes for every step).
    shm = Path("/dev/shm")
    with tempfile.TemporaryDirectory(dir=shm if shm.is_dir() else tmp_path) as home:
        event_log = {
            "module": "dagster._core.storage.event_log",
            "class": "ConsolidatedSqliteEventLogStorage",
            "config": {"base_dir": str(Path(home) / "event_log")},
        }
        no_capture = {
            "module": "dagster._core.storage.noop_compute_log_manager",
            "class": "NoOpComputeLogManager",
        }
        overrides = {"event_log_storage": event_log, "compute_logs": no_capture}
        with dg.instance_for_test(temp_dir=home, overrides=overrides) as inst:
            yield inst


@pytest.fixture
def monitor(instance: dg.DagsterInstance, dashboard: FakeDashboard, slack: FakeSlack) -> Monitor:
    return Monitor(instance, dashboard, slack)
