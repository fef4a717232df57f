"""Resources: the archive and the market-data source, configured from the settings model.

Secrets reach resources only as ``dg.EnvVar`` (the UI shows the variable's name, never its value).
With the simulated source, the market-data resource serves the simulated market on loopback for the
duration of the run and points the one Polygon client at it — one code path for both sources.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import secrets
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import dagster as dg
from pydantic import PrivateAttr

from aegis_core.alerts import AlertSender, LogSender, SlackSender
from aegis_core.analytics import GexParams
from aegis_core.archive.lake import Lake
from aegis_core.archive.store import Archive
from aegis_core.http_deadline import Deadline
from aegis_core.polygon import PolygonClient
from aegis_core.sim import Faults, SimMarket, SimServer, sim_base_url
from aegis_core.universe import load_universe

T = TypeVar("T")


class ArchiveResource(dg.ConfigurableResource):
    """The archive root (parquet files) and the lake root (Delta tables)."""

    archive_root: str
    lake_root: str
    source: str
    lake_storage_options: dict[str, str] = {}

    def archive(self) -> Archive:
        return Archive(Path(self.archive_root), Lake(self.lake_root, self.lake_storage_options), self.source)


class MarketDataResource(dg.ConfigurableResource):
    """Polygon (Massive) market data, or the built-in simulated market served on loopback."""

    source: str  # "sim" | "polygon"
    universe_file: str
    base_url: str = "https://api.massive.com"
    api_key: str | None = None
    max_concurrency: int = 16
    max_requests_per_second: float = 50.0
    timeout_s: float = 30.0
    max_retries: int = 6
    backoff_base_s: float = 0.5
    run_budget_s: float = 900.0  # every fetch of a run, from the run's start: requests, retries, pauses
    sim_seed: int = 7
    sim_latency_ms: float = 0.0
    sim_faults: dict[str, Any] = {}  # keyword arguments of aegis_core.sim.Faults (drills, demos)

    _server: SimServer | None = PrivateAttr(default=None)
    _run_started: float | None = PrivateAttr(default=None)
    _sim_key: str = PrivateAttr(default="")

    @property
    def live(self) -> bool:
        """Whether data comes from the real (live-only for snapshots) source."""
        return self.source != "sim"

    def universe(self) -> list[str]:
        return load_universe(Path(self.universe_file))

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        # The run's start anchors its budget, whichever process (step) this resource lives in.
        run = context.run
        record = context.instance.get_run_record_by_id(run.run_id) if context.instance and run else None
        self._run_started = (record.start_time if record else None) or time.time()

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def _sim_server(self) -> SimServer:
        """The simulated market on loopback, started on first use and stopped with the resource."""
        if self._server is None:
            self._sim_key = secrets.token_hex(16)
            market = SimMarket(seed=self.sim_seed, symbols=self.universe())
            faults = Faults(
                latency_ms=self.sim_latency_ms,
                **{k: frozenset(v) if isinstance(v, list) else v for k, v in self.sim_faults.items()},
            )
            self._server = SimServer(market, api_key=self._sim_key, faults=faults)
            self._server.start()
        return self._server

    def client(self, as_of: dt.datetime) -> PolygonClient:
        """A client for the data as of ``as_of`` (the simulated market's clock; ignored live)."""
        if self.live:
            base, key = self.base_url, self.api_key or ""
        else:
            base, key = sim_base_url(self._sim_server().url, as_of), self._sim_key
        return PolygonClient(
            base,
            key,
            max_concurrency=self.max_concurrency,
            max_requests_per_second=self.max_requests_per_second,
            timeout_s=self.timeout_s,
            max_retries=self.max_retries,
            backoff_base_s=self.backoff_base_s,
            budget_s=Deadline.since(self._run_started or time.time(), self.run_budget_s),
        )

    def fetch(self, as_of: dt.datetime, work: Callable[[PolygonClient], Awaitable[T]]) -> tuple[T, dict]:
        """Run ``work`` with a fresh client; return its result and the client's request stats."""

        async def go() -> tuple[T, dict]:
            async with self.client(as_of) as client:
                result = await work(client)
                return result, client.stats.as_metadata()

        return asyncio.run(go())


class AlertsResource(dg.ConfigurableResource):
    """Where alerts go: Slack when a token and channel are configured, the log otherwise."""

    slack_token: str | None = None
    slack_channel: str | None = None
    slack_base_url: str = "https://slack.com/api/"
    webserver_url: str = "http://127.0.0.1:3000"

    def sender(self, logger=None) -> AlertSender:
        if self.slack_token and self.slack_channel:
            return SlackSender(self.slack_token, self.slack_channel, self.slack_base_url)
        return LogSender(logger)

    def run_link(self, run_id: str) -> str:
        return f"{self.webserver_url.rstrip('/')}/runs/{run_id}"


class AnalyticsResource(dg.ConfigurableResource):
    """Parameters of the derived analytics (contract §6). Change them in the profile, then back-fill."""

    call_sign: int = 1
    put_sign: int = -1
    grid_low: float = 0.8
    grid_high: float = 1.2
    grid_points: int = 81
    rate: float = 0.0
    dividend: float = 0.0
    iv_target_days: int = 30
    iv_window_sessions: int = 252
    iv_min_observations: int = 20

    def gex_params(self) -> GexParams:
        return GexParams(
            call_sign=self.call_sign,
            put_sign=self.put_sign,
            grid_low=self.grid_low,
            grid_high=self.grid_high,
            grid_points=self.grid_points,
            rate=self.rate,
            dividend=self.dividend,
        )
