"""The market-data source: Polygon (Massive), or the built-in simulated market served on loopback."""

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

from aegis_core.archive.universe import load_universe
from aegis_core.base.http_deadline import Deadline
from aegis_core.polygon import PolygonClient
from aegis_core.sim import Faults, SimMarket, SimServer, sim_base_url

T = TypeVar("T")


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
