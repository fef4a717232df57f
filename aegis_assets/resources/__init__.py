"""Every resource the asset graph declares, one module per family; all are built from the settings
model in one place (``aegis_pipelines/resources.py``).

Secrets reach resources only as ``dg.EnvVar`` (the UI shows the variable's name, never its value).
With the simulated source, the market-data resource serves the simulated market on loopback for the
duration of the run and points the one Polygon client at it: one code path for both sources. The
clock is a resource too (``aegis_assets/clock.py``).
"""

from aegis_assets.resources.alerts import AlertsResource
from aegis_assets.resources.archive import AnalyticsResource, ArchiveResource
from aegis_assets.resources.dashboard import DashboardResource
from aegis_assets.resources.market import MarketDataResource
from aegis_assets.resources.quality import ParityResource, QualityResource
from aegis_assets.resources.saxo import SaxoResource

__all__ = [
    "AlertsResource",
    "AnalyticsResource",
    "ArchiveResource",
    "DashboardResource",
    "MarketDataResource",
    "ParityResource",
    "QualityResource",
    "SaxoResource",
]
