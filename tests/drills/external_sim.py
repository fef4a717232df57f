"""The ``market`` resource of the simulated source, pointed at an already running simulated server.

``MarketDataResource(source="sim")`` serves the simulated market in a thread of the run's own process
(sharing its GIL); benchmarks and drills run ``aegis sim serve`` as a separate process instead, with a
known key and fault knobs, and point this resource at it. Everything else is the production path:
the same assets, the same Polygon client, the same archive writer. As with the embedded simulated
source, a chain's capture moment is the session close (the simulated market can serve any moment).
"""

from __future__ import annotations

import datetime as dt

import dagster as dg

from aegis_assets.resources import MarketDataResource
from aegis_core.polygon import PolygonClient
from aegis_core.sim import sim_base_url


class ExternalSimMarket(MarketDataResource):
    """``base_url`` is the running server (``http://127.0.0.1:PORT``); ``api_key`` its key (an EnvVar)."""

    source: str = "sim"

    @property
    def live(self) -> bool:
        return False

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        pass  # the server is already running

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        pass

    def client(self, as_of: dt.datetime) -> PolygonClient:
        return PolygonClient(
            sim_base_url(self.base_url, as_of),
            self.api_key or "",
            max_concurrency=self.max_concurrency,
            max_requests_per_second=self.max_requests_per_second,
            timeout_s=self.timeout_s,
            max_retries=self.max_retries,
            backoff_base_s=self.backoff_base_s,
        )
