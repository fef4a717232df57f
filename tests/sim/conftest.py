"""Shared fixtures: a small simulated market covering every tier, and a running server."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from aegis_core.calendar import NY
from aegis_core.sim import Faults, SimMarket, SimServer, Tier, default_universe
from aegis_core.sim.universe import tier_of

API_KEY = "sim-test-key-9f3a"
# Friday 2026-11-20 is a monthly (3rd Friday) expiry: after its close the 0DTE contracts are still listed.
EOD = dt.datetime(2026, 11, 20, 17, 15, tzinfo=NY)
CLOSE = dt.datetime(2026, 11, 20, 16, 0, tzinfo=NY)
INTRADAY = dt.datetime(2026, 11, 18, 11, 5, tzinfo=NY)  # a Wednesday, mid-session


def first_of(tier: Tier) -> str:
    return next(s for s in default_universe() if tier_of(s) is tier and s not in {"SPY", "QQQ", "IWM"})


MID = first_of(Tier.MID)
SMALL = first_of(Tier.SMALL)
SYMBOLS = ("SPY", "QQQ", "IWM", "AAPL", "MSFT", "BRK.B", MID, SMALL)


@pytest.fixture(scope="session")
def market() -> SimMarket:
    return SimMarket(seed=7, symbols=SYMBOLS)


@pytest.fixture(scope="module")
def server(market: SimMarket) -> Iterator[SimServer]:
    with SimServer(market, api_key=API_KEY, as_of=EOD) as srv:
        yield srv


@pytest.fixture
def clean_faults(server: SimServer) -> Iterator[SimServer]:
    """The module's server, with its fault knobs reset after the test."""
    server.faults = Faults()
    yield server
    server.faults = Faults()


AUTH = {"Authorization": f"Bearer {API_KEY}"}
