"""The simulated market and its Polygon-compatible loopback server (contract §4)."""

from aegis_core.sim.faults import Fault, Faults
from aegis_core.sim.market import VIX_TICKER, Bar, SimMarket
from aegis_core.sim.server import ServerStats, SimServer, parse_moment, sim_base_url
from aegis_core.sim.universe import Tier, default_universe

__all__ = [
    "VIX_TICKER",
    "Bar",
    "Fault",
    "Faults",
    "ServerStats",
    "SimMarket",
    "SimServer",
    "Tier",
    "default_universe",
    "parse_moment",
    "sim_base_url",
]
